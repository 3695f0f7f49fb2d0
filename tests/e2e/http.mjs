// Raw HTTP helper for the end-to-end tests: exact bytes, status and headers,
// no redirect following and no decompression, framed by Content-Length or
// chunked encoding (workerd keeps connections open, so never read to EOF).
import http from 'node:http';

/** Sends one request; resolves to { status, headers, body: Buffer }. */
export function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
