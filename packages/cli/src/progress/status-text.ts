import type { Style } from '../output.js';
import { showControls } from '../terminal-safe.js';
import { currentSteps, type RunTally, remainingMs, waitingCount } from './run-tally.js';

/** `m:ss` (or `h:mm:ss`) for a duration in ms. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * The live status block of a run at `now`: one line of host counts, elapsed time and ETA, then
 * one line per phase with hosts in a step, naming the steps (most hosts first). Lines are cut to
 * `columns` so that a redraw never wraps; runbook and host text shows its control characters.
 */
export function statusText(tally: RunTally, now: number, style: Style, columns: number): string {
  const runbook = tally.runbook ? `${showControls(tally.runbook)}: ` : '';
  // The counts matter more than the runbook's name when the terminal is narrow.
  const isNarrow = [...runbook].length + countsText(tally, now, (s) => s).length >= columns;
  const lines = [`${isNarrow ? '' : runbook}${countsText(tally, now, style.red)}`];
  for (const { phase, steps } of currentSteps(tally)) {
    const named = steps.map(
      (s) =>
        `${showControls(s.step)} "${showControls(s.name)}" on ${s.hosts} host${s.hosts === 1 ? '' : 's'}`,
    );
    lines.push(cut(`  ${phase}: ${named.join(', ')}`, columns));
  }
  return lines.join('\n');
}

/** Hosts done, failed, running and waiting of all, elapsed time and ETA, on one line. */
function countsText(tally: RunTally, now: number, red: (s: string) => string): string {
  const eta = remainingMs(tally, now);
  return [
    `${tally.ok}/${tally.hostCount} done`,
    tally.failed ? red(`${tally.failed} failed`) : '0 failed',
    `${tally.running.size} running`,
    `${waitingCount(tally)} waiting`,
    `elapsed ${formatClock(now - tally.startedAt)}`,
    ...(tally.isOver ? [] : [`ETA ${eta === undefined ? '—' : formatClock(eta)}`]),
  ].join(' · ');
}

/** `text` (no style codes in it) cut to fit `columns`, marked with an ellipsis. */
function cut(text: string, columns: number): string {
  const chars = [...text];
  return chars.length < columns ? text : `${chars.slice(0, Math.max(0, columns - 2)).join('')}…`;
}
