import { GENESIS_HASH, hashOfLine, type JournalLine } from './journal.js';
import type { LedgerEntry } from './ledger.js';

/**
 * Why a journal, judged by its first and last lines only, cannot be shown as the run the ledger
 * recorded; undefined when nothing there disagrees. What `runs list` can check without reading
 * the journal whole (a month of a 1,000-host fleet is 290 MB; BENCHMARKS.md): each line's hash
 * matches its bytes, the first starts the chain, and, once the ledger recorded the run's end, the
 * last is the event it pinned (hash, seq = event count) with the status it recorded. An edit
 * between the two ends that leaves both intact is found by `opsbook journal verify` (the whole
 * chain), which stats, report and catalog run on every journal they read.
 */
export function journalEndsProblem(
  first: string | undefined,
  last: string | undefined,
  ledger: LedgerEntry | undefined,
): string | undefined {
  // The runner claims a run in the ledger before it creates the journal.
  if (!ledger) return 'the ledger has no record of this run';
  if (first === undefined || last === undefined) {
    return ledger.expectedCount === undefined
      ? undefined
      : `the ledger recorded ${ledger.expectedCount} events at its end, but the journal holds none`;
  }
  const start = lineProblem(first, 'first');
  if (typeof start === 'string') return start;
  if (start.seq !== 1 || start.prev !== GENESIS_HASH)
    return 'its first event does not start the chain: events before it were dropped';
  const end = last === first ? start : lineProblem(last, 'last');
  if (typeof end === 'string') return end;
  if (ledger.expectedHead === undefined) return undefined;
  if (end.hash !== ledger.expectedHead || end.seq !== ledger.expectedCount)
    return `its last event (seq ${end.seq}) is not the one the ledger recorded at the run's end (seq ${ledger.expectedCount}): the journal was cut, added to or rewritten`;
  if (end.type === 'run-end' && end.status !== ledger.status)
    return `its run-end says ${JSON.stringify(end.status)}, the ledger recorded ${JSON.stringify(ledger.status)}`;
  return undefined;
}

/** The line's event when its hash matches its bytes; else why not. */
function lineProblem(text: string, which: 'first' | 'last'): JournalLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `its ${which} line is not a journal event`;
  }
  const event = value as JournalLine;
  if (event === null || typeof event !== 'object' || typeof event.hash !== 'string')
    return `its ${which} line is not a journal event`;
  if (hashOfLine(event) !== event.hash)
    return `its ${which} event (seq ${event.seq}) was edited: its content does not match its hash`;
  if (JSON.stringify(event) !== text)
    return `its ${which} event (seq ${event.seq}) was rewritten: its bytes differ from what the journal writes`;
  return event;
}
