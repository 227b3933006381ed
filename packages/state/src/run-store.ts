import { randomBytes } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, unreadableReason, ValidationError } from '@opsbook/schema';
import { isErrno, type JournalEvent, RUNS_DIR } from './journal.js';
import { journalEndsProblem } from './journal-ends.js';
import {
  type JournalExpectation,
  type JournalVerification,
  verifyJournalBytes,
} from './journal-verify.js';
import { entriesOf, type LedgerDamage, type LedgerEntry, type LedgerRecord } from './ledger.js';
import { unreadableJournalProblem } from './left-out-run.js';
import type { Runners } from './run-liveness.js';
import { type RunStatus, runStatuses } from './run-status.js';

/**
 * Runs as a state store holds them: journals, cross-checked with the ledger.
 *
 * A summary is read from a journal's first and last events, which the runner writes as
 *   run-start: {ticket, runbook: {name, version}, approval: {id}, hosts: string[]}
 *   run-end:   {status, hosts: {<host>: <outcome>}}
 * (flat `runbook`/`version`/`approvalId` strings and `hosts: {<outcome>: <count>}` are read too).
 * Listing checks only the two lines it reads, against their hashes and the ledger's record of the
 * run's end (journal-ends.ts); `readRun` verifies the whole chain.
 */

/** A run's state: how it ended, or why that is not known. */
export type RunState =
  | RunStatus
  /** No run-end, and its runner still runs (run-liveness.ts; PostgreSQL: its session lock). */
  | 'running'
  /**
   * No run-end and no runner known to run it: killed or crashed (`runs show` shows where it
   * stopped), or running on a machine that cannot be asked (a files store shared over NFS).
   */
  | 'incomplete'
  /** The journal's first line is not a run-start event. */
  | 'unreadable'
  /** The ledger recorded the run but its journal is gone. */
  | 'missing'
  /** Its journal does not verify, or disagrees with the ledger's record of its end (`problem`). */
  | 'tampered';

export interface HostCounts {
  /** Hosts named by run-start. */
  total: number;
  /** Hosts by outcome, from run-end; empty until the run has ended. */
  byOutcome: Record<string, number>;
}

export interface RunSummary {
  runId: string;
  status: RunState;
  ticket?: string;
  runbook?: string;
  version?: string;
  approvalId?: string;
  startedAt?: string;
  endedAt?: string;
  hosts: HostCounts;
  /** The hosts run-start names (what `runs list --host/--group` match). */
  hostNames?: string[];
  /** The run whose hosts that did not end ok this run retried (`run --retry-failed`). */
  retryOf?: string;
  /** Why the run is `tampered`: what of its journal disagrees (`opsbook journal verify` says all). */
  problem?: string;
  /**
   * An `incomplete` run whose runner's mark names another machine (a files store shared over
   * NFS): that machine, which this one cannot ask. The run may still be running there. A view
   * only: the mark is a file anyone who writes the store can write.
   */
  runnerHost?: string;
}

/** What `runs list` narrows the history to; every given criterion must hold. */
export interface RunFilter {
  ticket?: string | undefined;
  runbook?: string | undefined;
  status?: RunState | undefined;
  /** Runs that name at least one of these hosts. */
  hosts?: readonly string[] | undefined;
  /** Runs started at or after / before these times. */
  since?: Date | undefined;
  until?: Date | undefined;
}

/** The runs of `runs` the filter keeps, in the same order. */
export function filterRuns(runs: readonly RunSummary[], filter: RunFilter): RunSummary[] {
  const since = filter.since?.toISOString();
  const until = filter.until?.toISOString();
  const hosts = filter.hosts ? new Set(filter.hosts) : undefined;
  return runs.filter(
    (r) =>
      (filter.ticket === undefined || r.ticket === filter.ticket) &&
      (filter.runbook === undefined || r.runbook === filter.runbook) &&
      (filter.status === undefined || r.status === filter.status) &&
      (hosts === undefined || (r.hostNames ?? []).some((h) => hosts.has(h))) &&
      (since === undefined || (r.startedAt !== undefined && r.startedAt >= since)) &&
      (until === undefined || (r.startedAt !== undefined && r.startedAt < until)),
  );
}

