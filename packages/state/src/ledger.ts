import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectory, syncDirectory, ValidationError } from '@opsbook/schema';
import { type ApprovalRun, approvalRunsIn, isRunUnused, usedRunIds } from './approval-use.js';
import { stateErrors } from './error-codes.js';
import { errorWithPath, readJournalFile } from './journal.js';
import { type LockOptions, withLockFile } from './lock-file.js';
import { type RunStatus, runStatuses } from './run-status.js';

/**
 * The run ledger: `<stateDir>/ledger.jsonl`, one record per started and per ended run. It is
 * what makes an approval's `maxRuns` hold (a used approval is refused, not replayed) and what a
 * journal is checked against when it is verified (its final hash and event count).
 */
export const LEDGER_FILE = 'ledger.jsonl';
export const LEDGER_LOCK = 'ledger.lock';

export interface RunRecord {
  type: 'run';
  approvalId: string;
  runId: string;
  ticket: string;
  at: string;
}

export interface RunEndRecord {
  type: 'run-end';
  runId: string;
  head: string;
  count: number;
  status: RunStatus;
  at: string;
  /**
   * `false` when the run's journal ended with no step started (no host reached): the run does
   * not use its approval (approval-use.ts, which checks the journal again whenever it counts).
   */
  reached?: boolean;
}

export type LedgerRecord = RunRecord | RunEndRecord;

/** What the ledger knows of one run; `expectedHead`/`expectedCount` feed `verifyJournal`. */
export interface LedgerEntry {
  runId: string;
  approvalId: string;
  ticket: string;
  startedAt: string;
  endedAt?: string;
  status?: RunStatus;
  expectedHead?: string;
  expectedCount?: number;
  /** `false`: its end was recorded as reaching no host (to be checked against the journal). */
  reached?: boolean;
}

export type { LockOptions };

export interface LedgerOptions {
  clock?: () => Date;
  lock?: LockOptions;
}

export interface RunClaim {
  approvalId: string;
  maxRuns: number;
  runId: string;
  ticket: string;
}

export interface RunEnd {
  runId: string;
  head: string;
  count: number;
  status: RunStatus;
}

/**
 * Counts the runs already made under `approvalId` and records this one, as one step under the
 * ledger lock, so that N concurrent runners of a `maxRuns: 1` approval start exactly one run.
 * Throws RefusalError RUNS_EXHAUSTED when the approval's runs are used up.
 */
export async function consumeRun(
  stateDir: string,
  claim: RunClaim,
  options: LedgerOptions = {},
): Promise<{ runsUsed: number }> {
  const file = ledgerPath(stateDir);
  checkClaim(file, claim);
  return withLedgerLock(stateDir, options.lock, async () => {
    const ledger = await readLedgerFile(file);
    if (ledger.records.some((r) => r.runId === claim.runId && r.type === 'run')) {
      throw ValidationError.single(
        file,
        `run ${claim.runId} is already in the ledger: every run needs a new run id`,
        'duplicate-run-id',
      );
    }
    const earlier = usedRunIds(await runsOfApproval(stateDir, ledger.records, claim.approvalId));
    if (earlier.length >= claim.maxRuns) throw runsExhausted(claim, earlier);
    const record: RunRecord = {
      type: 'run',
      approvalId: claim.approvalId,
      runId: claim.runId,
      ticket: claim.ticket,
      at: (options.clock ?? (() => new Date()))().toISOString(),
    };
    await appendRecord(file, ledger, record);
    return { runsUsed: earlier.length + 1 };
  });
}

/**
 * Records how a run ended: the journal's last hash and event count, which pin it from now on,
 * and `reached: false` when that journal shows no step started (the run used no approval).
 */
export async function recordRunEnd(
  stateDir: string,
  end: RunEnd,
  options: LedgerOptions = {},
): Promise<void> {
  const file = ledgerPath(stateDir);
  checkRunEnd(file, end);
  await withLedgerLock(stateDir, options.lock, async () => {
    const ledger = await readLedgerFile(file);
    const known = ledger.records.filter((r) => r.runId === end.runId);
    if (!known.some((r) => r.type === 'run')) {
      throw ValidationError.single(
        file,
        `run ${end.runId} never started: the ledger has no record of it`,
        'unknown-run',
      );
    }
    // The first run-end is final: a second one could re-pin a regenerated journal.
    if (known.some((r) => r.type === 'run-end')) {
      throw ValidationError.single(
        file,
        `run ${end.runId} already has its end recorded`,
        'run-already-ended',
      );
    }
    const at = (options.clock ?? (() => new Date()))().toISOString();
    // An ok run ran its steps: only another end can have touched nothing.
    const isUnused =
      end.status !== 'ok' &&
      isRunUnused(await readJournalFile(stateDir, end.runId), {
        expectedHead: end.head,
        expectedCount: end.count,
      });
    await appendRecord(file, ledger, {
      type: 'run-end',
      ...pick(end),
      at,
      ...(isUnused ? { reached: false } : {}),
    });
  });
}

