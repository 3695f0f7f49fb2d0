// The demo shop behind the edge worker: real orders, each brand on its own
// host, and confirmation pages in the shapes real platforms emit (the demo
// shop's own GA4 page, a Magento 2 success page, a WooCommerce order-received
// page). "Add to order" lands in the cart; placing the order shows the new
// order's confirmation page, which is where the worker records the conversion.
import fs from 'node:fs';
import path from 'node:path';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const money = (n) => `£${Number(n).toFixed(2)}`;

const BRANDS = {
  gifts: { name: 'Demo Gifts', accent: '#b0306a', tagline: 'Unique all-occasion gifts since 2010' },
  homewares: { name: 'Demo Homewares', accent: '#2a6f4e', tagline: 'Everything for the home' },
};

/** Which brand a Host header belongs to (`gifts.localhost:8787` → gifts; anything else → gifts). */
export function brandOf(host = '') {
  const h = host.split(':')[0].toLowerCase();
  return Object.keys(BRANDS).find((b) => h === `${b}.localhost` || h.endsWith(`.${b}.localhost`)) || 'gifts';
}

/** Loads the shop's orders and catalogs written by demo-data.mjs. */
export function loadShop(dir) {
  const orders = JSON.parse(fs.readFileSync(path.join(dir, 'shop-orders.json'), 'utf8'));
  const catalog = {};
  for (const brand of Object.keys(BRANDS)) {
    catalog[brand] = new Map();
    const file = path.join(dir, `${brand}-catalog.csv`);
    if (!fs.existsSync(file)) continue;
    const [, ...rows] = fs.readFileSync(file, 'utf8').trim().split('\n');
    for (const r of rows) {
      const f = splitCsv(r);
      catalog[brand].set(f[0], { sku: f[0], title: f[1], price: Number(f[2]), category: f[5] });
    }
  }
  const byId = {};
  for (const brand of Object.keys(orders)) byId[brand] = new Map(orders[brand].map((o) => [o.id, o]));
  return { orders, byId, catalog, placed: new Map(), seq: 1 };
}

function splitCsv(line) {
  const out = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) { if (c === '"') { if (line[i + 1] === '"') { cur += '"'; i++; } else q = false; } else cur += c; }
    else if (c === '"') q = true; else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

