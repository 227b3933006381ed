import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flags a run sets as it starts (`tuneRunV8`), and the interrupt budget it puts back on
 * few hosts or late in a long fan-out (`v8TuningForRun`). scripts/bundle.mjs reads every
 * `*_V8_FLAGS` line: it writes dist/run.js.cache with their defaults put back, and checks that
 * the interrupt budget the others put back is this Node's default. Keep each one string literal.
 */
export const RUN_V8_FLAGS = '--heap-growing-percent=50 --interrupt-budget=540672';
/** A run on fewer than FANOUT_HOSTS hosts, at its run-start: V8's budget, a roomier heap. */
export const FEW_HOSTS_V8_FLAGS = '--interrupt-budget=67584 --heap-growing-percent=600';
/** The interrupt budget back to V8's default: a fan-out, once FANOUT_RAISED_HOSTS hosts ended. */
export const LONG_FANOUT_V8_FLAGS = '--interrupt-budget=67584';

/** The fewest hosts of a run that keeps the raised interrupt budget after its run-start. */
export const FANOUT_HOSTS = 10;

/** After this many hosts have ended, a fan-out's interrupt budget goes back to V8's default. */
export const FANOUT_RAISED_HOSTS = 1_000;

/**
 * Tunes V8 for a run's process, two flags:
 *
 * - `--heap-growing-percent=50`: the old generation may grow to 1.5× what a full collection left
 *   alive. V8 sets the next collection's limit to live × a factor of 1.1–4 that it derives from
 *   how fast the old generation grew just before; a run allocates its inventory, plan and first
 *   connections in a burst, and a collection that falls in that burst gets 4×: at 5,000 hosts
 *   the heap then grew to ~60–100 MB (from 16–26 MB alive) before the next one, 10–40 MB more
 *   peak memory. A steady fan-out gets ~1.5× anyway, so there this costs no collections. The
 *   price is about one full collection more while the heap grows at the start (~45 million
 *   instructions, callgrind).
 * - `--interrupt-budget=540672`, 8× Node 20's default: a function is optimized by TurboFan after
 *   8× as much of its bytecode has run. A run's start, and a fan-out's hosts, run hundreds of
 *   functions once or a few times (per host), each just hot enough for V8's default, and
 *   TurboFan compiled them on the second core while the handshakes needed it: at 200 hosts ~0.13
 *   s of TurboFan's CPU against the bare ssh2 loop's ~0.07 s, for code that then ran a few more
 *   times (BENCHMARKS.md, fan-out). What is really hot is still optimized.
 *
 * Called when the run command starts, after the CLI's code and ssh2 are loaded (V8 checks every
 * code cache, Node's own modules' included, against the flags: a module loaded after this call
 * is compiled from source) and before the approval is verified: that verification renders the
 * plan, and a collection in it, ~0.6 s into a 5,000-host run, set the heap's limit too.
 */
export function tuneRunV8(): void {
  // Read by V8 each time it sets a limit; Node keeps V8's flags writable after start for this API.
  setFlagsFromString(RUN_V8_FLAGS);
}

/**
 * Retunes V8 when the flags a run started with stop paying:
 *
 * - at a run's run-start (`event` 'run-start'), on fewer than FANOUT_HOSTS hosts
 *   (FEW_HOSTS_V8_FLAGS). Such a run's time goes to a few functions run very often (a backup's
 *   stream), which TurboFan pays back: with the raised budget a 512 MiB PostgreSQL backup took
 *   ~15% more CPU. Its heap may grow to 7× what a full collection left alive, where the fan-out's
 *   cap is 1.5× and V8's own factor 1.1–4: a stream allocates its buffers by the hundred
 *   megabytes, and V8 counts the buffers made since its last full collection against the old
 *   generation's room. Once that room is smaller than the young generation (16 MB, grown so by
 *   the run's start), V8 starts marking at the next young collection: with 1.5× or V8's own
 *   factor, a 512 MiB file restore made it collect fully 19–28 times, ~0.2 s of CPU, 20% of the
 *   run's (BENCHMARKS.md, backups, 2026-12-06). With 5× it did so twice; 7× leaves a margin. A
 *   few hosts keep ~10 MB alive, so a larger limit costs little: the peak RSS of that restore
 *   was the same (~115 MB, the stream's buffers);
 * - the interrupt budget once FANOUT_RAISED_HOSTS hosts of a fan-out have ended ('host-end';
 *   LONG_FANOUT_V8_FLAGS). By then the per-host code has run a thousand times, and a longer
 *   fan-out's steady state is optimized as V8 decides: with the raised budget for the whole run,
 *   5,000 hosts took ~7% more client CPU than with the default (BENCHMARKS.md, fan-out,
 *   2026-12-06). The heap's 1.5× stays: that is where it keeps the peak down.
 *
 * Call it with every event of the run, in order; it sets flags once at most (`setFlags`: for
 * tests).
 */
export function v8TuningForRun(
  setFlags: (flags: string) => void = setFlagsFromString,
): (event: { type: string; hosts?: unknown }) => void {
  let ended = 0;
  let raised = true;
  const lower = (flags: string) => {
    raised = false;
    setFlags(flags);
  };
  return (event) => {
    if (!raised) return;
    const hosts = Array.isArray(event.hosts) ? event.hosts.length : 0;
    if (event.type === 'run-start' && hosts < FANOUT_HOSTS) lower(FEW_HOSTS_V8_FLAGS);
    else if (event.type === 'host-end' && ++ended >= FANOUT_RAISED_HOSTS)
      lower(LONG_FANOUT_V8_FLAGS);
  };
}
