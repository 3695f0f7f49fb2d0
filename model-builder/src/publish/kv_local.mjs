// Local Workers KV through wrangler's own getPlatformProxy(): the same state
// `wrangler dev --persist-to DIR` and `wrangler kv ... --local --persist-to DIR`
// use, byte-exact for binary values, one process for a whole batch.
// Usage: node kv_local.mjs JOB.json  (written by model-builder's publish::wrangler)
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { getPlatformProxy } = await import(pathToFileURL(job.wrangler).href);
const { env, dispose } = await getPlatformProxy({ configPath: job.config, persist: { path: job.persist } });
const kv = env[job.binding];
if (!kv) throw new Error(`no KV binding ${job.binding} in ${job.config}`);
const out = { found: {}, list: [] };
try {
  for (const op of job.ops) {
    if (op.op === "put") {
      // A plain Uint8Array: the proxy's serializer rejects Node Buffers.
      await kv.put(op.key, new Uint8Array(readFileSync(op.path)));
    } else if (op.op === "get") {
      const v = await kv.get(op.key, "arrayBuffer");
      out.found[op.key] = v !== null;
      if (v !== null) writeFileSync(op.path, Buffer.from(v));
    } else if (op.op === "delete") {
      await kv.delete(op.key);
    } else if (op.op === "list" || op.op === "list_get") {
      let cursor;
      do {
        const r = await kv.list({ prefix: op.prefix, cursor });
        out.list.push(...r.keys.map((k) => k.name));
        cursor = r.list_complete ? undefined : r.cursor;
      } while (cursor);
      if (op.op === "list_get") {
        // Values of the listed keys (text), in the same batch.
        out.values = {};
        for (const name of out.list) out.values[name] = await kv.get(name, "text");
      }
    } else {
      throw new Error(`unknown op ${op.op}`);
    }
  }
} finally {
  await dispose();
}
writeFileSync(job.result, JSON.stringify(out));
