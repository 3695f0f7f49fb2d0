// Runs the demo: the local shop origin and the edge worker in front of it
// (wrangler dev, local KV and D1 persisted under .demo/state). Stops cleanly on Ctrl-C.
import path from 'node:path';
import { startOrigin } from './origin.mjs';
import { startWorker, ROOT } from './wrangler.mjs';

const workerPort = Number(process.env.DEMO_PORT || 8787);
const originPort = Number(process.env.DEMO_ORIGIN_PORT || 8790);
const persistTo = path.join(ROOT, '.demo', 'state');

const origin = await startOrigin(originPort);
const worker = await startWorker({ port: workerPort, persistTo, vars: { ORIGIN_URL: origin.url, TRUST_COUNTRY_HEADER: 'true' }, echo: true });

console.log(`\nDemo shop origin : ${origin.url}`);
console.log(`Through the edge : ${worker.url}/   <- open this`);
console.log('Press Ctrl-C to stop.\n');

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await worker.stop();
  origin.server.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
