#!/usr/bin/env node
// A checkout with its dev dependencies (tsx) runs the TypeScript sources, so
// `npm ci && npm run demo` needs no build step and never runs a stale dist/.
// A production or global install (`npm ci --omit=dev`, `npm install -g`) has no
// tsx and runs the compiled dist/ (`npm run build`, run by `prepare` on install),
// as the image does: no compiler in the process, about 35 MB less memory each.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../src/main.ts', import.meta.url);
const compiled = new URL('../dist/main.js', import.meta.url);

/** Whether tsx resolves from here; a failure to load an installed tsx is left to surface as itself. */
function tsxInstalled() {
  try {
    import.meta.resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

if (existsSync(sources) && tsxInstalled()) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    'batchline: cannot start: dist/ is not built, and tsx (a dev dependency) is not installed to run the sources.\n' +
      `Run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))} (it needs the dev dependencies: npm ci).\n`,
  );
  process.exit(1);
}
