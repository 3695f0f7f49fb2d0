// The checkout guard: the page's bytes go through the wasm page flow, but this
// JavaScript keeps every origin byte the flow has not yet sent, so that if the
// wasm instance dies mid-page (a Rust panic traps, and every Rust future of the
// instance stops) the shopper still gets the origin's bytes, unchanged, from
// exactly where the flow stopped: the page is never truncated or duplicated.
//
// Rust reads the origin through `guard.input` and writes the page to the
// stream passed to `guard.output`; before each chunk it yields, it reports how
// many origin bytes it has sent in total (`guard.forwarded(n)`), which is
// where the fallback resumes. `panicked()` (called by the panic hook, which
// runs before the trap, or through `outOfMemory()` by the allocator when an
// allocation fails) switches every live page of the instance over.

let generation = { dead: false, waiters: new Set() };

/** Called by the Rust panic hook: every page in flight falls back to the origin's bytes. */
export function panicked() {
  const dying = generation;
  generation = { dead: false, waiters: new Set() };
  dying.dead = true;
  for (const wake of dying.waiters) wake();
}

/**
 * Called by the Rust allocator when an allocation fails, just before the
 * instance aborts (which, unlike a panic, skips the panic hook).
 */
export function outOfMemory(bytes) {
  console.error(`upsell: wasm allocation of ${bytes} bytes failed; pages in flight fall back to the origin`);
  panicked();
}

export class PageGuard {
  /** `origin`: the origin response's body stream. */
  constructor(origin) {
    this.reader = origin.getReader();
    this.kept = []; // origin chunks not yet known to be sent: { start, bytes }
    this.read = 0; // origin bytes read so far
    this.sent = 0; // origin bytes the flow reported as sent
    this.inflight = null; // the input side's pending origin read, if any
    this.generation = generation;
    const guard = this;
    // highWaterMark 0: the origin is read only when the flow asks, so every
    // byte read is in `kept` before the flow can see it.
    this.input = new ReadableStream(
      {
        pull(controller) {
          // Kept first, in the read's own reaction, so the fallback (which
          // awaits the same read) never misses or repeats a chunk.
          const read = guard.reader.read().then((next) => {
            if (!next.done) {
              guard.kept.push({ start: guard.read, bytes: next.value });
              guard.read += next.value.byteLength;
            }
            return next;
          });
          guard.inflight = read;
          return read.then(
            (next) => {
              guard.inflight = null;
              if (next.done) controller.close();
              else controller.enqueue(next.value);
            },
            (e) => {
              guard.inflight = null;
              controller.error(e);
            },
          );
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** The flow has sent `n` origin bytes in all (called before each output chunk). */
  forwarded(n) {
    this.sent = n;
    while (this.kept.length && this.kept[0].start + this.kept[0].bytes.byteLength <= n) this.kept.shift();
  }

  /** Wraps the flow's output stream: the response body the shopper gets. */
  output(flowOutput) {
    const guard = this;
    const out = flowOutput.getReader();
    let fallback = false;
    return new ReadableStream({
      async pull(controller) {
        if (!fallback) {
          try {
            const next = await guard.race(out.read());
            if (next.done) {
              controller.close();
              return;
            }
            controller.enqueue(next.value);
            return;
          } catch (e) {
            fallback = true;
            console.error(`upsell: page flow failed mid-stream, origin bytes from offset ${guard.sent}: ${e}`);
            // A read the flow had started is the origin's next chunk; it
            // lands in `kept` when it completes.
            if (guard.inflight) await guard.inflight.catch(() => {});
            for (const { start, bytes } of guard.kept) {
              const skip = Math.max(0, guard.sent - start);
              if (skip < bytes.byteLength) controller.enqueue(bytes.subarray(skip));
            }
            guard.kept = [];
            return;
          }
        }
        const next = await guard.reader.read();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      cancel(reason) {
        return guard.reader.cancel(reason);
      },
    });
  }

  /** `promise`, or a rejection as soon as the instance panics. */
  race(promise) {
    const gen = this.generation;
    if (gen.dead) return Promise.reject(new Error('wasm instance panicked'));
    let wake;
    const died = new Promise((_, reject) => {
      wake = () => reject(new Error('wasm instance panicked'));
      gen.waiters.add(wake);
    });
    return Promise.race([promise, died]).finally(() => gen.waiters.delete(wake));
  }
}