function pick({ runId, head, count, status }: RunEnd): Omit<RunEndRecord, 'type' | 'at'> {
  return { runId, head, count, status };
}

/** How many runs of an approval count against its `maxRuns` (approval-use.ts). */
export async function runsUsed(stateDir: string, approvalId: string): Promise<number> {
  return usedRunIds(await approvalRuns(stateDir, approvalId)).length;
}

/** Every run claimed under an approval, in claim order, and whether it used the approval. */
export async function approvalRuns(stateDir: string, approvalId: string): Promise<ApprovalRun[]> {
  const { records } = await readLedgerFile(ledgerPath(stateDir));
  return runsOfApproval(stateDir, records, approvalId);
}

function runsOfApproval(
  stateDir: string,
  records: readonly LedgerRecord[],
  approvalId: string,
): Promise<ApprovalRun[]> {
  return approvalRunsIn(entriesOf(records).values(), approvalId, (runId) =>
    readJournalFile(stateDir, runId),
  );
}

/** Every record, oldest first. A missing ledger is an empty one. */
export async function readLedger(stateDir: string): Promise<LedgerRecord[]> {
  return (await readLedgerFile(ledgerPath(stateDir))).records;
}

/** A ledger line that is not a run or run-end record, as a read-only view skips it. */
export interface LedgerDamage {
  file: string;
  line: number;
  message: string;
}

/**
 * Every record that can be read, and the lines that cannot, for read-only views only (runs list,
 * runs show, reports): they show what they can and name the damage. Whatever claims a run, counts
 * an approval's runs or records an end reads the ledger whole (readLedger), and refuses.
 */
export async function readLedgerAround(
  stateDir: string,
): Promise<{ records: LedgerRecord[]; damaged: LedgerDamage[] }> {
  const damaged: LedgerDamage[] = [];
  const { records } = await readLedgerFile(ledgerPath(stateDir), damaged);
  return { records, damaged };
}

/** What the ledger recorded about one run, or undefined when it has no record of it. */
export async function ledgerEntryOf(
  stateDir: string,
  runId: string,
): Promise<LedgerEntry | undefined> {
  return entriesOf(await readLedger(stateDir)).get(runId);
}

/** Folds the records into one entry per run id; the first start and the first end count. */
export function entriesOf(records: readonly LedgerRecord[]): Map<string, LedgerEntry> {
  const entries = new Map<string, LedgerEntry>();
  for (const r of records) {
    const entry = entries.get(r.runId);
    if (r.type === 'run' && !entry) {
      entries.set(r.runId, {
        runId: r.runId,
        approvalId: r.approvalId,
        ticket: r.ticket,
        startedAt: r.at,
      });
    } else if (r.type === 'run-end' && entry && entry.endedAt === undefined) {
      Object.assign(entry, {
        endedAt: r.at,
        status: r.status,
        expectedHead: r.head,
        expectedCount: r.count,
        ...(r.reached === false ? { reached: false } : {}),
      });
    }
  }
  return entries;
}

export function ledgerPath(stateDir: string): string {
  return path.join(stateDir, LEDGER_FILE);
}

/** The refusal of a claim past the approval's `maxRuns`, naming the runs already made. */
export function runsExhausted(claim: RunClaim, runIds: readonly string[]) {
  return new stateErrors.RefusalError(
    'RUNS_EXHAUSTED',
    `approval ${claim.approvalId} allows ${claim.maxRuns} run(s) and ${runIds.length} already ` +
      `started (${runIds.join(', ')}): ask a senior for a new approval`,
    { approvalId: claim.approvalId, maxRuns: claim.maxRuns, runIds: [...runIds] },
  );
}

export function checkRunEnd(where: string, end: RunEnd): void {
  if (!runStatuses.includes(end.status) || !Number.isSafeInteger(end.count) || end.count < 0) {
    throw ValidationError.single(where, `bad run-end for run ${end.runId}`, 'bad-run-end');
  }
}

