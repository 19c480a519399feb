import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { checkCompose, durationMs, environmentOf, loadComposeSchema, type ComposeFile, type ComposeService } from '../helpers/compose-validator.js';

const execFileAsync = promisify(execFile);
const root = (file: string): string => fileURLToPath(new URL(`../../${file}`, import.meta.url));

describe('docker-compose.yml and the Dockerfile, checked without Docker', () => {
  let validateSchema: (document: unknown) => string[];
  let composeText: string;
  let dockerfile: string;
  let compose: ComposeFile;
  let service: (name: string) => ComposeService;

  before(async () => {
    validateSchema = await loadComposeSchema(root('test/contracts/compose-spec.json'));
    composeText = await readFile(root('docker-compose.yml'), 'utf8');
    dockerfile = await readFile(root('Dockerfile'), 'utf8');
    const check = checkCompose(composeText, validateSchema, /^HEALTHCHECK\s/m.test(dockerfile));
    assert.deepEqual(check.schemaErrors, [], 'the Compose Specification schema rejects docker-compose.yml');
    assert.deepEqual(check.semanticErrors, []);
    compose = check.compose;
    service = (name) => {
      const found = compose.services[name];
      assert.ok(found !== undefined, `no service ${name}`);
      return found;
    };
  });

  it('the checker itself catches what the schema cannot: unknown dependencies, missing health checks, undeclared volumes', () => {
    const broken = `
services:
  a:
    image: x
    depends_on:
      ghost: { condition: service_started }
      b: { condition: service_healthy }
    volumes: [ "undeclared:/data" ]
    stop_grace_period: soon
  b:
    image: y
`;
    const check = checkCompose(broken, validateSchema, false);
    assert.deepEqual(check.schemaErrors, []);
    assert.equal(check.semanticErrors.length, 4, check.semanticErrors.join('\n'));
    assert.ok(check.semanticErrors.some((error) => error.includes('ghost')));
    assert.ok(check.semanticErrors.some((error) => error.includes('b has no health check')));
    assert.ok(check.semanticErrors.some((error) => error.includes('undeclared')));
    assert.ok(check.semanticErrors.some((error) => error.includes('soon')));
    assert.notDeepEqual(validateSchema({ services: { a: { image: 'x', restart_policy: 'always' } } }), [], 'the schema rejects unknown service fields');
  });

  it('redis keeps every write and evicts nothing, on a volume, with a health check', () => {
    const redis = service('redis');
    const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
    assert.match(command, /--appendonly yes/);
    assert.match(command, /--maxmemory-policy noeviction/);
    assert.ok(redis.volumes?.some((volume) => typeof volume === 'string' && volume.endsWith(':/data')), 'redis data on a volume');
    assert.ok(redis.healthcheck?.test !== undefined);
  });

  it('minio has a health check and a one-shot creates the bucket STORAGE_URL names', () => {
    assert.ok(service('minio').healthcheck?.test !== undefined);
    const bucketJob = service('minio-bucket');
    assert.equal(bucketJob.restart, 'no');
    const script = ([] as string[]).concat(bucketJob.command ?? []).join(' ');
    const storageUrl = environmentOf(service('api'))['STORAGE_URL'] ?? '';
    const bucket = /^s3:\/\/([^/]+)/.exec(storageUrl)?.[1];
    assert.ok(bucket !== undefined, `STORAGE_URL ${storageUrl} is not an s3:// URL`);
    assert.match(script, new RegExp(`mc mb --ignore-existing \\S+/${bucket}\\b`));
    assert.equal(environmentOf(service('api'))['AWS_ENDPOINT_URL_S3'], 'http://minio:9000');
  });

  it('api and worker are one image in two roles; the worker scales (no fixed name, no host ports)', () => {
    const api = service('api');
    const worker = service('worker');
    assert.deepEqual(api.command, ['api']);
    assert.deepEqual(worker.command, ['worker']);
    assert.equal(api.image, worker.image);
    assert.deepEqual(api.build, worker.build);
    assert.ok(api.build !== undefined);
    assert.equal(worker.container_name, undefined);
    assert.equal(worker.ports, undefined);
    assert.ok(api.ports?.some((port) => String(port).endsWith(':3000')));
    assert.deepEqual(environmentOf(api), environmentOf(worker), 'both roles read the same configuration');
    for (const role of [api, worker]) {
      assert.equal((role.depends_on as Record<string, { condition?: string }>)['redis']?.condition, 'service_healthy');
      assert.equal((role.depends_on as Record<string, { condition?: string }>)['minio-bucket']?.condition, 'service_completed_successfully');
    }
  });

  it('stop_grace_period outlasts the service\'s own shutdown grace, so SIGKILL never cuts a shutdown short', () => {
    for (const name of ['api', 'worker']) {
      const role = service(name);
      assert.ok(role.stop_grace_period !== undefined, `${name} has no stop_grace_period`);
      const graceMs = Number(environmentOf(role)['BATCHLINE_SHUTDOWN_GRACE_MS'] ?? 60_000);
      assert.ok(durationMs(role.stop_grace_period) >= graceMs + 15_000, `${name}: ${role.stop_grace_period} leaves too little room after ${graceMs} ms`);
    }
  });

  it('every variable given to the service is one it reads', async () => {
    const config = await readFile(root('src/config.ts'), 'utf8');
    for (const variable of Object.keys(environmentOf(service('api')))) {
      // The AWS SDK reads its own credentials; everything else goes through config.ts.
      if (variable.startsWith('AWS_ACCESS_KEY_ID') || variable.startsWith('AWS_SECRET_ACCESS_KEY')) continue;
      assert.ok(config.includes(`${variable}:`), `${variable} is set in docker-compose.yml but config.ts does not read it`);
    }
  });

  it('the emulator is an opt-in profile for offline runs, from the same image', () => {
    const emulator = service('emulator');
    assert.deepEqual(emulator.profiles, ['emulator']);
    assert.equal(emulator.image, service('api').image);
    assert.deepEqual((emulator.command as string[]).slice(0, 5), ['emulator', '--host', '0.0.0.0', '--port', '4010']);
    for (const [name, other] of Object.entries(compose.services)) {
      if (name === 'emulator') continue;
      assert.ok(!Object.keys(other.depends_on ?? {}).includes('emulator'), `${name} must run without the emulator profile`);
    }
  });

  it('the Dockerfile: multi-stage, Node 22, production dependencies only, non-root, health check, exec-form entry', async () => {
    const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(dockerfile, /ARG NODE_IMAGE=node:22[-.\w]*/);
    assert.match(dockerfile, /npm ci --omit=dev/);
    const user = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
    assert.ok(user !== undefined && user !== 'root' && user !== '0', 'runs as a non-root user');
    assert.match(dockerfile, /^HEALTHCHECK .*\n?.*CMD \[/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "dist\/main\.js"\]$/m, 'exec form, so SIGTERM reaches node');
    // The runtime runs what the build stage compiled: the entry is one of the compiled sources.
    assert.match(dockerfile, /^RUN npm run build$/m);
    assert.match(dockerfile, /^COPY --from=build \/app\/dist \.\/dist$/m);
    assert.match(await readFile(root('tsconfig.build.json'), 'utf8'), /"outDir": "dist"/);
    assert.match(dockerfile, /^CMD \["all"\]$/m);
    const ignore = await readFile(root('.dockerignore'), 'utf8');
    for (const entry of ['node_modules', '.git', '.env', 'test']) assert.match(ignore, new RegExp(`^${entry.replace('.', '\\.')}$`, 'm'));
    assert.match(await readFile(root('README.md'), 'utf8'), /docker compose up/, 'the README shows how to run it for real');
  });

  it("the image's entry works: the build compiles and the compiled dist/main.js runs the commands", async () => {
    // Compiled beside the sources (so node_modules resolves as in the image), into a folder of this test's own.
    const out = root(`.scratch/test-dist-${process.pid}`);
    try {
      await execFileAsync(process.execPath, [root('node_modules/typescript/bin/tsc'), '-p', root('tsconfig.build.json'), '--outDir', out], { cwd: root('.') });
      const help = await execFileAsync(process.execPath, [path.join(out, 'main.js'), '--help']);
      assert.match(help.stdout, /Usage: batchline <command>/);
      const unknown = await execFileAsync(process.execPath, [path.join(out, 'main.js'), 'nonsense']).then(
        () => null,
        (error: { code?: number; stderr?: string }) => error,
      );
      assert.equal(unknown?.code, 2);
      assert.match(unknown?.stderr ?? '', /unknown command "nonsense"/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
