import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Checks a docker-compose.yml without Docker: the official Compose
 * Specification schema (draft-07) first, then what the schema cannot say —
 * references between services, volumes and health checks, and the rules
 * this project's deployment depends on.
 */

/** Compose durations: 1m30s, 90s, 500ms, 1h… */
const DURATION = /^[-+]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function durationMs(text: string): number {
  if (!DURATION.test(text)) throw new Error(`not a duration: ${text}`);
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * (UNIT_MS[match[2] ?? 's'] ?? 0);
  return text.startsWith('-') ? -total : total;
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  container_name?: string;
  ports?: unknown[];
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  environment?: Record<string, string | number | boolean | null> | string[];
  profiles?: string[];
  stop_grace_period?: string;
  restart?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export interface ComposeCheck {
  compose: ComposeFile;
  schemaErrors: string[];
  semanticErrors: string[];
}

/** Loads the schema and returns a validator for compose documents. */
export async function loadComposeSchema(schemaPath: string): Promise<(document: unknown) => string[]> {
  const schema = JSON.parse(await readFile(schemaPath, 'utf8')) as Record<string, unknown>;
  // The spec names draft-07 by its https URL, which ajv does not know by that name; the draft is what matters.
  delete schema['$schema'];
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormatsModule.default(ajv);
  ajv.addFormat('duration', DURATION);
  // Formats some versions of the spec use for strings Docker parses itself.
  for (const name of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(name, true);
  const validate = ajv.compile(schema);
  return (document) => (validate(document) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`));
}

/**
 * Parses with YAML merge keys on (`<<: *anchor`, which Compose supports) and
 * runs both kinds of checks.
 */
export function checkCompose(text: string, validateSchema: (document: unknown) => string[], hasImageHealthcheck: boolean): ComposeCheck {
  const document: unknown = parse(text, { merge: true });
  const schemaErrors = validateSchema(document);
  const compose = document as ComposeFile;
  return { compose, schemaErrors, semanticErrors: schemaErrors.length > 0 ? [] : semanticErrors(compose, hasImageHealthcheck) };
}

function semanticErrors(compose: ComposeFile, hasImageHealthcheck: boolean): string[] {
  const errors: string[] = [];
  const services = compose.services;
  const names = new Set(Object.keys(services));
  const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
  const activeByDefault = (name: string): boolean => (services[name]?.profiles ?? []).length === 0;

  const hasHealthcheck = (name: string): boolean => {
    const service = services[name];
    if (service === undefined || service.healthcheck?.disable === true) return false;
    if (service.healthcheck?.test !== undefined) return true;
    // Services built from this project's image inherit its HEALTHCHECK.
    return service.build !== undefined && hasImageHealthcheck;
  };

  for (const [name, service] of Object.entries(services)) {
    const dependencies = Array.isArray(service.depends_on)
      ? service.depends_on.map((target): [string, { condition?: string; required?: boolean }] => [target, {}])
      : Object.entries(service.depends_on ?? {});
    for (const [target, options] of dependencies) {
      if (!names.has(target)) {
        errors.push(`${name} depends on ${target}, which is not a service`);
        continue;
      }
      if (options.condition === 'service_healthy' && !hasHealthcheck(target)) errors.push(`${name} waits for ${target} to be healthy, but ${target} has no health check`);
      if (options.condition === 'service_completed_successfully' && services[target]?.restart !== undefined && services[target]?.restart !== 'no') {
        errors.push(`${name} waits for ${target} to complete, but ${target} restarts (restart: ${services[target]?.restart})`);
      }
      if (activeByDefault(name) && !activeByDefault(target) && options.required !== false) errors.push(`${name} always runs but depends on ${target}, which only runs in a profile`);
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0] : volume.type === undefined || volume.type === 'volume' ? volume.source : undefined;
      // Bind mounts start with . / or ~; anything else is a named volume, which must be declared.
      if (source !== undefined && source !== '' && !/^[./~$]/.test(source) && !declaredVolumes.has(source)) errors.push(`${name} mounts volume ${source}, which is not declared under volumes:`);
    }
    if (service.stop_grace_period !== undefined && !DURATION.test(service.stop_grace_period)) errors.push(`${name}: stop_grace_period ${service.stop_grace_period} is not a duration`);
  }
  return errors;
}

/** A service's environment as a map, whichever of the two forms it uses. */
export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => {
      const index = entry.indexOf('=');
      return index === -1 ? [entry, ''] : [entry.slice(0, index), entry.slice(index + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]));
}
