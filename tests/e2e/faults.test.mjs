// End-to-end fault cases on the table side: each runs a fresh worker (a fresh
// isolate, so no decoded shard is cached) over local KV prepared through the
// real wrangler, and the shopper must get the origin's page byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runWrangler } from '../../scripts/lib/wrangler.mjs';
import { prepareData, publishLocal, publishedState, startStack } from '../../scripts/lib/stack.mjs';
import { request } from './http.mjs';

const dataDir = path.join(ROOT, 'target', 'e2e-data');

/** Local state with everything published (made once, cached), copied for this case. */
const publishedCopy = (to) => publishedState(dataDir, to);

/** Runs `body(stack)` on a fresh stack whose local KV was prepared by `prepare(persistTo)`. */
async function withStack(name, prepare, body, { vars = {} } = {}) {
  prepareData(dataDir, { quiet: true });
  const persistTo = path.join(ROOT, 'tests', '.tmp', `${name}-${process.pid}`);
  fs.rmSync(persistTo, { recursive: true, force: true });
  await prepare(persistTo);
  const stack = await startStack({ dataDir, persistTo, vars });
  try {
    await body(stack);
  } finally {
    await stack.stop();
    fs.rmSync(persistTo, { recursive: true, force: true });
  }
}

async function assertUnchanged(stack, p, headers = {}) {
  const h = { host: 'gifts.localhost', ...headers };
  const [edge, origin] = await Promise.all([request(stack.worker.url + p, { headers: h }), request(stack.origin.url + p, { headers: h })]);
  assert.equal(edge.status, origin.status);
  assert.ok(edge.body.equals(origin.body), `${p}: page must be the origin's bytes`);
  assert.doesNotMatch(edge.body.toString('utf8'), /upsell-offers/);
}

const kvPut = async (persistTo, key, file) => {
  const r = await runWrangler(['kv', 'key', 'put', key, '--path', file, '--binding', 'TABLES', '--preview', 'false', '--local', '--persist-to', persistTo]);
  assert.equal(r.code, 0, r.stderr);
};

const skus = () => {
  const orders = JSON.parse(fs.readFileSync(path.join(dataDir, 'shop-orders.json'), 'utf8'));
  return orders.gifts[0].lines.map((l) => l.sku).slice(0, 3).join(',');
};

test('no tables in KV: configured brand, confirmation page, no offers, page unchanged', async () => {
  await withStack('empty', (p) => publishLocal(dataDir, p, { quiet: true, tables: false }), async (stack) => {
    await assertUnchanged(stack, `/checkout/thank_you?fixture=plain&skus=${skus()}`);
  });
});

test('corrupt neighbour shards: page unchanged', async () => {
  await withStack('corrupt', async (p) => {
    await publishedCopy(p);
    const garbage = [];
    for (const region of ['all', 'uk', 'eu', 'row']) {
      const m = JSON.parse(fs.readFileSync(path.join(dataDir, 'tables-gifts', 'manifests', 'gifts', `${region}.json`), 'utf8'));
      for (const k of m.keys.filter((k) => k.key.includes('/nbr/'))) garbage.push({ key: k.key, value: 'definitely not a table shard' });
    }
    const file = path.join(p, 'garbage.json');
    fs.writeFileSync(file, JSON.stringify(garbage));
    const r = await runWrangler(['kv', 'bulk', 'put', file, '--binding', 'TABLES', '--preview', 'false', '--local', '--persist-to', p]);
    assert.equal(r.code, 0, r.stderr);
  }, async (stack) => {
    await assertUnchanged(stack, `/checkout/thank_you?fixture=plain&skus=${skus()}`);
    await assertUnchanged(stack, `/checkout/thank_you?fixture=plain&skus=${skus()}`, { 'x-upsell-country': 'FR' });
  });
});

test('a manifest of a newer table format: page unchanged', async () => {
  await withStack('newer', async (p) => {
    await publishedCopy(p);
    for (const region of ['all', 'uk', 'eu', 'row']) {
      const m = JSON.parse(fs.readFileSync(path.join(dataDir, 'tables-gifts', 'manifests', 'gifts', `${region}.json`), 'utf8'));
      const file = path.join(p, `m-${region}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...m, format: 99 }));
      await kvPut(p, `manifest/gifts/${region}`, file);
    }
  }, async (stack) => {
    await assertUnchanged(stack, `/checkout/thank_you?fixture=plain&skus=${skus()}`);
  });
});

test('a manifest naming shards that are not in KV yet: page unchanged', async () => {
  await withStack('missing', async (p) => {
    await publishedCopy(p);
    for (const region of ['all', 'uk', 'eu', 'row']) {
      const m = JSON.parse(fs.readFileSync(path.join(dataDir, 'tables-gifts', 'manifests', 'gifts', `${region}.json`), 'utf8'));
      const file = path.join(p, `m-${region}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...m, version: 'v-not-propagated', prefix: `${m.prefix}-not-propagated` }));
      await kvPut(p, `manifest/gifts/${region}`, file);
    }
  }, async (stack) => {
    await assertUnchanged(stack, `/checkout/thank_you?fixture=plain&skus=${skus()}`);
  });
});

/**
 * A 5 MB page (64 KB chunks) whose flow dies once it has sent 1 MB, long before
 * the block's place (before </body>): the shopper still gets the origin's bytes
 * exactly, the logs show the failure (`failed`) and where the guard resumed,
 * and the replaced instance serves the next page with its block.
 */
async function assertSurvives(fault, failed) {
  const vars = { FAULT_INJECTION: fault };
  await withStack(fault.split(':')[0], publishedCopy, async (stack) => {
    await assertUnchanged(stack, `/checkout/thank_you?fixture=large&skus=${skus()}`);
    const logs = stack.worker.logs.join('');
    assert.match(logs, failed, 'the flow did fail');
    assert.match(logs, /page flow failed mid-stream, origin bytes from offset [1-9]\d{5,}/, 'and the guard resumed mid-page');
    // The instance is replaced after the trap: the next page (under 1 MB) gets its offers.
    const h = { host: 'gifts.localhost' };
    const p = `/checkout/thank_you?fixture=plain&skus=${skus()}`;
    const [edge, origin] = await Promise.all([request(stack.worker.url + p, { headers: h }), request(stack.origin.url + p, { headers: h })]);
    const html = edge.body.toString('utf8');
    assert.equal(html.match(/class="upsell-offers"/g)?.length, 1, 'exactly one block after recovery');
    assert.ok(Buffer.from(html.replace(/<section class="upsell-offers"[\s\S]*?<\/section>/, '')).equals(origin.body));
  }, { vars });
}

test('a panic mid-page: the origin\'s bytes follow from where the flow stopped; the next page is served normally', async () => {
  await assertSurvives('panic-after-bytes:1000000', /fault injection: panic with \d+ origin bytes sent/);
});

test('out of memory mid-page (an abort, which skips the panic hook): the same', async () => {
  await assertSurvives('oom-after-bytes:1000000', /wasm allocation of 67108864 bytes failed/);
});
