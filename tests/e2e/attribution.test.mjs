// End-to-end attribution through `wrangler dev` with local D1: a confirmation
// page is served with offers; its beacons land; following an offer to the
// shop's cart and placing the order records a conversion linked to the parent
// order; the OMS webhook confirms it; the report shows it in the right arm
// with the right revenue. Every forged, tampered, expired, replayed, malformed
// or oversized request is refused with its status and writes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import { prepareData, publishedState, startStack, LOCAL_SECRETS } from '../../scripts/lib/stack.mjs';
import { request } from './http.mjs';

const dataDir = path.join(ROOT, 'target', 'e2e-data');
const persistTo = path.join(ROOT, 'tests', '.tmp', `attribution-${process.pid}`);
const ADMIN = { authorization: `Bearer ${LOCAL_SECRETS.ADMIN_SECRET}` };
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

const get = (p, headers = {}) => request(stack.worker.url + p, { headers: { host: 'gifts.localhost', ...headers } });
const post = (p, body, headers = {}) => request(stack.worker.url + p, {
  method: 'POST', body, headers: { host: 'gifts.localhost', 'content-type': 'application/json', ...headers },
});

/** Serves a gifts confirmation page through the worker; returns its token and offered SKUs. */
async function servePage(order) {
  const r = await get(`/order-confirmation?order=${order.id}`);
  const html = r.body.toString('utf8');
  const token = /data-upsell-token="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
  const skus = [...html.matchAll(/data-sku="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(token, `order ${order.id} got a block`);
  return { token, skus, html };
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
/** Signs claims the way the worker does (base64url(JSON) '.' base64url(HMAC-SHA256)). */
function sign(claims, secret = LOCAL_SECRETS.TOKEN_SECRET) {
  const payload = b64url(JSON.stringify(claims));
  return `${payload}.${b64url(crypto.createHmac('sha256', secret).update(payload).digest())}`;
}
const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));

async function report(experiment, extra = '') {
  const r = await get(`/__upsell/report?experiment=${experiment}&brand=gifts${extra}`, ADMIN);
  assert.equal(r.status, 200, r.body.toString());
  return JSON.parse(r.body.toString('utf8'));
}
const arm = (rep, name) => rep.arms.find((a) => a.arm === name);

test('beacons land once; forged, tampered, expired, replayed, malformed and oversized ones are refused', async () => {
  const { token, skus } = await servePage(shopOrders.gifts[10]);
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'impression', token }))).status, 204);
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'impression', token }))).status, 409, 'replay');
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'click', token, sku: skus[0] }))).status, 204);
  const claims = claimsOf(token);
  const forged = sign(claims, 'not-the-secret');
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'impression', token: forged }))).status, 401, 'forged');
  const [payload, mac] = token.split('.');
  const tampered = `${b64url(JSON.stringify({ ...claims, arm: 'curated' }))}.${mac}`;
  assert.ok(payload.length > 0);
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'impression', token: tampered }))).status, 401, 'tampered');
  const expired = sign({ ...claims, nonce: 'expired-nonce-1234', issued_at: 1, expires_at: 2 });
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'impression', token: expired }))).status, 410, 'expired');
  assert.equal((await post('/__upsell/events', '{"type": "impression", "token": ')).status, 400, 'malformed JSON');
  assert.equal((await post('/__upsell/events', JSON.stringify({ type: 'click', token, sku: 'NOT-OFFERED' }))).status, 400);
  const big = JSON.stringify({ type: 'impression', token, pad: 'x'.repeat(10_000) });
  assert.equal((await post('/__upsell/events', big)).status, 413, 'oversized');
  const rep = await report('none');
  assert.ok(arm(rep, 'ai').impressions >= 1);
});

test('concurrent beacons: none lost', async () => {
  const orders = shopOrders.gifts.slice(20, 60);
  const pages = [];
  for (const o of orders) pages.push(await servePage(o));
  const before = arm(await report('none'), 'ai').impressions;
  const statuses = await Promise.all(pages.map((p, i) => post('/__upsell/events',
    JSON.stringify({ type: 'impression', token: p.token }), { 'user-agent': `beacon-${i}` }).then((r) => r.status)));
  assert.deepEqual([...new Set(statuses)], [204]);
  const after = arm(await report('none'), 'ai').impressions;
  assert.equal(after - before, pages.length, 'every beacon is in D1');
});

