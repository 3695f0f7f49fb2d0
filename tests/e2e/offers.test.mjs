// End-to-end: tables built from real data and published to local KV through
// the real wrangler; the worker under `wrangler dev` injects offers into
// confirmation pages of a Magento-like and a WooCommerce-like shop, leaves
// every other page byte-identical, and falls back to the origin's bytes on
// every fault.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import { prepareData, publishedState, startStack } from '../../scripts/lib/stack.mjs';
import { request } from './http.mjs';

const dataDir = path.join(ROOT, 'target', 'e2e-data');
const persistTo = path.join(ROOT, 'tests', '.tmp', `offers-${process.pid}`);
let stack, shopOrders;

before(async () => {
  prepareData(dataDir, { quiet: true });
  await publishedState(dataDir, persistTo);
  stack = await startStack({ dataDir, persistTo });
  shopOrders = JSON.parse(fs.readFileSync(path.join(dataDir, 'shop-orders.json'), 'utf8'));
});
after(async () => {
  await stack?.stop();
  fs.rmSync(persistTo, { recursive: true, force: true });
});

const BLOCK = /<section class="upsell-offers"[\s\S]*?<\/section>/;

/** GETs `p` on `host` through the worker and directly from the origin. */
async function both(host, p, headers = {}) {
  const h = { host, ...headers };
  const [edge, origin] = await Promise.all([
    request(stack.worker.url + p, { headers: h }),
    request(stack.origin.url + p, { headers: h }),
  ]);
  return { edge, origin, html: edge.body.toString('utf8') };
}

/** The offered SKUs of an injected block. */
const offered = (html) => [...(BLOCK.exec(html)?.[0] || '').matchAll(/data-sku="([^"]+)"/g)].map((m) => m[1]);

/** Asserts the response is the origin's page plus exactly one block, nothing else changed. */
function assertOnlyBlockAdded(edge, origin) {
  const html = edge.body.toString('utf8');
  assert.equal(html.match(/class="upsell-offers"/g)?.length, 1, 'exactly one block');
  assert.ok(Buffer.from(html.replace(BLOCK, '')).equals(origin.body), 'everything but the block is the origin\'s bytes');
}

test('Magento-like success page gets three offers, none of them already bought', async () => {
  const order = shopOrders.gifts.find((o) => o.region === 'uk');
  const { edge, origin, html } = await both('gifts.localhost', `/checkout/onepage/success/?order=${order.id}`);
  assert.equal(edge.status, 200);
  assertOnlyBlockAdded(edge, origin);
  const skus = offered(html);
  assert.equal(skus.length, 3, `three offers: ${skus}`);
  const bought = new Set(order.lines.map((l) => l.sku));
  assert.ok(skus.every((s) => !bought.has(s)), 'no offer is already in the order');
  assert.match(html, /href="\/__upsell\/accept\?sku=[^"&]+&amp;t=[^"]+"/);
  assert.ok(html.indexOf('upsell-offers') < html.lastIndexOf('</body>'), 'block before </body>');
});

test('WooCommerce-like order-received page gets offers from the SKU field, not item_id', async () => {
  const order = shopOrders.gifts.find((o) => o.lines.length >= 3);
  const { edge, origin, html } = await both('gifts.localhost', `/checkout/order-received/${order.id}/?key=wc_order_x`);
  assertOnlyBlockAdded(edge, origin);
  assert.equal(offered(html).length, 3);
});

