import { heapGrowthPercentAtStart } from './config.js';
import { processHeapGrowth } from './heap-growth.js';

// The process entry: `node dist/main.js <command>` in the image, `bin/batchline.js` (through tsx) in a checkout.
// The heap's growth is set before the service's modules load (only the configuration, to read it): V8 applies it from its next full
// collection on, and the ones while modules load set the limit that a long build would otherwise keep.
processHeapGrowth.setAtStart(heapGrowthPercentAtStart());
const { main } = await import('./cli.js');
// main resolves once its work is over (a server after its graceful stop), so exit now even if a
// client library still holds a reconnect timer.
process.exit(await main(process.argv.slice(2)));
