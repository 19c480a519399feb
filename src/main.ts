import { main } from './cli.js';

// The process entry: `node dist/main.js <command>` in the image, `bin/batchline.js` (through tsx) in a checkout.
// main resolves once its work is over (a server after its graceful stop), so exit now even if a
// client library still holds a reconnect timer.
process.exit(await main(process.argv.slice(2)));
