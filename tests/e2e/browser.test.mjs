// End-to-end in real Chromium (playwright-core driving /usr/bin/chromium, never a
// downloaded browser) against the whole local stack: real tables in local KV,
// the shop origin, and the worker under `wrangler dev`. Covers what a shopper
// sees on a confirmation page (server-rendered block, images, accessible name,
// impression beacon, "Add to order" → cart → new order) and the marketers'
// preview and results pages served by the worker under /__upsell/app/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from '../../scripts/lib/wrangler.mjs';
import { prepareData, publishedState, startStack, LOCAL_SECRETS } from '../../scripts/lib/stack.mjs';
import { request } from './http.mjs';

const dataDir = path.join(ROOT, 'target', 'e2e-data');
const persistTo = path.join(ROOT, 'tests', '.tmp', `browser-${process.pid}`);
const shots = path.join(ROOT, 'target', 'screenshots');
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const HOMEWARES_EXPERIMENT = 'homewares-ai-vs-curated-2026q4';

let stack, shopOrders, context, userDataDir;

before(async () => {
  prepareData(dataDir, { quiet: true });
  await publishedState(dataDir, persistTo);
  stack = await startStack({ dataDir, persistTo });
  shopOrders = JSON.parse(fs.readFileSync(path.join(dataDir, 'shop-orders.json'), 'utf8'));
  fs.mkdirSync(shots, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'upsell-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: false, // '--headless=new' is passed explicitly below
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 800 },
    acceptDownloads: true,
  });
});

after(async () => {
  await context?.close();
  await stack?.stop();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  fs.rmSync(persistTo, { recursive: true, force: true });
});

/** The worker's address for a brand host (Chromium resolves *.localhost to loopback itself). */
const at = (host, p) => `http://${host}:${stack.worker.port}${p}`;

/** A new tab that records console errors, page errors and every request it makes. */
async function newPage({ viewport } = {}) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = [];
  const requests = [];
  // "Failed to load resource" console lines carry no URL: the response listener reports those.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  return { page, problems, requests };
}

/** Records, at DOMContentLoaded, whether the offer block was already in the parsed DOM. */
const RECORD_AT_DCL = () => {
  document.addEventListener('DOMContentLoaded', () => {
    const block = document.querySelector('section.upsell-offers');
    window.__upsellAtDcl = { block: Boolean(block), offers: block ? block.querySelectorAll('.upsell-offer').length : 0 };
  });
};

/** A gifts order with at least `minLines` lines (long order tables push the block below the fold). */
function giftsOrder(minLines = 1) {
  const o = shopOrders.gifts.find((x) => x.lines.length >= minLines);
  assert.ok(o, `a gifts order with ≥ ${minLines} lines`);
  return o;
}

