// Runs the demo: real data → tables → local KV/D1, the demo shop origin, and the
// edge worker in front of it (wrangler dev, state under .demo/state). Ctrl-C stops it.
import path from 'node:path';
import fs from 'node:fs';
import { ROOT } from './wrangler.mjs';
import { prepareData, publishLocal, startStack, configForOriginPort, DEFAULT_ORIGIN_PORT, LOCAL_SECRETS } from './stack.mjs';

const port = Number(process.env.DEMO_PORT || 8787);
const originPort = Number(process.env.DEMO_ORIGIN_PORT || DEFAULT_ORIGIN_PORT);
const dataDir = path.join(ROOT, '.demo', 'data');
const persistTo = path.join(ROOT, '.demo', 'state');

console.log('preparing demo data and tables (real UCI Online Retail orders + a synthetic homewares brand)…');
prepareData(dataDir);
fs.rmSync(persistTo, { recursive: true, force: true });
console.log('publishing tables and configuration to local KV, migrating local D1…');
await publishLocal(dataDir, persistTo, { configDir: configForOriginPort(originPort, path.join(ROOT, '.demo', 'config')) });
const stack = await startStack({ dataDir, persistTo, port, originPort });

console.log(`
Demo shop origin      : ${stack.origin.url}
Through the edge      : http://gifts.localhost:${port}/       (real UCI orders)
                        http://homewares.localhost:${port}/   (synthetic brand)
Marketers' preview    : http://gifts.localhost:${port}/__upsell/app/  (admin secret: ${LOCAL_SECRETS.ADMIN_SECRET})
Experiment results    : http://homewares.localhost:${port}/__upsell/app/results.html?experiment=homewares-ai-vs-curated-2026q4
Press Ctrl-C to stop.
`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
