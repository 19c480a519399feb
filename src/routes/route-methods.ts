/**
 * The methods each registered route takes, so a request for a known path
 * with another method can be answered 405 with an `Allow` header (Fastify
 * itself answers 404 there, which reads like a wrong URL).
 */
export class RouteMethods {
  private readonly routes: Array<{ path: RegExp; method: string }> = [];

  /** Records a route as Fastify registers it (`/v1/runs/:id`, `/admin/queues/*`). */
  add(url: string, method: string | readonly string[]): void {
    const path = new RegExp(`^${url.split('/').map(segmentPattern).join('/')}$`);
    for (const one of typeof method === 'string' ? [method] : method) this.routes.push({ path, method: one.toUpperCase() });
  }

  /** The methods some route takes at this path (no query string), sorted; none for an unknown path. */
  allowedAt(path: string): string[] {
    return [...new Set(this.routes.filter((route) => route.path.test(path)).map((route) => route.method))].sort();
  }
}

const segmentPattern = (segment: string): string => {
  if (segment.startsWith(':')) return '[^/]+';
  if (segment === '*') return '.*';
  return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
};