export interface RunRecordView {
  runId: string;
  /** Where the journal is kept: its file, or the database and run. */
  location: string;
  summary: RunSummary;
  /** Hashes, chain and (when the run ended) the ledger's pinned head and count. */
  verification: JournalVerification;
  ledger?: LedgerEntry;
  /** The journal's bytes, as verified (what a ticket gets attached). */
  bytes: Buffer;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const RUN_FILE = /^([A-Za-z0-9][A-Za-z0-9_-]{0,127})\.jsonl$/;
// Large enough for a typical run-start line in one read; longer lines are read in more steps.
const CHUNK = 64 * 1024;

/** `YYYYMMDD-HHMMSS-xxxxxx` in UTC: ids sort by start time; 30 random bits keep them apart. */
export function newRunId(now: Date, random: (size: number) => Uint8Array = randomBytes): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const bytes = random(6);
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += BASE32[(bytes[i] ?? 0) & 31];
  return `${stamp}-${suffix}`;
}

/**
 * What the run views need of a store's backend: its run ids, the first and last lines of a
 * journal, a journal's bytes, and the ledger. The files and PostgreSQL backends each provide it.
 */
export interface RunSource {
  /** Ids of the runs that have a journal, in any order. */
  journalIds(): Promise<string[]>;
  /**
   * The first and the last complete line of a run's journal (text, not parsed), or why the
   * journal cannot be read at all (`it is a folder, not a file (EISDIR)`): one such journal
   * is a run listed as not verifying, never a listing that fails.
   */
  journalEnds(runId: string): Promise<{ first?: string; last?: string; unreadable?: string }>;
  /** A journal's bytes as JSONL, or undefined when the run has none. */
  readJournal(runId: string): Promise<Buffer | undefined>;
  /** Where a run's journal is kept, for messages. */
  journalLocation(runId: string): string;
  readLedger(): Promise<LedgerRecord[]>;
  /**
   * The ledger's entry of one run (undefined: the ledger has none), when the backend can look it
   * up alone (PostgreSQL: one row); absent, the whole ledger is read for it.
   */
  ledgerEntry?(runId: string): Promise<LedgerEntry | undefined>;
  /** The ledger lines the last `readLedger` read around (a read-only view's store only). */
  ledgerDamage?(): LedgerDamage[];
  /**
   * Of `runIds` (runs without a run-end): those whose runner still runs, and those whose runner
   * is on another machine, which this one cannot ask (the files store; the PostgreSQL store sees
   * every runner's session lock, and has none of those).
   */
  runners(runIds: readonly string[]): Promise<Runners>;
}

/** Every run, newest first, including runs the ledger knows whose journal is missing. */
export async function listRuns(source: RunSource): Promise<RunSummary[]> {
  const ids = await source.journalIds();
  const entries = entriesOf(await source.readLedger());
  const summaries: RunSummary[] = [];
  for (const runId of ids) {
    const { first, last, unreadable } = await source.journalEnds(runId);
    summaries.push(
      unreadable === undefined
        ? listedRun(runId, first, last, entries.get(runId))
        : unreadableRun(runId, entries.get(runId), source.journalLocation(runId), unreadable),
    );
  }
  const known = new Set(ids);
  for (const entry of entries.values()) {
    if (!known.has(entry.runId)) summaries.push(missingRun(entry));
  }
  await markRunning(source, summaries);
  return summaries.sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
}

/** A run's journal from the store, verified (against `expectation` when given). */
export async function verifyStoredJournal(
  source: RunSource,
  runId: string,
  expectation: JournalExpectation = {},
): Promise<JournalVerification> {
  const bytes = await source.readJournal(runId);
  if (bytes === undefined) {
    throw ValidationError.single(
      source.journalLocation(runId),
      `there is no journal of run ${runId} in this state store`,
      'journal-missing',
    );
  }
  return verifyJournalBytes(bytes, expectation);
}

/** How `readRun` takes the id it is given. */
export interface ReadRunOptions {
  /**
   * The id is a whole run id, never a prefix: only that run is looked up (its journal and its
   * ledger entry), not every run id and the whole ledger as resolving a prefix needs, so that the
   * cost does not grow with the history (`schedule list` reading the run a slot's row names).
   */
  exact?: boolean;
}

