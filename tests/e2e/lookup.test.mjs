// End-to-end: a client-rendered confirmation page names the order but no items;
// the worker asks the brand's order lookup API (URL template + secret header,
// within the time budget) and injects offers matched to the API's items. A
// lookup that fails, is refused or is too slow leaves the page byte-identical.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import { MODEL_BUILDER, prepareData, publishedState, startStack, configForOriginPort } from '../../scripts/lib/stack.mjs';
import { orderApiSettings } from '../../scripts/lib/shop.mjs';
import { request } from './http.mjs';

const dataDir = path.join(ROOT, 'target', 'e2e-data');
const tmp = path.join(ROOT, 'tests', '.tmp', `lookup-${process.pid}`);
const persistTo = path.join(tmp, 'state');
let stack, shopOrders;

/** A free local port for the origin, so the lookup URL can name it before the origin starts. */
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

before(async () => {
  prepareData(dataDir, { quiet: true });
  await publishedState(dataDir, persistTo);
  // The shipped demo configuration names the demo origin's port; this run's origin gets its own.
  const port = await freePort();
  const configDir = configForOriginPort(port, path.join(tmp, 'config'));
  const text = fs.readFileSync(path.join(configDir, 'brands', 'gifts.toml'), 'utf8');
  assert.ok(text.includes(`127.0.0.1:${port}/api/orders/{order_id}`), 'the lookup URL names this run\'s origin');
  execFileSync(MODEL_BUILDER, ['publish', '--local', '--persist-to', persistTo, '--config', configDir], { cwd: ROOT, stdio: 'pipe' });
  stack = await startStack({ dataDir, persistTo, originPort: port });
  shopOrders = JSON.parse(fs.readFileSync(path.join(dataDir, 'shop-orders.json'), 'utf8'));
});
after(async () => {
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const BLOCK = /<section class="upsell-offers"[\s\S]*?<\/section>/;
const offered = (html) => [...(BLOCK.exec(html)?.[0] || '').matchAll(/data-sku="([^"]+)"/g)].map((m) => m[1]);

async function both(p) {
  const headers = { host: 'gifts.localhost', 'x-upsell-country': 'GB' };
  const [edge, origin] = await Promise.all([
    request(stack.worker.url + p, { headers }),
    request(stack.origin.url + p, { headers }),
  ]);
  return { edge, origin, html: edge.body.toString('utf8') };
}

test('a page with the order number but no items gets offers from the order lookup API', async () => {
  const order = shopOrders.gifts.find((o) => o.region === 'uk' && o.lines.length >= 2);
  const { edge, origin, html } = await both(`/order-confirmation?order=${order.id}&view=app`);
  assert.equal(edge.status, 200);
  assert.doesNotMatch(origin.body.toString('utf8'), /data-sku|dataLayer|gtag/, 'the page itself names no items');
  const skus = offered(html);
  assert.equal(skus.length, 3, `three offers: ${skus}`);
  const bought = new Set(order.lines.map((l) => l.sku));
  assert.ok(skus.every((s) => !bought.has(s)), 'no offer is already in the order (the API\'s items were used)');
  assert.ok(Buffer.from(html.replace(BLOCK, '')).equals(origin.body), 'everything but the block is the origin\'s bytes');
  // The offers are the ones the same items get when the page names them (same table, same ranking).
  const withItems = await both(`/order-confirmation?order=${order.id}`);
  assert.deepEqual(skus, offered(withItems.html));
});

test('a refused or unreadable lookup answer leaves the page byte-identical', async () => {
  const order = shopOrders.gifts.find((o) => o.lines.length >= 2);
  for (const answer of [{ status: 401, body: '{"error":"unauthorized"}' }, { status: 200, body: '{"items": [tru' },
    { status: 200, body: '{"id": "x", "items": []}' }]) {
    orderApiSettings.answer = answer;
    try {
      const { edge, origin } = await both(`/order-confirmation?order=${order.id}&view=app`);
      assert.equal(edge.status, 200);
      assert.ok(edge.body.equals(origin.body), `${JSON.stringify(answer)}: no block, origin bytes`);
    } finally {
      orderApiSettings.answer = null;
    }
  }
});

test('a lookup slower than its timeout leaves the page byte-identical', async () => {
  const order = shopOrders.gifts.find((o) => o.lines.length >= 2);
  orderApiSettings.delayMs = 500;
  try {
    const { edge, origin } = await both(`/order-confirmation?order=${order.id}&view=app`);
    assert.equal(edge.status, 200);
    assert.ok(edge.body.equals(origin.body), 'no block, origin bytes');
  } finally {
    orderApiSettings.delayMs = 0;
  }
});
