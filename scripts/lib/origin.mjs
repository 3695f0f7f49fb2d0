// A local shop origin for the demo and the end-to-end tests.
//
// Serves the demo shop's static pages from www/shop/ and a few fixture routes
// that exercise the worker's pass-through: multi-byte UTF-8, a large body
// streamed in chunks, a binary body, a redirect, an origin error, a slow page.
// Usable as a module (startOrigin) or a CLI: node scripts/lib/origin.mjs --port 8790
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript',
  '.mjs': 'text/javascript', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };

/** Deterministic pseudo-random bytes, so tests can recompute a body. */
export function fixtureBytes(n, seed = 7) {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; out[i] = x >>> 24; }
  return out;
}

/** The UTF-8 page served at /fixtures/utf8 (also used by tests to compare). */
export const UTF8_PAGE = '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Bestätigung – Größe</title></head>'
  + '<body><h1>Vielen Dank für Ihre Bestellung ✓</h1><p>日本語のテキスト, emoji 🎁🛒, Ελληνικά, עברית.</p></body></html>\n';

/** Builds the large HTML page served at /fixtures/large in `chunks` pieces. */
export function largePageChunks(totalBytes = 5 * 1024 * 1024, chunkBytes = 64 * 1024) {
  const row = '<li class="p">Produkt № {i} — “Geschenk” 🎄 <a href="/p/{i}">ansehen</a></li>\n';
  const head = Buffer.from('<!doctype html><html><head><meta charset="utf-8"><title>large</title></head><body><ul>\n');
  const tail = Buffer.from('</ul></body></html>\n');
  const parts = [head];
  let size = head.length + tail.length, i = 0;
  while (size < totalBytes) { const b = Buffer.from(row.replaceAll('{i}', String(i++))); parts.push(b); size += b.length; }
  parts.push(tail);
  const all = Buffer.concat(parts);
  const chunks = [];
  for (let o = 0; o < all.length; o += chunkBytes) chunks.push(all.subarray(o, o + chunkBytes));
  return chunks;
}

/** A confirmation-shaped page with a GA4 purchase for the given SKUs (fault-case fixtures). */
export function purchasePage(orderId, skus, filler = '') {
  const items = skus.map((sku) => ({ item_id: sku, price: 2.5, quantity: 1 }));
  return '<!doctype html><html><head><meta charset="utf-8"><title>Thank you</title></head><body>'
    + `<h1>Thank you — order ${orderId}</h1>${filler}`
    + `<script>window.dataLayer=window.dataLayer||[];dataLayer.push({event:'purchase',ecommerce:{transaction_id:'${orderId}',currency:'GBP',value:5,items:${JSON.stringify(items)}}});</script>`
    + '</body></html>\n';
}

/** Fault cases served on the Shopify-style confirmation path `/checkout/thank_you?fixture=…`. */
const thankYouFixtures = {
  slow: async (req, res, skus) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const page = purchasePage('SLOW-1', skus);
    const cut = page.indexOf('<script>');
    res.write(page.slice(0, cut));
    await new Promise((r) => setTimeout(r, 600));
    res.end(page.slice(cut));
  },
  error: (req, res, skus) => { res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' }); res.end(purchasePage('ERR-1', skus)); },
  json: (req, res, skus) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ skus })); },
  large: async (req, res, skus) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const page = Buffer.from(purchasePage('BIG-1', skus, '<p>Größe ✓ 🎁 filler</p>\n'.repeat(180_000)));
    for (let o = 0; o < page.length; o += 64 * 1024) {
      if (!res.write(page.subarray(o, o + 64 * 1024))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  },
  plain: (req, res, skus) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(purchasePage('PLAIN-1', skus)); },
  broken: (req, res, skus) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<html><body><p>unclosed <b><i><script>dataLayer.push({event:'purchase',ecommerce:{transaction_id:'BRK-1',items:[{item_id:'${skus[0]}'}]}});</script><div <<<>>> "'\u0000 </p></body><!-- never closed`);
  },
};

const fixtures = {
  '/checkout/thank_you': async (req, res) => {
    const url = new URL(req.url, 'http://origin.local');
    const f = thankYouFixtures[url.searchParams.get('fixture') || 'plain'];
    const skus = (url.searchParams.get('skus') || '85123A,71053').split(',');
    if (!f) { res.writeHead(404); return res.end(); }
    await f(req, res, skus);
  },
  '/fixtures/utf8': (req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(UTF8_PAGE); },
  '/fixtures/large': async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    for (const c of largePageChunks()) { if (!res.write(c)) await new Promise((r) => res.once('drain', r)); }
    res.end();
  },
  '/fixtures/binary': (req, res) => {
    const body = fixtureBytes(300_000);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'x-fixture': 'binary' });
    res.end(body);
  },
  '/fixtures/redirect': (req, res) => { res.writeHead(302, { location: '/fixtures/utf8', 'x-fixture': 'redirect' }); res.end(); },
  '/fixtures/error': (req, res) => { res.writeHead(500, { 'content-type': 'text/html' }); res.end('<h1>origin exploded</h1>'); },
  '/fixtures/slow': async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.write('<!doctype html><html><body><p>first</p>');
    await new Promise((r) => setTimeout(r, 400));
    res.end('<p>second</p></body></html>');
  },
  '/fixtures/echo': (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString('utf8'), ua: req.headers['user-agent'] || null });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  },
};

/** Optional dynamic handlers (e.g. the demo's confirmation pages) registered by callers. */
const dynamic = [];
/** Registers a handler `(req, res, url) => boolean` tried before static files. */
export function addRoute(handler) { dynamic.push(handler); }

function serveStatic(req, res, url) {
  let rel = decodeURIComponent(url.pathname);
  if (rel.endsWith('/')) rel += 'index.html';
  const file = path.join(ROOT, 'www', 'shop', path.normalize(rel));
  if (!file.startsWith(path.join(ROOT, 'www', 'shop'))) { res.writeHead(403); return res.end(); }
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404, { 'content-type': 'text/html' }); return res.end('<h1>Not found</h1>'); }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(data);
  });
}

/** Starts the origin on 127.0.0.1:port (0 = any free port); resolves to { server, url }. */
export function startOrigin(port = 0) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://origin.local');
    try {
      for (const h of dynamic) if (await h(req, res, url)) return;
      const f = fixtures[url.pathname];
      if (f) return await f(req, res);
      serveStatic(req, res, url);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => {
    resolve({ server, url: `http://127.0.0.1:${server.address().port}` });
  }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const { url } = await startOrigin(i > 0 ? Number(process.argv[i + 1]) : 8790);
  console.log(`origin listening on ${url}`);
}