/** One run in full, verified. `idOrPrefix` may be any unique prefix of a run id. */
export async function readRun(
  source: RunSource,
  idOrPrefix: string,
  options: ReadRunOptions = {},
): Promise<RunRecordView> {
  const runId = options.exact ? idOrPrefix : await resolveRunId(source, idOrPrefix);
  const ledger = source.ledgerEntry
    ? await source.ledgerEntry(runId)
    : (await source.readLedger().then(entriesOf)).get(runId);
  const location = source.journalLocation(runId);
  const bytes = await source.readJournal(runId).catch((e: unknown) => {
    throw isErrno(e) ? unreadableJournalError(location, runId, e) : e;
  });
  if (bytes === undefined && ledger === undefined) {
    // Only an exact id comes here unresolved: no journal and no ledger entry is no run.
    throw new UsageError(`no run has the id ${JSON.stringify(runId)} in this state store`);
  }
  if (bytes === undefined) {
    throw ValidationError.single(
      location,
      `the journal of run ${runId} is missing, though the ledger recorded its start at ${ledger?.startedAt}: it was deleted or moved`,
      'journal-missing',
    );
  }
  const verification = verifyJournalBytes(bytes, {
    expectedHead: ledger?.expectedHead,
    expectedCount: ledger?.expectedCount,
  });
  if (!ledger) {
    // The runner records a run in the ledger before it creates the journal.
    verification.problems.unshift({
      line: 0,
      rule: 'not-in-ledger',
      message: `the ledger has no record of run ${runId}: this journal was not written by a run started with this state store, or the ledger was replaced`,
    });
    verification.ok = false;
  }
  const { events } = verification;
  const summary = summarizeRun(runId, events[0], events.at(-1), ledger);
  await markRunning(source, [summary]);
  return { runId, location, summary, verification, ...(ledger ? { ledger } : {}), bytes };
}

/**
 * Sets `running` on those of `summaries` without an end whose runner still runs, and
 * `runnerHost` on those whose runner is on a machine this one cannot ask.
 */
export async function markRunning(
  source: Pick<RunSource, 'runners'>,
  summaries: readonly RunSummary[],
): Promise<void> {
  const open = summaries.filter((s) => s.status === 'incomplete');
  if (open.length === 0) return;
  const { live, elsewhere } = await source.runners(open.map((s) => s.runId));
  for (const s of open) {
    if (live.has(s.runId)) s.status = 'running';
    else if (elsewhere.has(s.runId)) s.runnerHost = elsewhere.get(s.runId)!;
  }
}

/**
 * `run` when it is readRun's view of `runId`, which a caller that has already read the run passes
 * on (the runner at a run's end) so that its journal is not read and verified again; else
 * undefined, and the run is read.
 */
export function verifiedRun(
  run: RunRecordView | undefined,
  runId: string,
): RunRecordView | undefined {
  return run?.runId === runId ? run : undefined;
}

/** The full run id for a unique prefix; an unknown or ambiguous prefix is a usage error. */
export async function resolveRunId(source: RunSource, idOrPrefix: string): Promise<string> {
  const known = [
    ...new Set([...(await source.journalIds()), ...entriesOf(await source.readLedger()).keys()]),
  ].sort((a, b) => (a < b ? 1 : -1));
  if (known.includes(idOrPrefix)) return idOrPrefix;
  const matches = idOrPrefix === '' ? [] : known.filter((id) => id.startsWith(idOrPrefix));
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  const listed = (ids: string[]) => ids.slice(0, 10).join(', ') + (ids.length > 10 ? ', …' : '');
  const error =
    matches.length > 1
      ? new UsageError(
          `run id ${JSON.stringify(idOrPrefix)} matches ${matches.length} runs (${listed(matches)}): give more of the id`,
        )
      : new UsageError(
          `no run matches ${JSON.stringify(idOrPrefix)}` +
            (known.length > 0
              ? `; recent runs: ${listed(known)}`
              : ': no run has been recorded yet'),
        );
  error.details.candidates = matches.length > 1 ? matches : known.slice(0, 10);
  throw error;
}

/** Ids of the journals in `<stateDir>/runs/` (the files backend's `journalIds`). */
export async function journalIdsIn(stateDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path.join(stateDir, RUNS_DIR));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((name) => {
    const id = RUN_FILE.exec(name)?.[1];
    return id ? [id] : [];
  });
}

/** A summary from a run's first and last events; either may be missing or unparseable. */
export function summarizeRun(
  runId: string,
  first: unknown,
  last: unknown,
  ledger?: LedgerEntry,
): RunSummary {
  const start = asEvent(first);
  const end = asEvent(last);
  if (start?.type !== 'run-start') {
    // No complete line at all is a runner killed before its first fsync, not a damaged file.
    const status = first === undefined ? 'incomplete' : 'unreadable';
    return { ...missingRun({ ...ledger, runId } as LedgerEntry), status };
  }
  const isEnded = end?.type === 'run-end';
  const endStatus = runStatuses.find((s) => s === end?.status);
  const runbook = asRecord(start.runbook);
  return {
    runId,
    status: isEnded && endStatus ? endStatus : 'incomplete',
    ...definedText({
      ticket: start.ticket,
      runbook: runbook ? runbook.name : start.runbook,
      version: runbook ? runbook.version : start.version,
      approvalId: asRecord(start.approval)?.id ?? start.approvalId,
      startedAt: start.at,
      endedAt: isEnded ? end.at : undefined,
      retryOf: start.retryOf,
    }),
    hosts: {
      total: Array.isArray(start.hosts) ? start.hosts.length : 0,
      byOutcome: isEnded ? outcomeCounts(end.hosts) : {},
    },
    ...(Array.isArray(start.hosts)
      ? { hostNames: start.hosts.filter((h): h is string => typeof h === 'string') }
      : {}),
  };
}

