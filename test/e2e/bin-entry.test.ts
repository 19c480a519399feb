import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node <root>/bin/batchline.js ...args` as an installed copy would be run. */
async function bin(root: string, args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, 'bin', 'batchline.js'), ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * A copy of the package as `npm ci --omit=dev` or a global install leaves it:
 * the bin and package.json, and node_modules without tsx (each other package
 * linked from this checkout's, so nothing is downloaded).
 */
async function productionInstall(into: string): Promise<void> {
  await mkdir(path.join(into, 'bin'), { recursive: true });
  await copyFile(path.join(ROOT, 'bin', 'batchline.js'), path.join(into, 'bin', 'batchline.js'));
  await copyFile(path.join(ROOT, 'package.json'), path.join(into, 'package.json'));
  await mkdir(path.join(into, 'node_modules'));
  for (const name of await readdir(path.join(ROOT, 'node_modules'))) {
    if (name === 'tsx' || name === '.bin') continue;
    await symlink(path.join(ROOT, 'node_modules', name), path.join(into, 'node_modules', name));
  }
}

describe('bin/batchline.js', () => {
  let scratch: string;
  let version: string;
  before(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'batchline-bin-'));
    ({ version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string });
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('without tsx and without dist/, says to build and exits non-zero', async () => {
    const root = path.join(scratch, 'unbuilt');
    await productionInstall(root);
    const outcome = await bin(root, ['--help']);
    assert.notEqual(outcome.code, 0);
    assert.match(outcome.stderr, /dist\/ is not built/);
    assert.match(outcome.stderr, /npm run build/);
    assert.doesNotMatch(outcome.stderr, /ERR_MODULE_NOT_FOUND|^\s+at /m);
  });

  it('without tsx, runs the compiled dist/', async () => {
    const root = path.join(scratch, 'production');
    await productionInstall(root);
    // Compiled from this checkout's sources, as `npm run build` (the prepare script) does on install.
    // A type error elsewhere still emits, and is typecheck's to report, not this test's.
    await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist')]).catch(() => undefined);
    const printed = await bin(root, ['--version']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `${version}\n`);
    const help = await bin(root, ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: batchline <command>/);
    // The compiled service itself loads and refuses a bad setting as the sources do.
    const refused = await bin(root, ['api'], { PORT: 'eighty' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /PORT="eighty"/);
  });

  it('with tsx installed, runs the sources, never a stale dist/', async () => {
    const root = path.join(scratch, 'checkout');
    await mkdir(path.join(root, 'bin'), { recursive: true });
    await copyFile(path.join(ROOT, 'bin', 'batchline.js'), path.join(root, 'bin', 'batchline.js'));
    await copyFile(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
    await symlink(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    await symlink(path.join(ROOT, 'src'), path.join(root, 'src'));
    await mkdir(path.join(root, 'dist'));
    await writeFile(path.join(root, 'dist', 'main.js'), "process.stdout.write('stale dist\\n');\n");
    const printed = await bin(root, ['--version']);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `${version}\n`);
  });
});
