import { showControlsOnLine } from '@opsbook/schema';
import type { RunbookStats } from './runbook-stats.js';

/**
 * The statistics as Markdown for the review ticket: a headline, one table row per runbook
 * version, the most-failed steps, the runbooks nobody ran, and the runs left out. Cells are
 * escaped so a runbook or step name cannot break the table.
 */
export function renderStatsMarkdown(stats: RunbookStats): string {
  const days = Math.round(
    (Date.parse(stats.range.until) - Date.parse(stats.range.since)) / 86_400_000,
  );
  const out: string[] = [
    `## Runbook usage ${day(stats.range.since)} – ${day(stats.range.until)}`,
    '',
    headline(stats, days),
    '',
  ];
  if (stats.runbooks.length) {
    out.push(
      '| runbook | version | runs | failed | failure rate | p50 | p90 | max | rollbacks |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...stats.runbooks.map((r) =>
        row([
          r.runbook,
          r.version,
          String(r.runs),
          String(r.outcomes.failed),
          r.failureRate === null ? '–' : percent(r.failureRate),
          elapsed(r.durationMs?.p50),
          elapsed(r.durationMs?.p90),
          elapsed(r.durationMs?.max),
          r.rollbacks.runs
            ? `${r.rollbacks.runs} (${r.rollbacks.hosts} host${r.rollbacks.hosts === 1 ? '' : 's'})`
            : '0',
        ]),
      ),
      '',
    );
    const other = stats.runbooks.filter(
      (r) => r.outcomes.unreachable || r.outcomes.interrupted || r.outcomes.incomplete,
    );
    if (other.length)
      out.push(
        `Not counted as failed: ${other
          .map(
            (r) =>
              `${code(r.runbook)} ${r.version} ${[
                r.outcomes.unreachable && `${r.outcomes.unreachable} unreachable`,
                r.outcomes.interrupted && `${r.outcomes.interrupted} interrupted`,
                r.outcomes.incomplete && `${r.outcomes.incomplete} not ended`,
              ]
                .filter(Boolean)
                .join(', ')}`,
          )
          .join('; ')}.`,
        '',
      );
  }
  const failing = stats.runbooks.flatMap((r) => r.failedSteps.map((s) => ({ r, s })));
  if (failing.length) {
    out.push(
      '### Most-failed steps',
      '',
      '| runbook | version | step | failures | of which timeouts | runs |',
      '| --- | --- | --- | ---: | ---: | ---: |',
      ...failing
        .sort((a, b) => b.s.failures - a.s.failures || b.s.runs - a.s.runs)
        .slice(0, 10)
        .map(({ r, s }) =>
          row([
            r.runbook,
            r.version,
            `${s.phase}.${s.step}`,
            String(s.failures),
            String(s.timeouts),
            String(s.runs),
          ]),
        ),
      '',
    );
  }
  out.push(`### Not run since ${day(stats.idleSince)}`, '');
  if (stats.idle.length)
    for (const i of stats.idle)
      out.push(
        `- ${code(i.runbook)}: ${i.lastRunAt ? `last run ${day(i.lastRunAt)} (${ago(i.lastRunAt, stats.generatedAt)})` : 'never run'}`,
      );
  else out.push('Every runbook of the catalog ran since then.');
  out.push('');
  if (stats.leftOut.length) {
    out.push(
      `### Left out (${stats.leftOut.length})`,
      '',
      ...stats.leftOut.map((l) => `- run ${code(l.runId)}: ${cell(l.reason)}`),
      '',
    );
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function headline(stats: RunbookStats, days: number): string {
  const { runs, runbooks, failed, rolledBack } = stats.totals;
  if (runs === 0) return `No run in these ${days} days (${stats.store.kind} store).`;
  return `${runs} run${runs === 1 ? '' : 's'} of ${runbooks} runbook${runbooks === 1 ? '' : 's'} in ${days} days (${stats.store.kind} store): ${failed} failed, ${rolledBack} rolled back. Failure rate = failed ÷ ended runs; durations from run start to run end, nearest-rank percentiles.`;
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** A table cell: no line break, no pipe, no markup from names. */
function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);
}

// A runbook folder's name may hold a line break: written out (`\x0a`), it cannot end the item.
function code(text: string): string {
  return `\`${showControlsOnLine(text).replace(/`/g, "'")}\``;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10} %`;
}

function ago(iso: string, now: string): string {
  const d = Math.floor((Date.parse(now) - Date.parse(iso)) / 86_400_000);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** `850 ms`, `41 s`, `1 m 50 s`, `2 h 3 m`. */
export function elapsed(ms: number | undefined): string {
  if (ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} m`;
}