/**
 * A run as listings show it, from its journal's first and last lines (text): its summary, or
 * `tampered` when those lines disagree with their hashes or the ledger (journal-ends.ts).
 */
export function listedRun(
  runId: string,
  first: string | undefined,
  last: string | undefined,
  ledger: LedgerEntry | undefined,
): RunSummary {
  const summary = summarizeRun(runId, first, last, ledger);
  // A first line that is no run-start says so already.
  if (summary.status === 'unreadable') return summary;
  const problem = journalEndsProblem(first, last, ledger);
  return problem === undefined ? summary : tamperedRun(summary, problem);
}

/**
 * The run as its journal's start names it (to be found), without what its end claims: how it
 * ended is what cannot be believed.
 */
function tamperedRun(summary: RunSummary, problem: string): RunSummary {
  const { endedAt: _unproven, hosts, ...start } = summary;
  return { ...start, status: 'tampered', hosts: { total: hosts.total, byOutcome: {} }, problem };
}

/**
 * A run whose journal cannot be read (a folder in its place, a link loop, no permission): listed
 * as `tampered`, as a journal that does not verify, with what the ledger knows of it.
 */
function unreadableRun(
  runId: string,
  ledger: LedgerEntry | undefined,
  location: string,
  reason: string,
): RunSummary {
  return {
    ...missingRun({ ...ledger, runId } as LedgerEntry),
    status: 'tampered',
    problem: unreadableJournalProblem(location, reason),
  };
}

/** `runs show` of a run whose journal cannot be read: which file, why, and what to do. */
function unreadableJournalError(location: string, runId: string, e: unknown): ValidationError {
  return ValidationError.single(
    location,
    `cannot read the journal of run ${runId}: ${unreadableReason(e)}: put its journal file back ` +
      `(from a backup), then check it with opsbook journal verify ${runId}`,
    'journal-unreadable',
  );
}

function missingRun(entry: LedgerEntry): RunSummary {
  return {
    runId: entry.runId,
    status: 'missing',
    ...definedText({
      ticket: entry.ticket,
      approvalId: entry.approvalId,
      startedAt: entry.startedAt,
    }),
    hosts: { total: 0, byOutcome: {} },
  };
}

function asEvent(value: unknown): JournalEvent | undefined {
  if (typeof value === 'string') {
    try {
      return asEvent(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  const record = asRecord(value);
  return typeof record?.type === 'string' ? (record as JournalEvent) : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function definedText(fields: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(fields).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** `{host: outcome}` is counted by outcome; `{outcome: count}` is taken as it is. */
function outcomeCounts(value: unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [key, v] of Object.entries(asRecord(value) ?? {})) {
    if (typeof v === 'string') counts[v] = (counts[v] ?? 0) + 1;
    else if (Number.isSafeInteger(v)) counts[key] = (counts[key] ?? 0) + (v as number);
  }
  return counts;
}

/**
 * The first line and the last complete line of a file, read from its two ends so that listing
 * many runs does not read every step's output. An unterminated final line (a write the runner
 * did not finish) is skipped.
 */
export async function readEndLines(file: string): Promise<{ first?: string; last?: string }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const read = async (from: number, length: number) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, from);
      return buffer.subarray(0, bytesRead);
    };
    let head = Buffer.alloc(0);
    for (let length = CHUNK; head.indexOf(0x0a) === -1 && head.length < size; length *= 2) {
      head = await read(0, Math.min(length, size));
    }
    const firstEnd = head.indexOf(0x0a);
    if (firstEnd === -1) return {};
    let tail = Buffer.alloc(0);
    let lastStart = -1;
    for (let length = CHUNK; lastStart === -1; length *= 2) {
      const from = Math.max(0, size - length);
      tail = await read(from, size - from);
      const end = tail.lastIndexOf(0x0a);
      const before = end <= 0 ? -1 : tail.lastIndexOf(0x0a, end - 1);
      if (before !== -1 || from === 0) lastStart = before + 1;
      if (lastStart !== -1) tail = tail.subarray(lastStart, end);
    }
    return { first: head.subarray(0, firstEnd).toString('utf8'), last: tail.toString('utf8') };
  } finally {
    await handle.close();
  }
}
