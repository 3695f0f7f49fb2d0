// The whole local stack, shared by the demo and the end-to-end tests:
// demo data (real UCI orders + a synthetic brand) → `model-builder build` per
// brand → `model-builder publish --local` (tables and configuration into local
// KV) → D1 migrations → the shop origin and the worker under `wrangler dev`.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startOrigin, addRoute } from './origin.mjs';
import { startWorker, runWrangler, ROOT } from './wrangler.mjs';
import { loadShop, shopRoutes } from './shop.mjs';

export const MODEL_BUILDER = path.join(ROOT, 'target', 'release', 'model-builder');
export const BRANDS = ['gifts', 'homewares'];

/** Secrets the local stack runs with (local only; production uses `wrangler secret put`). */
export const LOCAL_SECRETS = {
  TOKEN_SECRET: 'local-demo-token-secret-not-for-production',
  ADMIN_SECRET: 'local-admin',
  WEBHOOK_SECRET: 'local-webhook-secret',
  // The demo shop's order API key, for the gifts brand's order lookup.
  ORDER_API_TOKEN: 'local-order-api-token',
};

const newer = (a, b) => fs.existsSync(b) && fs.statSync(b).mtimeMs >= fs.statSync(a).mtimeMs;

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: ROOT, stdio: opts.quiet ? 'pipe' : 'inherit', env: process.env });
}

/** The demo origin's port that config/brands/gifts.toml's order lookup URL names. */
export const DEFAULT_ORIGIN_PORT = 8790;

/**
 * The configuration directory for an origin on `originPort`: the shipped
 * `config/` itself on the default port, else a copy under `dir` whose gifts
 * lookup URL names that port (the client-rendered page's order API).
 */
export function configForOriginPort(originPort, dir) {
  const shipped = path.join(ROOT, 'config');
  if (originPort === DEFAULT_ORIGIN_PORT) return shipped;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(shipped, dir, { recursive: true });
  const gifts = path.join(dir, 'brands', 'gifts.toml');
  const from = `127.0.0.1:${DEFAULT_ORIGIN_PORT}/api/orders/`;
  const text = fs.readFileSync(gifts, 'utf8');
  if (!text.includes(from)) throw new Error(`${gifts}: the order lookup URL does not name ${from}`);
  fs.writeFileSync(gifts, text.replace(from, `127.0.0.1:${originPort}/api/orders/`));
  return dir;
}

/** Writes the demo data and builds each brand's tables under `dir`, unless already up to date. */
export function prepareData(dir, { quiet = false } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = path.join(dir, 'shop-orders.json');
  const sources = [path.join(ROOT, 'data', 'online-retail.csv.gz'), path.join(ROOT, 'scripts', 'lib', 'demo-data.mjs'), MODEL_BUILDER];
  if (!sources.every((s) => newer(s, stamp))) {
    run('node', [path.join(ROOT, 'scripts', 'lib', 'demo-data.mjs'), dir, MODEL_BUILDER], { quiet });
  }
  for (const brand of BRANDS) {
    const out = path.join(dir, `tables-${brand}`);
    if (newer(stamp, path.join(out, 'build.json')) && newer(MODEL_BUILDER, path.join(out, 'build.json'))) continue;
    run(MODEL_BUILDER, ['build', '--quiet', '--orders', path.join(dir, `${brand}-orders.csv`),
      '--catalog', path.join(dir, `${brand}-catalog.csv`), '--out', out], { quiet });
  }
}

/** Publishes both brands' tables and the configuration into local KV, and applies the D1 migrations. */
export async function publishLocal(dataDir, persistTo, { quiet = false, tables = true, configDir = path.join(ROOT, 'config') } = {}) {
  if (!tables) run(MODEL_BUILDER, ['publish', '--local', '--persist-to', persistTo, '--config', configDir], { quiet });
  for (const brand of tables ? BRANDS : []) {
    const args = ['publish', '--local', '--persist-to', persistTo, '--tables', path.join(dataDir, `tables-${brand}`)];
    if (brand === BRANDS[BRANDS.length - 1]) args.push('--config', configDir);
    run(MODEL_BUILDER, args, { quiet });
  }
  const d1 = await runWrangler(['d1', 'migrations', 'apply', 'upsell-events', '--local', '--persist-to', persistTo]);
  if (d1.code !== 0) throw new Error(`d1 migrations failed:\n${d1.stdout}\n${d1.stderr}`);
  await registerExperiments(configDir, persistTo, { quiet });
}

/**
 * Pre-registers the configuration's experiments in local D1. A real deployment
 * registers each experiment when it is deployed, before its start (scripts/deploy);
 * the demo's experiment started on a fixed date, so its registration is replayed
 * as of the day before the start recorded in config/experiments.lock.
 */
export async function registerExperiments(configDir, persistTo, { quiet = false } = {}) {
  const lock = path.join(configDir, 'experiments.lock');
  if (!fs.existsSync(lock)) return;
  const starts = Object.values(JSON.parse(fs.readFileSync(lock, 'utf8'))).map((e) => Date.parse(e.start));
  if (!starts.length) return;
  const at = new Date(Math.min(...starts) - 86_400_000).toISOString().slice(0, 19);
  const sql = path.join(persistTo, 'register-experiments.sql');
  run(MODEL_BUILDER, ['register-experiment', '--config', configDir, '--at', at, '--out', sql], { quiet });
  const r = await runWrangler(['d1', 'execute', 'upsell-events', '--local', '--persist-to', persistTo, '--file', sql, '--yes']);
  if (r.code !== 0) throw new Error(`registering experiments failed:\n${r.stdout}\n${r.stderr}`);
}

/** Starts the shop origin (serving the demo data) and the worker in front of it. */
export async function startStack({ dataDir, persistTo, port, originPort = 0, echo = false, logLevel, vars = {} }) {
  addRoute(shopRoutes(loadShop(dataDir)));
  const origin = await startOrigin(originPort);
  const worker = await startWorker({
    port, persistTo, echo, logLevel,
    vars: { ORIGIN_URL: origin.url, TRUST_COUNTRY_HEADER: 'true', ...LOCAL_SECRETS, ...vars },
  });
  return { origin, worker, stop: async () => { await worker.stop(); origin.server.close(); } };
}

/** Newest modification time (ms) of a file or of everything below a directory. */
function newest(p) {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

/**
 * Local KV/D1 state with both brands' tables, the configuration and the
 * experiments published, copied into `persistTo`. The published state is
 * kept under target/ and made again only when the tables, configuration,
 * migrations or the model builder change, so each test file starts from a
 * fresh copy without publishing again.
 */
export async function publishedState(dataDir, persistTo, { quiet = true } = {}) {
  const base = path.join(ROOT, 'target', 'e2e-state');
  const stamp = path.join(base, '.published');
  const inputs = [path.join(dataDir, 'tables-gifts'), path.join(dataDir, 'tables-homewares'),
    path.join(ROOT, 'config'), path.join(ROOT, 'migrations'), MODEL_BUILDER];
  if (!fs.existsSync(stamp) || inputs.some((p) => newest(p) > fs.statSync(stamp).mtimeMs)) {
    fs.rmSync(base, { recursive: true, force: true });
    await publishLocal(dataDir, base, { quiet });
    fs.writeFileSync(stamp, new Date().toISOString());
  }
  fs.rmSync(persistTo, { recursive: true, force: true });
  fs.cpSync(base, persistTo, { recursive: true });
}