test('shopper: the offer block is server-rendered, visible, accessible, with three loaded images', async () => {
  const { page, problems, requests } = await newPage();
  await page.addInitScript(RECORD_AT_DCL);
  const order = giftsOrder(2);
  const res = await page.goto(at('gifts.localhost', `/order-confirmation?order=${encodeURIComponent(order.id)}`), { waitUntil: 'load' });
  assert.equal(res.status(), 200);

  const atDcl = await page.evaluate(() => window.__upsellAtDcl);
  assert.deepEqual(atDcl, { block: true, offers: 3 }, 'block with 3 offers already in the DOM at DOMContentLoaded');
  const scripted = requests.filter((r) => ['fetch', 'xhr'].includes(r.resourceType()));
  assert.deepEqual(scripted.map((r) => r.url()), [], 'no client-side fetch/XHR builds the block');

  const heading = (await page.locator('section.upsell-offers h2').textContent()).trim();
  assert.ok(heading.length > 0);
  const region = page.getByRole('region', { name: heading, exact: true });
  assert.equal(await region.count(), 1, `one region named "${heading}"`);
  await region.scrollIntoViewIfNeeded();
  assert.ok(await region.isVisible(), 'block visible');
  assert.equal(await region.getByRole('listitem').count(), 3, 'three offers');
  const bought = new Set(order.lines.map((l) => l.sku));
  const skus = await region.locator('a.upsell-add').evaluateAll((as) => as.map((a) => a.dataset.sku));
  assert.equal(skus.length, 3);
  assert.ok(skus.every((s) => !bought.has(s)), 'nothing already bought is offered');
  for (const link of await region.getByRole('link').all()) {
    const name = await link.getAttribute('aria-label');
    assert.match(name, /.+ : .+/, 'each "Add to order" link names its product');
  }
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('section.upsell-offers img')];
    return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, null, { timeout: 10_000 });
  const box = await region.boundingBox();
  assert.ok(box.width > 300 && box.height > 150, `block has a sensible size: ${JSON.stringify(box)}`);
  assert.ok(box.x >= 8, `block keeps clear of the viewport's left edge: ${JSON.stringify(box)}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scroll');
  await page.screenshot({ path: path.join(shots, 'shopper-gifts-confirmation.png'), fullPage: true });
  await region.screenshot({ path: path.join(shots, 'shopper-gifts-block.png') });
  // A narrow phone-sized screen: the block still fits the viewport width.
  await page.setViewportSize({ width: 375, height: 700 });
  await region.scrollIntoViewIfNeeded();
  const narrow = await region.boundingBox();
  assert.ok(narrow.x >= 8 && narrow.x + narrow.width <= 375 - 8, `block fits a 375px screen with a margin: ${JSON.stringify(narrow)}`);
  await region.screenshot({ path: path.join(shots, 'shopper-gifts-block-narrow.png') });
  // The demo shop itself has no gtag.js or favicon; nothing else may fail.
  assert.deepEqual(problems.filter((p) => !/^HTTP 404 .*\/(gtag\.js|favicon\.ico)$/.test(p)), []);
  await page.close();
});

test('shopper: the impression beacon fires on scroll into view, and "Add to order" leads to the cart', async () => {
  const { page, requests } = await newPage({ viewport: { width: 1000, height: 420 } });
  const order = giftsOrder(12);
  await page.goto(at('gifts.localhost', `/order-confirmation?order=${encodeURIComponent(order.id)}`), { waitUntil: 'load' });
  const block = page.locator('section.upsell-offers');
  const top = await block.evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(top > 420, `the block starts below the fold (top ${top}px) so the beacon must wait for a scroll`);
  // Give a wrongly eager beacon the chance to fire before the scroll.
  await page.waitForTimeout(700);
  const beacons = () => requests.filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/__upsell/events');
  assert.equal(beacons().length, 0, 'no impression before the block is seen');

  const impression = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/__upsell/events', { timeout: 10_000 });
  await block.scrollIntoViewIfNeeded();
  const resp = await impression;
  assert.equal(resp.status(), 204, 'impression recorded');

  const add = block.locator('a.upsell-add').first();
  const sku = await add.getAttribute('data-sku');
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/order-confirmation'), { timeout: 15_000 }), add.click()]);
  const cart = new URL(page.url());
  assert.notEqual(cart.pathname, '/__upsell/accept', 'the accept link redirected onwards');
  assert.match(cart.pathname, /^\/(basket|cart)\/add$/);
  assert.equal(cart.searchParams.get('item') || cart.searchParams.get('sku'), sku, 'the cart holds the offered SKU');
  assert.match(await page.locator('h1').textContent(), /Added to your order/);

  // Placing the order shows the new order's confirmation page (where the worker records the conversion).
  await Promise.all([page.waitForURL(/\/order-confirmation\?order=U\d+/), page.getByRole('button', { name: 'Place order' }).click()]);
  assert.match(await page.locator('h1').textContent(), /Thank you for your order/);
  await page.close();
});

test('preview: enter the secret, pick a recent order, see three offers per AI and curated arm with why', async () => {
  const { page, problems } = await newPage();
  await page.goto(at('gifts.localhost', '/__upsell/app/'), { waitUntil: 'load' });
  assert.equal(await page.title(), 'Offer preview – Upsell');
  assert.ok(await page.getByRole('heading', { level: 1 }).isVisible());

  // A wrong secret is refused with a clear message.
  await page.getByLabel('Admin secret').fill('not-the-secret');
  await page.getByRole('button', { name: 'Save secret' }).click();
  const first = page.getByRole('button', { name: /^Preview order .+ on its demo confirmation page$/ }).first();
  await first.waitFor({ timeout: 10_000 });
  await first.click();
  await page.locator('#result-status .error').waitFor();
  assert.match(await page.locator('#result-status').textContent(), /not accepted.*401/);

  // The right secret, then a recent order chosen with the keyboard.
  await page.getByLabel('Admin secret').fill(LOCAL_SECRETS.ADMIN_SECRET);
  await page.getByLabel('Admin secret').press('Enter');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('upsell-admin-secret')), LOCAL_SECRETS.ADMIN_SECRET);
  const orderId = (await first.getAttribute('aria-label')).match(/^Preview order (.+) on its/)[1];
  await first.focus();
  await page.keyboard.press('Enter');
  await page.locator('.arm[data-arm="ai"] li.offer').first().waitFor({ timeout: 15_000 });

  assert.equal(await page.locator('#page').inputValue(), `/order-confirmation?order=${orderId}`);
  const facts = await page.locator('#result dl.facts').first().textContent();
  assert.match(facts, /gifts/);
  const extracted = await page.locator('#extract-h + dl').textContent();
  assert.ok(extracted.includes(orderId), 'the extracted order number is shown');
  assert.match(extracted, /— from .+/, 'with where it came from');
  assert.match(await page.locator('#result').textContent(), /version \S+/, 'table version shown');
  for (const arm of ['ai', 'curated']) {
    const offers = page.locator(`.arm[data-arm="${arm}"] li.offer`);
    assert.equal(await offers.count(), 3, `three ${arm} offers`);
    for (const o of await offers.all()) {
      assert.match(await o.locator('.why').textContent(), /^Why: \S.+/);
      assert.match(await o.locator('h4').textContent(), /\S/);
      assert.match(await o.textContent(), /£\d+\.\d\d/);
    }
  }
  const why = await page.locator('.arm[data-arm="ai"] .why').allTextContents();
  assert.ok(why.some((w) => /bought together in \d+ orders, lift \d/.test(w) || /fallback|best seller/.test(w)), why.join(' | '));
  assert.equal(await page.locator('.arm[data-arm="holdout"] li.offer').count(), 0, 'holdout shows nothing');
  await page.waitForFunction(() => [...document.querySelectorAll('.arm img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10_000 });
  await page.screenshot({ path: path.join(shots, 'preview.png'), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal page scroll on a 375px screen (overflow ${overflow}px)`);
  await page.screenshot({ path: path.join(shots, 'preview-narrow.png'), fullPage: true });

  // Another brand's host, found through the shop's home page, with SKUs typed in: the experiment and arm show.
  await page.setViewportSize({ width: 1100, height: 800 });
  const hosts = await page.locator('#host option').allTextContents();
  assert.ok(hosts.includes('homewares.localhost'), `brand hosts offered: ${hosts}`);
  await page.getByLabel('Shop (brand host)').selectOption('homewares.localhost');
  assert.match(await page.locator('#recent-status').textContent(), /Open the preview on homewares\.localhost/);
  const hw = shopOrders.homewares.find((o) => o.lines.length >= 2);
  await page.getByLabel('Confirmation page path').fill('');
  await page.getByLabel('…or SKUs').fill(hw.lines.map((l) => l.sku).join(', '));
  await page.getByLabel('Order number').fill(hw.id);
  await page.getByRole('button', { name: 'Preview offers' }).click();
  await page.locator('#result-status', { hasText: `Preview for order ${hw.id}` }).waitFor({ timeout: 15_000 });
  const summary = await page.locator('#summary-h + dl').textContent();
  assert.ok(summary.includes(HOMEWARES_EXPERIMENT), summary);
  assert.match(await page.locator('#assigned-arm').textContent(), /^(AI-matched|Curated|Holdout)$/);
  assert.match(await page.locator('#extract-h + dl').textContent(), /from preview query/);
  assert.ok((await page.locator('#results-link').getAttribute('href')).includes(`experiment=${HOMEWARES_EXPERIMENT}`));
  assert.deepEqual(problems.filter((p) => !/^HTTP 401 .*\/__upsell\/preview\?/.test(p)), [], 'no errors besides the refused secret');
  await page.close();
});