test('each brand gets its own styling and a reload gets the same offers', async () => {
  const g = shopOrders.gifts[5];
  const a = await both('gifts.localhost', `/order-confirmation?order=${g.id}`);
  const b = await both('gifts.localhost', `/order-confirmation?order=${g.id}`);
  assert.match(a.html, /--upsell-accent:#b0306a/);
  assert.deepEqual(offered(a.html), offered(b.html));
  const h = shopOrders.homewares.find((o) => o.region === 'uk');
  const hw = await both('homewares.localhost', `/order-confirmation?order=${h.id}`);
  if (BLOCK.test(hw.html)) {
    assert.match(hw.html, /--upsell-accent:#2a6f4e/);
    assert.ok(offered(hw.html).every((s) => s.startsWith('S')), 'homewares offers its own SKUs');
  } else {
    assert.ok(hw.edge.body.equals(hw.origin.body), 'a holdout order gets the page unchanged');
  }
});

test('pages that are not confirmation pages pass through byte for byte', async () => {
  for (const p of ['/', `/product/85123A`, '/img/85123A.svg', '/fixtures/utf8']) {
    const { edge, origin } = await both('gifts.localhost', p);
    assert.equal(edge.status, origin.status, p);
    assert.ok(edge.body.equals(origin.body), `${p} unchanged`);
  }
});

test('a confirmation page on an unknown host is untouched', async () => {
  const order = shopOrders.gifts[0];
  const { edge, origin } = await both('unknown.example', `/order-confirmation?order=${order.id}`);
  assert.ok(edge.body.equals(origin.body));
});

test('fault cases on a confirmation path are served correctly', async () => {
  const skus = shopOrders.gifts[0].lines.map((l) => l.sku).slice(0, 3).join(',');
  // Slow origin: offers still arrive (the wait is the origin's, not the budget's), page intact.
  const slow = await both('gifts.localhost', `/checkout/thank_you?fixture=slow&skus=${skus}`);
  assertOnlyBlockAdded(slow.edge, slow.origin);
  // Origin 500: passed through as is.
  const err = await both('gifts.localhost', `/checkout/thank_you?fixture=error&skus=${skus}`);
  assert.equal(err.edge.status, 500);
  assert.ok(err.edge.body.equals(err.origin.body));
  // Not HTML: passed through as is.
  const json = await both('gifts.localhost', `/checkout/thank_you?fixture=json&skus=${skus}`);
  assert.equal(json.edge.headers['content-type'], 'application/json');
  assert.ok(json.edge.body.equals(json.origin.body));
  // A 5 MB page streams through whole, with the block before </body>.
  const big = await both('gifts.localhost', `/checkout/thank_you?fixture=large&skus=${skus}`);
  assert.ok(big.origin.body.length > 5_000_000);
  assertOnlyBlockAdded(big.edge, big.origin);
  // Malformed HTML: whatever happens, nothing of the origin's is lost or duplicated.
  const broken = await both('gifts.localhost', `/checkout/thank_you?fixture=broken&skus=${skus}`);
  assert.ok(Buffer.from(broken.html.replace(BLOCK, '')).equals(broken.origin.body));
});

test('each region is served from its own table (or borrows the brand-wide one, and says so)', async () => {
  const order = shopOrders.gifts[2];
  const skus = order.lines.map((l) => l.sku).join(',');
  const seen = {};
  for (const [country, region] of [['GB', 'uk'], ['FR', 'eu'], ['US', 'row']]) {
    const r = await request(`${stack.worker.url}/__upsell/preview?skus=${encodeURIComponent(skus)}&country=${country}`, {
      headers: { host: 'gifts.localhost', authorization: 'Bearer local-admin' },
    });
    assert.equal(r.status, 200, r.body.toString());
    const p = JSON.parse(r.body.toString());
    assert.equal(p.region, region);
    assert.equal(p.table.region, region, 'the manifest of that brand × region');
    const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, 'tables-gifts', 'manifests', 'gifts', `${region}.json`), 'utf8'));
    assert.equal(p.table.fallback_region, manifest.fallback_region ?? null);
    assert.equal(p.arms.ai.length, 3);
    seen[region] = p.arms.ai.map((o) => o.sku).join(',');
  }
  const unauth = await request(`${stack.worker.url}/__upsell/preview?skus=${skus}`, { headers: { host: 'gifts.localhost' } });
  assert.equal(unauth.status, 401, 'the preview needs the admin secret');
  assert.equal(Object.keys(seen).length, 3);
});
