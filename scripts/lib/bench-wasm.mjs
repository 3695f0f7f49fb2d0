// Drives the wasm page benchmark (examples/wasm_page_bench.rs, built for
// wasm32 with the worker's release profile and bound for Node by
// wasm-bindgen) and prints CPU time per page. Node runs the same V8 as
// workerd; the runtime's own I/O is not part of these figures.
//
// usage: node scripts/lib/bench-wasm.mjs <pkg dir> <table dir> <compiled config> <brand> <region> <shop-orders.json>
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [pkgDir, tableDir, configFile, brand, region, ordersFile] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const { PageBench } = require(path.resolve(pkgDir, 'wasm_page_bench.js'));

const manifestBytes = fs.readFileSync(path.join(tableDir, 'manifests', brand, `${region}.json`));
const manifest = JSON.parse(manifestBytes);
const bench = new PageBench(fs.readFileSync(configFile), manifestBytes, brand, region);
let tableBytes = 0;
for (const { key } of manifest.keys) {
  const bytes = fs.readFileSync(path.join(tableDir, 'kv', key));
  tableBytes += bytes.length;
  bench.add_value(key, bytes);
}

// Four SKUs of a real order of the brand in that region.
const orders = JSON.parse(fs.readFileSync(ordersFile, 'utf8'))[brand];
const order = orders.find((o) => o.region === region && new Set(o.lines.map((l) => l.sku)).size >= 4) || orders.find((o) => o.lines.length >= 4);
const lines = order.lines.slice(0, 4);

/**
 * A ~100 KB confirmation page in a Magento 2 shape. `late`: the analytics payload at the end of
 * <body>, after the anchor (the worst case: the whole page is parsed before the decision);
 * otherwise in <head>, where Magento's GA4 module and GTM4WP put it.
 */
function page(targetBytes, late) {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const head = `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Success Page</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/static/styles-m.css">
<script type="text/x-magento-init">{"*": {"Magento_Ui/js/core/app": {"components": {"customer": {"component": "Magento_Customer/js/view/customer"}}}}}</script>
</head><body class="checkout-onepage-success page-layout-1column">`;
  const nav = Array.from({ length: 40 }, (_, i) => `<li class="level0 nav-${i}"><a href="/category-${i}.html" class="level-top"><span>Category ${i}</span></a><ul class="level0 submenu">${Array.from({ length: 6 }, (_, j) => `<li class="level1"><a href="/category-${i}/sub-${j}.html"><span>Sub ${j}</span></a></li>`).join('')}</ul></li>`).join('\n');
  const rows = lines.map((l) => `<tr><td><a href="/product/${esc(l.sku)}">${esc(l.title)}</a></td><td class="sku">${esc(l.sku)}</td><td>${l.qty}</td><td>£${l.price.toFixed(2)}</td></tr>`).join('\n');
  const main = `<main id="maincontent" class="page-main"><div class="page-title-wrapper"><h1 class="page-title"><span class="base">Thank you for your purchase!</span></h1></div>
<div class="checkout-success"><p>Your order # is: <span>${esc(order.id)}</span>.</p><table class="order">${rows}</table></div></main>`;
  const items = lines.map((l) => `{'item_id': '${l.sku}', 'item_name': ${JSON.stringify(l.title)}, 'price': '${l.price.toFixed(4)}', 'quantity': ${l.qty}},`).join('\n');
  const analytics = `<script>window.dataLayer = window.dataLayer || [];
window.dataLayer.push({'event': 'purchase', 'ecommerce': {'transaction_id': '${order.id}', 'value': '42.0000', 'currency': 'GBP', 'items': [${items}]}});</script>`;
  let footer = '';
  let n = 0;
  const base = head.length + nav.length + main.length + analytics.length + 40;
  while (base + footer.length < targetBytes) {
    footer += `<div class="product-item" data-product-id="${n}"><a href="/p/${n}.html" class="product-item-photo"><img src="/media/catalog/product/${n}.jpg" alt="Product ${n}" width="240" height="300" loading="lazy"></a><strong class="product-item-name"><a href="/p/${n}.html">Product name ${n}</a></strong><span class="price">£${(n % 50) + 0.99}</span></div>\n`;
    n++;
  }
  const top = late ? head : head.replace('</head>', `${analytics}</head>`);
  return Buffer.from(`${top}<header><nav><ul>${nav}</ul></nav></header>${main}<footer>${footer}</footer>${late ? analytics : ''}</body></html>`);
}