test('results: the homewares experiment renders without console errors, with and without data', async () => {
  const { page, problems } = await newPage();
  const url = at('homewares.localhost', `/__upsell/app/results.html?experiment=${HOMEWARES_EXPERIMENT}`);
  await page.goto(url, { waitUntil: 'load' });
  await page.getByLabel('Admin secret').fill(LOCAL_SECRETS.ADMIN_SECRET);
  await page.getByRole('button', { name: 'Save secret' }).click();
  await page.locator('#verdict').waitFor({ timeout: 15_000 });
  assert.ok(await page.locator('#no-data').isVisible(), 'says there is no data yet');
  assert.equal(await page.locator('svg.bar-chart').count(), 4, 'four per-arm bar charts');
  assert.equal(await page.locator('svg.interval-chart').count(), 2, 'two lift charts');
  assert.equal(await page.getByRole('img', { name: /Orders per group/ }).count(), 1, 'charts have accessible names');
  for (const f of ['csv', 'ledger']) assert.equal(await page.locator(`a[data-format="${f}"]`).count(), 1, `${f} export link`);
  await page.screenshot({ path: path.join(shots, 'results-empty.png'), fullPage: true });

  // Some homewares traffic: each confirmation page served enrols its order in an arm.
  const served = shopOrders.homewares.slice(0, 12);
  for (const o of served) {
    const r = await request(`${stack.worker.url}/order-confirmation?order=${encodeURIComponent(o.id)}`, { headers: { host: 'homewares.localhost', 'x-upsell-country': 'GB' } });
    assert.equal(r.status, 200);
  }
  let total = 0;
  for (let i = 0; i < 50 && total === 0; i++) {
    await page.waitForTimeout(200);
    const r = await request(`${stack.worker.url}/__upsell/report?experiment=${HOMEWARES_EXPERIMENT}`, { headers: { host: 'homewares.localhost', authorization: `Bearer ${LOCAL_SECRETS.ADMIN_SECRET}` } });
    total = JSON.parse(r.body.toString()).arms.reduce((n, a) => n + a.orders, 0);
  }
  assert.ok(total > 0, 'served homewares orders are enrolled');
  await page.reload({ waitUntil: 'load' });
  await page.locator('#verdict').waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('#no-data').count(), 0);
  assert.match(await page.locator('#report-status').textContent(), new RegExp(`Report loaded: ${total} orders`));
  const ordersDesc = await page.locator('svg.bar-chart').first().locator('desc').textContent();
  assert.match(ordersDesc, /AI-matched: \d+/);
  assert.ok(await page.locator('svg.bar-chart rect.bar').count() >= 1, 'bars drawn');
  await page.screenshot({ path: path.join(shots, 'results-data.png'), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal page scroll on a 375px screen (overflow ${overflow}px)`);
  await page.screenshot({ path: path.join(shots, 'results-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1100, height: 800 });

  // The CSV export downloads with the secret (a plain link could not send it).
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-format="csv"]').click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.match(csv, /^experiment,section,subject,metric,value,ci_low,ci_high/);
  assert.ok(csv.includes(HOMEWARES_EXPERIMENT));
  const [ledger] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-format="ledger"]').click()]);
  assert.equal(ledger.suggestedFilename(), 'conversions.csv');
  assert.match(fs.readFileSync(await ledger.path(), 'utf8'), /^parent_order_id,upsell_order_id,sku,/);
  assert.deepEqual(problems, [], 'no console errors');
  await page.close();
});
