// Prepares the demo's data as an OMS would export it (the generic order schema
// model-builder reads), for two brands:
//   gifts     — the real UCI Online Retail order lines (data/online-retail.csv.gz),
//               cleaned as the evaluation protocol says; trained on orders before
//               2011-11-01, the shop serves confirmation pages for later orders;
//   homewares — a synthetic retailer from `model-builder synth` (with categories).
// Countries become the configured regions (uk / eu / row), as config/platform.toml maps them.
// Usage: node scripts/lib/demo-data.mjs OUT_DIR MODEL_BUILDER_BIN
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SPLIT = '2011-11-01 00:00:00';

/** UCI country names → ISO 3166 codes; regions come from config/platform.toml's map. */
const ISO = {
  'United Kingdom': 'GB', 'Channel Islands': 'JE', France: 'FR', Germany: 'DE', EIRE: 'IE', Spain: 'ES',
  Netherlands: 'NL', Belgium: 'BE', Switzerland: 'CH', Portugal: 'PT', Australia: 'AU', Norway: 'NO',
  Italy: 'IT', Finland: 'FI', Cyprus: 'CY', Sweden: 'SE', Austria: 'AT', Denmark: 'DK', Japan: 'JP',
  Poland: 'PL', Israel: 'IL', USA: 'US', 'Hong Kong': 'HK', Singapore: 'SG', Iceland: 'IS', Canada: 'CA',
  Greece: 'GR', Malta: 'MT', 'United Arab Emirates': 'AE', 'European Community': 'EU', RSA: 'ZA',
  Lebanon: 'LB', Lithuania: 'LT', Brazil: 'BR', 'Czech Republic': 'CZ', Bahrain: 'BH', 'Saudi Arabia': 'SA',
};

/** Reads `[regions]` of config/platform.toml: the default region and country → region. */
export function regionMap() {
  const text = fs.readFileSync(path.join(ROOT, 'config', 'platform.toml'), 'utf8');
  const def = /\[regions\][^[]*?default\s*=\s*"([^"]+)"/s.exec(text)?.[1] || 'row';
  const block = /\[regions\.countries\]([^[]*)/s.exec(text)?.[1] || '';
  const countries = {};
  for (const m of block.matchAll(/^\s*([A-Z]{2})\s*=\s*"([^"]+)"/gm)) countries[m[1]] = m[2];
  return (country) => countries[ISO[country] || country] || def;
}

/** Splits one CSV line (RFC 4180 quotes). */
export function csvFields(line) {
  const out = [];
  let cur = '', q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"') { if (line[i + 1] === '"') { cur += '"'; i++; } else q = false; } else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
}

const csvCell = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));

/** Keyword categories for the gift catalog (first match in the description wins). */
const CATEGORIES = [
  ['christmas', /CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER/], ['bags', /\bBAG\b|BAGS|TOTE|SHOPPER/],
  ['candles', /CANDLE|T-LIGHT|TEALIGHT|LANTERN|HOLDER/], ['kitchen', /MUG|CUP|PLATE|BOWL|JAR|TIN|CAKE|LUNCH|BAKING|SPOON|TEA/],
  ['paper', /CARD|WRAP|PAPER|NOTEBOOK|STICKER|ENVELOPE|PENCIL/], ['decor', /SIGN|FRAME|CLOCK|MIRROR|ORNAMENT|HEART|DECORATION|BUNTING/],
  ['kids', /DOLLY|TOY|CHILDRENS|KIDS|SPACEBOY|DOLLY GIRL|PARTY/], ['garden', /GARDEN|PLANT|FLOWER|WATERING/],
];
const categoryOf = (desc) => (CATEGORIES.find(([, re]) => re.test(desc)) || ['other'])[0];
const titleCase = (s) => s.toLowerCase().replace(/\b([a-z])/g, (m) => m.toUpperCase()).trim();

