// End-to-end: browser → worker (wrangler dev, workerd) → origin, for pages that
// are not confirmation pages. The worker must return the origin's response
// byte for byte: status, the headers that matter, and the body.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, UTF8_PAGE, largePageChunks, fixtureBytes } from '../../scripts/lib/origin.mjs';
import { startWorker } from '../../scripts/lib/wrangler.mjs';
import { request } from './http.mjs';

let origin, worker;
before(async () => {
  origin = await startOrigin(0);
  worker = await startWorker({ vars: { ORIGIN_URL: origin.url } });
});
after(async () => { await worker?.stop(); origin?.server.close(); });

/** Fetches a path directly from the origin and through the worker. */
async function both(path, opts) {
  const [direct, proxied] = await Promise.all([request(origin.url + path, opts), request(worker.url + path, opts)]);
  return { direct, proxied };
}

test('multi-byte UTF-8 page is byte-identical', async () => {
  const { direct, proxied } = await both('/fixtures/utf8');
  assert.equal(proxied.status, 200);
  assert.equal(proxied.headers['content-type'], 'text/html; charset=utf-8');
  assert.ok(proxied.body.equals(Buffer.from(UTF8_PAGE)), 'body differs from the origin page');
  assert.ok(proxied.body.equals(direct.body));
});

test('a 5 MB page streamed in chunks arrives whole and unchanged', async () => {
  const { proxied } = await both('/fixtures/large');
  const expected = Buffer.concat(largePageChunks());
  assert.equal(proxied.status, 200);
  assert.equal(proxied.body.length, expected.length);
  assert.ok(proxied.body.equals(expected), 'large body differs');
});

test('a binary response passes through with its headers', async () => {
  const { proxied } = await both('/fixtures/binary');
  assert.equal(proxied.status, 200);
  assert.equal(proxied.headers['content-type'], 'application/octet-stream');
  assert.equal(proxied.headers['x-fixture'], 'binary');
  assert.ok(proxied.body.equals(fixtureBytes(300_000)));
});

test('a redirect is handed to the browser, not followed', async () => {
  const { proxied } = await both('/fixtures/redirect');
  assert.equal(proxied.status, 302);
  assert.equal(proxied.headers.location, '/fixtures/utf8');
  assert.equal(proxied.headers['x-fixture'], 'redirect');
});

test('an origin error status and body pass through', async () => {
  const { direct, proxied } = await both('/fixtures/error');
  assert.equal(proxied.status, 500);
  assert.ok(proxied.body.equals(direct.body));
});

test('a POST body and query string reach the origin', async () => {
  const body = JSON.stringify({ note: 'grüße', n: 1 });
  const { proxied } = await both('/fixtures/echo?a=1&b=%C3%BC', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const seen = JSON.parse(proxied.body.toString('utf8'));
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/fixtures/echo?a=1&b=%C3%BC');
  assert.equal(seen.body, body);
});

test('the demo shop home page passes through unchanged', async () => {
  const { direct, proxied } = await both('/');
  assert.equal(proxied.status, 200);
  assert.ok(proxied.body.equals(direct.body));
});