test('accept → cart → new order: a conversion linked to the parent order, confirmed by the webhook, in the report', async () => {
  const parent = shopOrders.gifts[3];
  const { token, skus } = await servePage(parent);
  const sku = skus[0];
  // The "Add to order" link: click recorded, token kept in a cookie, shopper sent to the cart.
  const accept = await get(`/__upsell/accept?sku=${encodeURIComponent(sku)}&t=${encodeURIComponent(token)}`);
  assert.equal(accept.status, 303);
  const cookie = accept.headers['set-cookie'][0].split(';')[0];
  const cart = await get(accept.headers.location.replace(/^https?:\/\/[^/]+/, ''), { cookie });
  assert.equal(cart.status, 200);
  assert.match(cart.body.toString(), /Added to your order/);
  // Place the order at the shop (through the worker, as the browser would).
  const place = await request(`${stack.worker.url}/checkout/place`, {
    method: 'POST', body: `sku=${encodeURIComponent(sku)}&qty=1`,
    headers: { host: 'gifts.localhost', 'content-type': 'application/x-www-form-urlencoded', cookie },
  });
  assert.equal(place.status, 303);
  const confirmation = await get(place.headers.location, { cookie });
  assert.equal(confirmation.status, 200);
  const upsellOrder = /order=([^&]+)/.exec(place.headers.location)[1];
  // The conversion is written after the response (waitUntil): poll the ledger briefly.
  let ledger = '';
  for (let i = 0; i < 40 && !ledger.includes(upsellOrder); i++) {
    await new Promise((r) => setTimeout(r, 250));
    ledger = (await get('/__upsell/report?experiment=none&brand=gifts&format=ledger', ADMIN)).body.toString('utf8');
  }
  const row = ledger.split('\n').find((l) => l.includes(upsellOrder));
  assert.ok(row, `ledger has the upsell order:\n${ledger}`);
  assert.ok(row.startsWith(`${parent.id},${upsellOrder},${sku}`), row);
  assert.match(row, /,pending,|,pending$/);
  // The OMS confirms it: signed, timestamped, idempotent.
  const body = JSON.stringify({ id: `evt-${upsellOrder}`, type: 'confirmed', order_id: upsellOrder });
  const t = Math.floor(Date.now() / 1000);
  const sig = `t=${t},v1=${crypto.createHmac('sha256', LOCAL_SECRETS.WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex')}`;
  const hook = await post('/__upsell/webhooks/orders', body, { 'x-upsell-signature': sig });
  assert.equal(hook.status, 200, hook.body.toString());
  assert.equal(JSON.parse(hook.body.toString()).replay, false);
  const again = await post('/__upsell/webhooks/orders', body, { 'x-upsell-signature': sig });
  assert.equal(JSON.parse(again.body.toString()).replay, true, 'a replayed webhook changes nothing');
  const wrong = await post('/__upsell/webhooks/orders', body, { 'x-upsell-signature': `t=${t},v1=${'0'.repeat(64)}` });
  assert.equal(wrong.status, 401);
  const stale = `t=${t - 3600},v1=${crypto.createHmac('sha256', LOCAL_SECRETS.WEBHOOK_SECRET).update(`${t - 3600}.${body}`).digest('hex')}`;
  assert.equal((await post('/__upsell/webhooks/orders', body, { 'x-upsell-signature': stale })).status, 401, 'old timestamp');
  ledger = (await get('/__upsell/report?experiment=none&brand=gifts&format=ledger', ADMIN)).body.toString('utf8');
  assert.match(ledger.split('\n').find((l) => l.includes(upsellOrder)), /confirmed/);
  // The report: the conversion is in the ai arm with the item's price as revenue.
  // The report: the one conversion of this run is in the ai arm, with the item's price as revenue.
  const rep = await report('none');
  const ai = arm(rep, 'ai');
  assert.equal(ai.conversions, 1);
  assert.equal(arm(rep, 'curated').conversions + arm(rep, 'holdout').conversions, 0);
  const price = Number(/£([0-9.]+)/.exec(cart.body.toString())[1]);
  assert.ok(Math.abs(ai.upsell_revenue - price) < 0.005, `revenue ${ai.upsell_revenue} vs ${price}`);
});

test('the report needs the admin secret and judges a registered experiment', async () => {
  assert.equal((await get('/__upsell/report?experiment=none')).status, 401);
  assert.equal((await get('/__upsell/report?experiment=none', { authorization: 'Bearer wrong' })).status, 401);
  const r = await request(`${stack.worker.url}/__upsell/report?experiment=homewares-ai-vs-curated-2026q4&brand=homewares`, { headers: { host: 'homewares.localhost', ...ADMIN } });
  assert.equal(r.status, 200);
  const rep = JSON.parse(r.body.toString());
  assert.ok(rep.verdict, 'a registered experiment gets a verdict');
  const csv = await get('/__upsell/report?experiment=none&brand=gifts&format=csv', ADMIN);
  assert.match(csv.headers['content-type'], /text\/csv/);
});
