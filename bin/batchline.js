#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci && npm run demo`
// needs no build step; `npm run build` emits dist/ for images that prefer it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
// main resolves once its work is over (a server after its graceful stop), so exit now even if a
// client library still holds a reconnect timer.
process.exit(await main(process.argv.slice(2)));
