#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci && npm run demo`
// needs no build step; `npm run build` emits dist/ for images that prefer it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
