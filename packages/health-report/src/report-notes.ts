import type { HealthReport } from './report-schema.js';

const LISTED = 10;

/**
 * The plain sentences a reader needs where the numbers are silent: no history at all, hosts
 * that never answered, checks that measured nothing, journals that could not be read, runs left
 * out because their journal does not verify.
 */
export function describeNotes(report: HealthReport): string[] {
  const notes: string[] = [];
  const { since, until } = report.range;
  if (report.days.length === 0) {
    notes.push(
      `No inspection results between ${since} and ${until}: there is nothing to score. Run the daily inspection, or widen the range (--since).`,
    );
  } else if (report.days.length === 1) {
    notes.push(`Only one day (${report.days[0]}) has inspection results: there is no trend yet.`);
  }
  const { scope } = report;
  if (scope.leftOut.length > 0) {
    notes.push(
      `${count(scope.leftOut.length, 'host')} with results in this range ${scope.leftOut.length === 1 ? 'is' : 'are'} left out, not being in ${scope.selection ?? 'the hosts asked for'}: ${listSome(scope.leftOut)}.`,
    );
  }
  if (scope.noRuns.length > 0) {
    notes.push(
      `${count(scope.noRuns.length, 'host')} of ${scope.selection ?? 'the hosts asked for'} ${scope.noRuns.length === 1 ? 'was' : 'were'} in no run in this range, so ${scope.noRuns.length === 1 ? 'it is' : 'they are'} not scored: ${listSome(scope.noRuns)}.`,
    );
  }
  const silent = report.hosts.filter((h) => h.state === 'unreachable').map((h) => h.host);
  if (silent.length > 0) {
    notes.push(
      `${count(silent.length, 'host')} never answered in this range and ${silent.length === 1 ? 'has' : 'have'} no score: ${listSome(silent)}.`,
    );
  }
  const noData = report.hosts.filter((h) => h.state === 'no-data').map((h) => h.host);
  if (noData.length > 0) {
    notes.push(
      `${count(noData.length, 'host')} answered but ran no inspection in this range: ${listSome(noData)}.`,
    );
  }
  const lost = report.hosts
    .filter((h) => h.state === 'reporting' && !h.answeredLastRun)
    .map((h) => h.host);
  if (lost.length > 0) {
    notes.push(
      `${count(lost.length, 'host')} did not answer the latest run; ${lost.length === 1 ? 'its score is' : 'their scores are'} from older results: ${listSome(lost)}.`,
    );
  }
  if (report.unknownOnly.length > 0) {
    const what = report.unknownOnly.map(
      (u) => `${u.check}${u.subject ? ` (${u.subject})` : ''} on ${u.host}`,
    );
    notes.push(
      `${count(what.length, 'check')} reported only "unknown" in this range, so nothing was measured: ${listSome(what)}.`,
    );
  }
  if (report.days.length > 0 && report.changes.baseline === null) {
    notes.push(
      'There is no earlier state to compare with: "what changed" starts with the next report.',
    );
  }
  const leftOutRuns = report.leftOutRuns ?? [];
  // Worded as the catalog and stats name the runs they leave out.
  for (const l of leftOutRuns.slice(0, LISTED)) notes.push(`run ${l.runId} left out: ${l.reason}.`);
  if (leftOutRuns.length > LISTED) {
    notes.push(
      `${count(leftOutRuns.length - LISTED, 'more run')} left out, their journals not verifying (see leftOutRuns in the JSON report).`,
    );
  }
  if (report.problems.length > 0) {
    const files = new Set(report.problems.map((p) => p.file)).size;
    notes.push(
      `${count(files, 'journal file')} could not be read in full; the unreadable parts were skipped (see problems). Run opsbook journal verify.`,
    );
  }
  return notes;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function listSome(items: readonly string[]): string {
  const shown = items.slice(0, LISTED).join(', ');
  return items.length > LISTED ? `${shown} and ${items.length - LISTED} more` : shown;
}
