// Starts `wrangler dev --local` (workerd, local KV and D1) in its own process
// group and stops the whole group, so no workerd child outlives a test or demo.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');

/** Environment that keeps wrangler offline and quiet. */
export function wranglerEnv(extra = {}) {
  return { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_UPDATE_NOTIFIER: '1', FORCE_COLOR: '0', ...extra };
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitForPort(port, child, logs, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early (${child.exitCode}):\n${logs.join('')}`);
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/__upsell/health', agent: false }, (res) => {
        res.resume();
        res.on('end', () => r(res.statusCode === 200));
      });
      req.once('error', () => r(false));
      req.setTimeout(2000, () => req.destroy());
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`wrangler dev not ready on ${port} after ${timeoutMs} ms:\n${logs.join('')}`);
}

/**
 * Starts the built worker under `wrangler dev --local`.
 * opts: { vars: {NAME: value}, persistTo: dir, port, config, quiet }.
 * Resolves to { url, port, stop(), logs }.
 */
export async function startWorker(opts = {}) {
  const port = opts.port || await freePort();
  const inspector = await freePort();
  const args = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-port', String(inspector), '--config', opts.config || path.join(ROOT, 'wrangler.toml'),
    '--log-level', opts.logLevel || 'warn', '--show-interactive-dev-session=false'];
  if (opts.persistTo) args.push('--persist-to', opts.persistTo);
  for (const [k, v] of Object.entries(opts.vars || {})) args.push('--var', `${k}:${v}`);
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const keep = (d) => { logs.push(d.toString()); if (opts.echo) process.stderr.write(d); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    try { process.kill(-child.pid, 'SIGTERM'); } catch { return resolve(); }
    setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000).unref();
  });
  try {
    await waitForPort(port, child, logs, opts.timeoutMs || 60_000);
  } catch (e) { await stop(); throw e; }
  return { url: `http://127.0.0.1:${port}`, port, stop, logs };
}

/** Runs the wrangler CLI to completion; resolves to { code, stdout, stderr }. */
export function runWrangler(args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(WRANGLER, args, { cwd: ROOT, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
