import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flags a run sets as it starts (`tuneRunV8`) and, on many hosts, at its run-start
 * (`tuneFanOutV8`). scripts/bundle.mjs reads every `*_V8_FLAGS` line to put their defaults back
 * before it writes dist/run.js.cache: keep each one string literal.
 */
export const RUN_V8_FLAGS = '--heap-growing-percent=50';
export const FANOUT_V8_FLAGS = '--interrupt-budget=540672';

/** The fewest hosts of a run that `tuneFanOutV8` tunes V8 for. */
export const FANOUT_HOSTS = 10;

/**
 * Caps how far V8 lets the heap grow between full collections, for a run's process: the old
 * generation may grow to 1.5× what a full collection left alive. V8 sets the next collection's
 * limit to live × a factor of 1.1–4 that it derives from how fast the old generation grew just
 * before; a run allocates its inventory, plan and first connections in a burst, and a collection
 * that falls in that burst gets 4×: at 5,000 hosts the heap then grew to ~60–100 MB (from 16–26
 * MB alive) before the next one, 10–40 MB more peak memory. A steady fan-out gets ~1.5× anyway,
 * so there this costs no collections (BENCHMARKS.md, fan-out). The price is about one full
 * collection more while the heap grows at the start (~45 million instructions, callgrind).
 *
 * Called when the run command starts, after the CLI's code and ssh2 are loaded (V8 checks every
 * code cache, Node's own modules' included, against the flags: a module loaded after this call
 * is compiled from source) and before the approval is verified: that verification renders the
 * plan, and a collection in it, ~0.6 s into a 5,000-host run, set the limit too.
 */
export function tuneRunV8(): void {
  // Read by V8 each time it sets a limit; Node keeps V8's flags writable after start for this API.
  setFlagsFromString(RUN_V8_FLAGS);
}

/**
 * At the run-start of a run on `FANOUT_HOSTS` hosts or more, raises V8's interrupt budget 8×
 * (Node 20's default is 67,584): a function is optimized by TurboFan after 8× as much of its
 * bytecode has run. A fan-out runs hundreds of functions once or a few times per host, each just
 * hot enough for V8's default, and TurboFan compiled them on the second core while the hosts'
 * handshakes needed it: at 200 hosts ~0.13 s of TurboFan's CPU against the bare ssh2 loop's
 * ~0.07 s, for code that then ran a few more times (BENCHMARKS.md, fan-out). A run on fewer
 * hosts keeps the default: its time goes to a few functions run very often (a backup's stream,
 * where the raised budget cost a 512 MiB PostgreSQL backup ~15% more CPU), which TurboFan pays
 * back. Returns whether it raised it.
 */
export function tuneFanOutV8(hosts: number): boolean {
  if (hosts < FANOUT_HOSTS) return false;
  setFlagsFromString(FANOUT_V8_FLAGS);
  return true;
}