const html = page(100 * 1024, true);
const early = page(100 * 1024, false);
const skus = lines.map((l) => l.sku);
const chunk = 16 * 1024;

/**
 * Times every case in interleaved rounds (a batch of each case per round), so
 * that load from other processes on a shared machine falls on all cases alike
 * instead of on whichever case happened to run at the time.
 */
function measure(cases, rounds = 20) {
  for (const c of cases) for (let i = 0; i < Math.min(200, c.batch); i++) c.fn();
  const times = cases.map((c) => new Float64Array(rounds * c.batch));
  const cpu = cases.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, k) => {
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < c.batch; i++) {
        const a = performance.now();
        c.fn();
        times[k][r * c.batch + i] = performance.now() - a;
      }
      const used = process.cpuUsage(cpu0);
      cpu[k] += used.user + used.system;
    });
  }
  return cases.map((c, k) => {
    const t = times[k].sort();
    const n = t.length;
    const q = (p) => t[Math.min(n - 1, Math.floor(p * n))];
    const row = { name: c.name, iterations: n, median_ms: q(0.5), p99_ms: q(0.99), max_ms: t[n - 1], cpu_ms_per_iter: cpu[k] / 1000 / n };
    console.log(`${c.name.padEnd(58)} median ${row.median_ms.toFixed(4)} ms  p99 ${row.p99_ms.toFixed(4)} ms  max ${row.max_ms.toFixed(3)} ms  (process CPU ${row.cpu_ms_per_iter.toFixed(4)} ms/iter, n=${n})`);
    return row;
  });
}

const out = bench.confirmation_page(html, chunk, true);
if (out <= html.length) throw new Error(`no block was injected (${out} bytes out of ${html.length})`);
if (bench.confirmation_page(early, chunk, true) !== out || bench.confirmation_page(html, chunk, false) !== out) throw new Error('both page shapes must get the same block');
console.log(`page: ${html.length} bytes, ${skus.length} SKUs (${skus.join(', ')}), order ${order.id}; response ${out} bytes (block ${out - html.length} bytes)`);
console.log(`table: ${brand}/${region}, ${manifest.keys.length} values, ${tableBytes} bytes; shards read by this order: ${bench.neighbour_keys(skus).length}`);
const rows = measure([
  { name: 'confirmation page, 100 KB, 4 SKUs, analytics in <head>', fn: () => bench.confirmation_page(early, chunk, true), batch: 100 },
  { name: 'confirmation page, 100 KB, 4 SKUs, analytics at end', fn: () => bench.confirmation_page(html, chunk, true), batch: 100 },
  { name: '  same, without the brand\'s markup selector (defaults)', fn: () => bench.confirmation_page(html, chunk, false), batch: 100 },
  { name: '  of which the page flow (parse, sniff, splice)', fn: () => bench.flow_only(html, chunk), batch: 100 },
  { name: '  lol_html alone, no handlers (the floor)', fn: () => bench.bare_parse(html, chunk), batch: 50 },
  { name: '  the order sniffer alone (default settings)', fn: () => bench.sniff_only(html, chunk), batch: 50 },
  { name: '  of which the decision (rank, token, block)', fn: () => bench.decision_only(order.id, skus), batch: 100 },
  { name: '  the order\'s shards decoded (cache miss)', fn: () => bench.decode_cold(skus, true, true), batch: 100 },
  { name: '    its neighbour shards alone', fn: () => bench.decode_cold(skus, true, false), batch: 100 },
  { name: '    its catalog shards alone', fn: () => bench.decode_cold(skus, false, true), batch: 100 },
  { name: 'pass-through page (routing decision)', fn: () => bench.route(`${brand}.localhost`, '/product/85123A', 'GB'), batch: 1000 },
]);
if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ page_bytes: html.length, skus, rows }, null, 2));