/** Writes the gifts brand's files from the UCI data. */
function gifts(out, toRegion) {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(ROOT, 'data', 'online-retail.csv.gz'))).toString('utf8');
  const lines = text.split('\n');
  const train = ['order_id,sku,ts,region,price,quantity,category,customer_id,brand'];
  const titles = new Map(), prices = new Map(), shop = new Map();
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue;
    const [inv, sku, desc, qty, ts, price, , country] = csvFields(lines[i]);
    if (inv.startsWith('C') || !(Number(qty) > 0) || !(Number(price) > 0) || !/^[0-9]{5}/.test(sku)) continue;
    const region = toRegion(country);
    if (desc && !titles.has(sku)) titles.set(sku, desc);
    prices.set(sku, Number(price));
    const category = categoryOf(desc || '');
    if (ts < SPLIT) {
      train.push([inv, sku, ts, region, price, qty, category, '', 'gifts'].map(csvCell).join(','));
    } else {
      if (!shop.has(inv)) shop.set(inv, { id: inv, ts, country: ISO[country] || 'GB', region, lines: [] });
      shop.get(inv).lines.push({ sku, title: titleCase(desc || sku), qty: Number(qty), price: Number(price) });
    }
  }
  fs.writeFileSync(path.join(out, 'gifts-orders.csv'), train.join('\n') + '\n');
  const cat = ['sku,title,price,url,image,category,in_stock'];
  for (const [sku, desc] of titles) {
    cat.push([sku, titleCase(desc), prices.get(sku).toFixed(2), `/product/${sku}`, `/img/${sku}.svg`, categoryOf(desc), 'true'].map(csvCell).join(','));
  }
  fs.writeFileSync(path.join(out, 'gifts-catalog.csv'), cat.join('\n') + '\n');
  // Orders with 2..30 distinct lines make readable confirmation pages.
  const orders = [...shop.values()].filter((o) => o.lines.length >= 2 && o.lines.length <= 30);
  return { train: train.length - 1, catalog: cat.length - 1, shop: orders };
}

/** Writes the homewares brand's files from the synthetic generator. */
function homewares(out, bin) {
  const raw = path.join(out, 'homewares-synth.csv');
  const rawCat = path.join(out, 'homewares-synth-catalog.csv');
  execFileSync(bin, ['synth', '--orders', '60000', '--skus', '1500', '--regions', '3', '--days', '365',
    '--seed', '7', '--brand', 'homewares', '--start', '2025-01-01', '--out', raw, '--catalog', rawCat, '-q'], { stdio: 'inherit' });
  const rows = fs.readFileSync(raw, 'utf8').trim().split('\n');
  const head = rows[0].split(',');
  const col = (n) => head.indexOf(n);
  const cut = '2025-12-01';
  const train = [rows[0]], shop = new Map();
  const titles = new Map(fs.readFileSync(rawCat, 'utf8').trim().split('\n').slice(1).map((l) => {
    const f = csvFields(l);
    return [f[0], f[1]];
  }));
  for (const line of rows.slice(1)) {
    const f = csvFields(line);
    // The generator's `us` region is the rest of the world in this deployment's map.
    if (f[col('region')] === 'us') f[col('region')] = 'row';
    if (f[col('ts')] < cut) { train.push(f.map(csvCell).join(',')); continue; }
    const id = f[col('order_id')];
    if (!shop.has(id)) shop.set(id, { id, ts: f[col('ts')], country: { uk: 'GB', eu: 'DE', row: 'US' }[f[col('region')]] || 'GB', region: f[col('region')], lines: [] });
    shop.get(id).lines.push({ sku: f[col('sku')], title: titles.get(f[col('sku')]) || f[col('sku')], qty: Number(f[col('quantity')]), price: Number(f[col('price')]) });
  }
  fs.writeFileSync(path.join(out, 'homewares-orders.csv'), train.join('\n') + '\n');
  const cat = fs.readFileSync(rawCat, 'utf8').trim().split('\n');
  const local = [cat[0], ...cat.slice(1).map((l) => {
    const f = csvFields(l);
    f[3] = `/product/${f[0]}`;
    f[4] = `/img/${f[0]}.svg`;
    return f.map(csvCell).join(',');
  })];
  fs.writeFileSync(path.join(out, 'homewares-catalog.csv'), local.join('\n') + '\n');
  fs.rmSync(raw);
  fs.rmSync(rawCat);
  const orders = [...shop.values()].filter((o) => o.lines.length >= 2);
  return { train: train.length - 1, catalog: local.length - 1, shop: orders };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, bin] = process.argv.slice(2);
  fs.mkdirSync(out, { recursive: true });
  const toRegion = regionMap();
  const g = gifts(out, toRegion);
  const h = homewares(out, bin);
  // The shop serves a sample of later orders (confirmation pages are generated from them).
  const sample = (orders, n) => orders.filter((_, i) => i % Math.max(1, Math.floor(orders.length / n)) === 0).slice(0, n);
  fs.writeFileSync(path.join(out, 'shop-orders.json'), JSON.stringify({ gifts: sample(g.shop, 400), homewares: sample(h.shop, 400) }));
  console.log(`demo data: gifts ${g.train} order lines to learn from, ${g.catalog} catalog SKUs; homewares ${h.train} lines, ${h.catalog} SKUs -> ${out}`);
}
