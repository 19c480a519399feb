#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci && npm run demo`
// needs no build step. The image runs the compiled `dist/main.js` instead
// (`npm run build`): no compiler in the process, about 35 MB less memory each.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