function layout(brand, title, body, { head = '', tail = '' } = {}) {
  const b = BRANDS[brand];
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – ${esc(b.name)}</title>
<link rel="stylesheet" href="/shop.css">
<style>:root{--brand:${b.accent}} header.site{border-top:4px solid var(--brand)} .btn{background:var(--brand);color:#fff;border:0;padding:.6rem 1rem;border-radius:6px;text-decoration:none;display:inline-block;cursor:pointer}</style>
${head}
</head>
<body>
<header class="site"><a class="logo" href="/">${esc(b.name)}</a><nav><a href="/">Home</a> · <a href="/account/orders">My orders</a> · <a href="/help/delivery">Delivery</a></nav></header>
<main>
${body}
</main>
<footer class="site">${esc(b.name)} · ${esc(b.tagline)} · Prices include VAT · <a href="/help/returns">Returns</a></footer>
${tail}
</body>
</html>
`;
}

function orderTable(order) {
  const rows = order.lines.map((l) => `<tr><td><a href="/product/${esc(l.sku)}">${esc(l.title)}</a></td><td class="sku">${esc(l.sku)}</td><td>${l.qty}</td><td>${money(l.price)}</td><td>${money(l.price * l.qty)}</td></tr>`).join('\n');
  return `<table class="order"><thead><tr><th>Product</th><th>SKU</th><th>Qty</th><th>Price</th><th>Subtotal</th></tr></thead><tbody>
${rows}
</tbody><tfoot><tr><th colspan="4">Total</th><th>${money(total(order))}</th></tr></tfoot></table>`;
}

const total = (o) => o.lines.reduce((s, l) => s + l.price * l.qty, 0);

/** GA4 items array as gtag/dataLayer carry it. */
const ga4Items = (o) => o.lines.map((l) => ({ item_id: l.sku, item_name: l.title, price: Number(l.price.toFixed(2)), quantity: l.qty }));

/** The demo shop's own confirmation page: GA4 `gtag('event','purchase')` at the end of the body. */
function demoConfirmation(brand, o) {
  const tail = `<script async src="/gtag.js"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('event', 'purchase', ${JSON.stringify({ transaction_id: o.id, value: Number(total(o).toFixed(2)), currency: 'GBP', items: ga4Items(o) })});
</script>`;
  return layout(brand, 'Order confirmation', `<h1>Thank you for your order</h1>
<p class="order-number">Order number: <strong>${esc(o.id)}</strong></p>
<p>We have emailed your receipt. Your order will be dispatched within 2 working days.</p>
${orderTable(o)}
<p><a class="btn" href="/">Continue shopping</a></p>`, { tail });
}

/** A Magento 2 (Luma) success page: dataLayer purchase in the head, increment id in the markup. */
function magentoConfirmation(brand, o) {
  const head = `<script>
    window.dataLayer = window.dataLayer || [];
    window.dataLayer.push({
        'event': 'purchase',
        'ecommerce': {
            'transaction_id': '${esc(o.id)}',
            'affiliation': 'Main Website Store',
            'value': '${total(o).toFixed(4)}',
            'currency': 'GBP',
            'items': [${o.lines.map((l) => `{'item_id': '${esc(l.sku)}', 'item_name': ${JSON.stringify(l.title)}, 'price': '${l.price.toFixed(4)}', 'quantity': ${l.qty}},`).join('\n                ')}
            ]
        }
    });
</script>
<script type="text/x-magento-init">{"*": {"Magento_Ui/js/core/app": {"components": {"customer": {"component": "Magento_Customer/js/view/customer"}}}}}</script>`;
  return layout(brand, 'Success Page', `<div class="page-title-wrapper"><h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper">Thank you for your purchase!</span></h1></div>
<div class="checkout-success">
  <p>Your order # is: <span>${esc(o.id)}</span>.</p>
  <p>We'll email you an order confirmation with details and tracking info.</p>
  ${orderTable(o)}
  <div class="actions-toolbar"><div class="primary"><a class="action primary continue btn" href="/"><span>Continue Shopping</span></a></div></div>
</div>`, { head });
}

/** A WooCommerce order-received page with GTM4WP's `dataLayer_content`. */
function wooConfirmation(brand, o) {
  const content = { pagePostType: 'page', orderData: { attributes: { order_number: o.id } }, event: 'purchase',
    ecommerce: { currency: 'GBP', transaction_id: o.id, value: Number(total(o).toFixed(2)),
      items: o.lines.map((l, i) => ({ item_id: 100 + i, item_name: l.title, sku: l.sku, price: l.price, quantity: l.qty })) } };
  const head = `<script data-cfasync="false" data-pagespeed-no-defer>
	var dataLayer_content = ${JSON.stringify(content)};
	dataLayer.push( dataLayer_content );
</script>`;
  return layout(brand, 'Order received', `<div class="woocommerce"><div class="woocommerce-order">
<p class="woocommerce-notice woocommerce-notice--success woocommerce-thankyou-order-received">Thank you. Your order has been received.</p>
<ul class="woocommerce-order-overview woocommerce-thankyou-order-details order_details">
<li class="woocommerce-order-overview__order order">Order number: <strong>${esc(o.id)}</strong></li>
<li class="woocommerce-order-overview__total total">Total: <strong>${money(total(o))}</strong></li></ul>
${orderTable(o)}
</div></div>`, { head: `<script>window.dataLayer = window.dataLayer || [];</script>\n${head}` });
}

/**
 * A client-rendered confirmation page (a headless storefront): the order number is in the
 * markup, the items are fetched by the page's app after load, so the HTML names no SKU.
 * The worker gets the items from the brand's order lookup API instead.
 */
function appConfirmation(brand, o) {
  return layout(brand, 'Order confirmation', `<h1>Thank you for your order</h1>
<div id="order-app" data-order-id="${esc(o.id)}"><p>Order number: <strong>${esc(o.id)}</strong></p>
<p class="loading">Loading your order details…</p></div>
<p><a class="btn" href="/">Continue shopping</a></p>`);
}

/** The shop's order API (what a brand's lookup calls): JSON with items, behind a key. */
function orderApi(o) {
  return { id: o.id, currency: 'GBP', total: Number(total(o).toFixed(2)),
    items: o.lines.map((l) => ({ sku: l.sku, quantity: l.qty, price: l.price })) };
}

/** The order API's key; the worker holds it as the secret ORDER_API_TOKEN. */
export const ORDER_API_TOKEN = process.env.ORDER_API_TOKEN || 'local-order-api-token';

/**
 * Knobs of the order API for tests: `delayMs` stands in for a slow order system,
 * `answer` ({ status, body }) for a failing one.
 */
export const orderApiSettings = { delayMs: 0, answer: null };

function home(brand, shop) {
  const list = shop.orders[brand].slice(0, 40).map((o) => `<tr><td>${esc(o.id)}</td><td>${esc(o.ts.slice(0, 10))}</td><td>${esc(o.region)}</td><td>${o.lines.length}</td><td>${money(total(o))}</td>
<td><a href="/order-confirmation?order=${encodeURIComponent(o.id)}">demo</a> · <a href="/order-confirmation?order=${encodeURIComponent(o.id)}&amp;view=app">client-rendered</a> · <a href="/checkout/onepage/success/?order=${encodeURIComponent(o.id)}">Magento</a> · <a href="/checkout/order-received/${encodeURIComponent(o.id)}/?key=wc_order_${encodeURIComponent(o.id)}">WooCommerce</a></td></tr>`).join('\n');
  return layout(brand, 'Home', `<h1>${esc(BRANDS[brand].name)}</h1>
<p>Real orders from this shop's history. Open a confirmation page: the edge worker in front of this shop adds offers matched to what was bought.
Other brand: <a href="http://${brand === 'gifts' ? 'homewares' : 'gifts'}.localhost:${'{{PORT}}'}/">${brand === 'gifts' ? 'Demo Homewares' : 'Demo Gifts'}</a>.</p>
<table class="order"><thead><tr><th>Order</th><th>Date</th><th>Region</th><th>Lines</th><th>Total</th><th>Confirmation page</th></tr></thead><tbody>
${list}
</tbody></table>`);
}

/** An SVG placeholder image for a SKU, coloured by a hash of the SKU. */
function productImage(sku, title) {
  let h = 0;
  for (const c of sku) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const hue = h % 360;
  const words = String(title || sku).split(/\s+/).slice(0, 4).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240"><rect width="240" height="240" fill="hsl(${hue},55%,86%)"/><circle cx="120" cy="100" r="52" fill="hsl(${hue},50%,62%)"/><text x="120" y="200" font-family="sans-serif" font-size="15" text-anchor="middle" fill="#333">${esc(words)}</text></svg>`;
}

/**
 * Handles the shop's routes; returns true when it answered. `shop` comes from loadShop().
 */
export function shopRoutes(shop) {
  return (req, res, url) => {
    // Behind the worker in local mode the Host header is the origin's own; the
    // worker passes the shopper's host in X-Forwarded-Host.
    const host = req.headers['x-forwarded-host'] || req.headers.host || '';
    const brand = brandOf(host);
    const send = (status, type, body, extra = {}) => { res.writeHead(status, { 'content-type': type, ...extra }); res.end(body); return true; };
    const html = (body) => send(200, 'text/html; charset=utf-8', body.replaceAll('{{PORT}}', host.split(':')[1] || '80'));
    const order = (id) => shop.byId[brand].get(id) || shop.placed.get(`${brand}/${id}`);
    const p = url.pathname;
    if (p === '/' || p === '/index.html') return html(home(brand, shop));
    if (p === '/order-confirmation') {
      const o = order(url.searchParams.get('order') || '');
      if (!o) return send(404, 'text/html', '<h1>No such order</h1>');
      return html(url.searchParams.get('view') === 'app' ? appConfirmation(brand, o) : demoConfirmation(brand, o));
    }
    const api = /^\/api\/orders\/([^/]+)$/.exec(p);
    if (api) {
      if (req.headers['x-api-key'] !== ORDER_API_TOKEN) return send(401, 'application/json', '{"error":"unauthorized"}');
      const o = order(decodeURIComponent(api[1]));
      if (!o) return send(404, 'application/json', '{"error":"no such order"}');
      const forced = orderApiSettings.answer;
      const answer = () => (forced ? send(forced.status, 'application/json', forced.body)
        : send(200, 'application/json', JSON.stringify(orderApi(o))));
      if (orderApiSettings.delayMs > 0) { setTimeout(answer, orderApiSettings.delayMs); return true; }
      return answer();
    }
    if (p === '/checkout/onepage/success/' || p === '/checkout/onepage/success') {
      const o = order(url.searchParams.get('order') || '');
      return o ? html(magentoConfirmation(brand, o)) : send(404, 'text/html', '<h1>No such order</h1>');
    }
    const woo = /^\/checkout\/order-received\/([^/]+)\/?$/.exec(p);
    if (woo) {
      const o = order(decodeURIComponent(woo[1]));
      return o ? html(wooConfirmation(brand, o)) : send(404, 'text/html', '<h1>No such order</h1>');
    }
    const img = /^\/img\/([^/]+)\.svg$/.exec(p);
    if (img) {
      const sku = decodeURIComponent(img[1]);
      return send(200, 'image/svg+xml', productImage(sku, shop.catalog[brand].get(sku)?.title), { 'cache-control': 'max-age=3600' });
    }
    const prod = /^\/product\/([^/]+)$/.exec(p);
    if (prod) {
      const item = shop.catalog[brand].get(decodeURIComponent(prod[1]));
      if (!item) return send(404, 'text/html', '<h1>No such product</h1>');
      return html(layout(brand, item.title, `<h1>${esc(item.title)}</h1><img src="/img/${esc(item.sku)}.svg" alt="${esc(item.title)}" width="240" height="240"><p>${money(item.price)} · SKU ${esc(item.sku)}</p>`));
    }
    if (p === '/cart/add' || p === '/basket/add') {
      const sku = url.searchParams.get('sku') || url.searchParams.get('item') || '';
      const item = shop.catalog[brand].get(sku);
      if (!item) return send(404, 'text/html', '<h1>No such product</h1>');
      const qty = Number(url.searchParams.get('qty') || url.searchParams.get('quantity') || 1);
      return html(layout(brand, 'Your basket', `<h1>Added to your order</h1>
<p>${esc(item.title)} × ${qty} — ${money(item.price * qty)}</p>
<form method="post" action="/checkout/place"><input type="hidden" name="sku" value="${esc(sku)}"><input type="hidden" name="qty" value="${qty}">
<button class="btn" type="submit">Place order</button></form>`));
    }
    if (p === '/checkout/place' && req.method === 'POST') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const item = shop.catalog[brand].get(form.get('sku') || '');
        if (!item) { res.writeHead(400); res.end('bad basket'); return; }
        const id = `U${100000 + shop.seq++}`;
        shop.placed.set(`${brand}/${id}`, { id, ts: new Date().toISOString().slice(0, 19).replace('T', ' '), region: 'uk',
          lines: [{ sku: item.sku, title: item.title, qty: Number(form.get('qty') || 1), price: item.price }] });
        res.writeHead(303, { location: `/order-confirmation?order=${id}` });
        res.end();
      });
      return true;
    }
    return false;
  };
}