export function checkClaim(file: string, claim: RunClaim): void {
  const missing = (['approvalId', 'runId', 'ticket'] as const).filter(
    (k) => typeof claim[k] !== 'string' || claim[k] === '',
  );
  if (missing.length > 0 || !Number.isSafeInteger(claim.maxRuns) || claim.maxRuns < 1) {
    const what =
      missing.length > 0
        ? `${missing.join(', ')} missing`
        : `maxRuns ${claim.maxRuns} is not a positive integer`;
    throw ValidationError.single(file, `cannot record a run: ${what}`, 'bad-run-claim');
  }
}

interface LedgerFile {
  records: LedgerRecord[];
  size: number;
  /** Bytes up to the last complete line; beyond it lies a write that a crash cut short. */
  cleanLength: number;
}

/** `damaged`, when given, gets the lines that are not records instead of a refusal. */
async function readLedgerFile(file: string, damaged?: LedgerDamage[]): Promise<LedgerFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { records: [], size: 0, cleanLength: 0 };
    throw errorWithPath(e, file);
  }
  const cleanLength = bytes.lastIndexOf(0x0a) + 1;
  const lines = bytes.subarray(0, cleanLength).toString('utf8').split('\n').slice(0, -1);
  const records: LedgerRecord[] = [];
  for (const [i, text] of lines.entries()) {
    const record = parseRecord(file, text, i + 1, damaged);
    if (record) records.push(record);
  }
  return { records, size: bytes.length, cleanLength };
}

export const DAMAGED_LEDGER_LINE =
  'this ledger line is not a run or run-end record: restore the ledger from a backup; runs cannot be counted around it';

// A ledger line that cannot be read stops everything that counts or writes: counting around it
// could let a used approval run again. Only a read-only view (`damaged`) reads around it.
function parseRecord(
  file: string,
  text: string,
  line: number,
  damaged?: LedgerDamage[],
): LedgerRecord | undefined {
  let value: Record<string, unknown> | undefined;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported below
  }
  const isString = (k: string) => typeof value?.[k] === 'string' && value[k] !== '';
  const isRun = value?.type === 'run' && ['approvalId', 'runId', 'ticket', 'at'].every(isString);
  const isEnd =
    value?.type === 'run-end' &&
    ['runId', 'head', 'at'].every(isString) &&
    Number.isSafeInteger(value.count) &&
    runStatuses.includes(value.status as RunStatus) &&
    (value.reached === undefined || typeof value.reached === 'boolean');
  if (!isRun && !isEnd) {
    if (damaged) {
      damaged.push({ file, line, message: DAMAGED_LEDGER_LINE });
      return undefined;
    }
    throw ValidationError.single(file, DAMAGED_LEDGER_LINE, 'bad-ledger-line', line, 1);
  }
  return value as unknown as LedgerRecord;
}

async function appendRecord(file: string, ledger: LedgerFile, record: LedgerRecord): Promise<void> {
  const handle = await open(file, 'a', 0o600);
  try {
    // Under the lock, bytes past the last newline are the remains of a writer that died
    // mid-append (its run never started); the new record must start on a line of its own.
    if (ledger.cleanLength < ledger.size) await handle.truncate(ledger.cleanLength);
    await handle.appendFile(`${JSON.stringify(record)}\n`, 'utf8');
    // The record, and for a new ledger its name in the folder, are durable before this returns
    // (before the run touches a host): both fsyncs at once, one wait for the disk.
    await Promise.all([
      handle.sync(),
      ledger.size === 0 ? syncDirectory(path.dirname(file)) : undefined,
    ]);
  } finally {
    await handle.close();
  }
}

/** Runs `work` holding `<stateDir>/ledger.lock`, a file created with O_EXCL holding our PID. */
export async function withLedgerLock<T>(
  stateDir: string,
  options: LockOptions = {},
  work: () => Promise<T>,
): Promise<T> {
  await makeDirectory(stateDir, { mode: 0o700 });
  const lock = path.join(stateDir, LEDGER_LOCK);
  return withLockFile(
    lock,
    options,
    work,
    (holder) =>
      new stateErrors.WorkFailedError(
        'LEDGER_LOCKED',
        `the run ledger is locked by ${holder === undefined ? 'an unknown process' : `process ${holder}`} ` +
          `(${lock}); wait for the other opsbook run to finish, or delete the lock file if none is running`,
        { lock, holder },
      ),
  );
}
