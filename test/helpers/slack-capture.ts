import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { EventEmitter } from 'node:events';

export interface CapturedSlack {
  url: string;
  messages: Array<{ path: string; body: { text?: string } }>;
  /** Resolves with the next message whose text passes the test (or one already received). */
  waitFor(test: (text: string) => boolean): Promise<string>;
  /** The next request answers with this status and headers (404 as a revoked webhook, 429 with retry-after…); calls queue up. */
  failNext(status: number, headers?: Record<string, string>): void;
  /** The next request is read and never answered: the poster cannot know whether Slack took it. */
  hangNext(): void;
  /** Requests received, answered or not. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/** A local stand-in for a Slack incoming webhook: records what @slack/webhook posts. */
export async function startSlackCapture(): Promise<CapturedSlack> {
  const messages: CapturedSlack['messages'] = [];
  const events = new EventEmitter();
  const failures: Array<{ status: number; headers: Record<string, string> } | 'hang'> = [];
  let received = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received += 1;
      const failure = failures.shift();
      if (failure === 'hang') return;
      if (failure !== undefined) {
        response.writeHead(failure.status, failure.headers).end('failure');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string };
      messages.push({ path: request.url ?? '/', body });
      events.emit('message', body.text ?? '');
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/services/T000/B000/XXXX`,
    messages,
    waitFor(test) {
      const seen = messages.find((message) => test(message.body.text ?? ''));
      if (seen !== undefined) return Promise.resolve(seen.body.text ?? '');
      return new Promise((resolve) => {
        const listener = (text: string) => {
          if (!test(text)) return;
          events.off('message', listener);
          resolve(text);
        };
        events.on('message', listener);
      });
    },
    failNext(status, headers = {}) {
      failures.push({ status, headers });
    },
    hangNext() {
      failures.push('hang');
    },
    requests: () => received,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
