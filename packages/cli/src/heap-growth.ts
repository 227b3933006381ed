import { setFlagsFromString } from 'node:v8';

/** A run lets the old generation grow to 1.5× what a full collection left alive. */
export const RUN_HEAP_FLAGS = '--heap-growing-percent=50';

/**
 * Caps how far V8 lets the heap grow between full collections, for a run's process. V8 sets the
 * next collection's limit to live × a factor of 1.1–4 that it derives from how fast the old
 * generation grew just before; a run allocates its inventory, plan and first connections in a
 * burst, and a collection that falls in that burst gets 4×: at 5,000 hosts the heap then grew to
 * ~60–100 MB (from 16–26 MB alive) before the next one, 10–40 MB more peak memory. A steady
 * fan-out gets ~1.5× anyway, so there this costs no collections (BENCHMARKS.md, fan-out).
 * Called when the run command starts, after the CLI's code and ssh2 are loaded (V8 checks every
 * code cache, Node's own modules' included, against the flags: a module loaded after this call
 * is compiled from source) and before the approval is verified: that verification renders the plan,
 * and a collection in it, ~0.6 s into a 5,000-host run, set the limit too. The price is about one
 * full collection more while the heap grows at the start (~45 million instructions, callgrind).
 */
export function capRunHeapGrowth(): void {
  // Read by V8 each time it sets a limit; Node keeps V8's flags writable after start for this API.
  setFlagsFromString(RUN_HEAP_FLAGS);
}
