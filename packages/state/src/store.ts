import { unreadableReason } from '@opsbook/schema';
import type { ApprovalRun } from './approval-use.js';
import type { FindingsQuery, RunFindings } from './findings.js';
import { readFindingsIn, recordFindingsIn } from './findings-files.js';
import { isErrno, Journal, type JournalOptions, journalPath, readJournalFile } from './journal.js';
import {
  approvalRuns,
  consumeRun,
  type LedgerDamage,
  type LedgerOptions,
  type LedgerRecord,
  type RunClaim,
  type RunEnd,
  readLedger,
  readLedgerAround,
  recordRunEnd,
  runsUsed,
} from './ledger.js';
import { runnersIn } from './run-liveness.js';
import {
  journalIdsIn,
  listRuns,
  type ReadRunOptions,
  type RunRecordView,
  type RunSource,
  type RunSummary,
  readEndLines,
  readRun,
  resolveRunId,
} from './run-store.js';
import type { ScheduleLog } from './schedule-log.js';

/**
 * Where a team's runs live: each run's claim on its approval (what makes `maxRuns` hold), its
 * hash-chained journal, and how it ended. Two backends keep the same promises:
 *
 * - `files`: `<stateDir>/ledger.jsonl` and `<stateDir>/runs/<id>.jsonl`, the embedded default
 *   (one engineer, one machine; needs nothing else);
 * - `postgres`: one database the whole team shares, so single use holds across machines and
 *   every run is in one history.
 */
export interface StateStore extends RunSource {
  readonly kind: 'files' | 'postgres';
  /** Where the state is, for messages: the state dir, or the database (never its password). */
  readonly location: string;
  /**
   * Counts the runs already made under the approval and records this one, as one atomic step:
   * N concurrent claims of a `maxRuns: 1` approval start exactly one run. Throws RefusalError
   * RUNS_EXHAUSTED when the approval's runs are used up.
   */
  claimRun(claim: RunClaim): Promise<{ runsUsed: number }>;
  /**
   * How many runs count against the approval's `maxRuns`: every run claimed under it but those
   * whose journal ended with no step started (no host reached; approval-use.ts).
   */
  runsUsed(approvalId: string): Promise<number>;
  /** Every run claimed under the approval, in claim order, and whether it used the approval. */
  approvalRuns(approvalId: string): Promise<ApprovalRun[]>;
  /** Starts the journal of a claimed run; refuses a run id that already has one. */
  createJournal(runId: string, options?: JournalOptions): Promise<Journal>;
  /**
   * Records how a run ended: the journal's last hash and count pin it from now on. A journal
   * that ended with no step started frees the run's claim, in the same step.
   */
  recordRunEnd(end: RunEnd): Promise<void>;
  listRuns(): Promise<RunSummary[]>;
  /**
   * One run in full, its journal verified against what the store pinned at its end. `exact`:
   * the id is whole, and only that run is looked up (no prefix resolved over every run).
   */
  readRun(idOrPrefix: string, options?: ReadRunOptions): Promise<RunRecordView>;
  resolveRunId(idOrPrefix: string): Promise<string>;
  /** The scheduler's schedules and slots: the PostgreSQL store only (see `opsbook schedule`). */
  readonly schedules?: ScheduleLog;
  /**
   * Derives an ended run's findings (inspection findings, facts, host outcomes) from its
   * verified journal and keeps them for reports; refuses a journal that does not verify.
   * Idempotent. The runner calls it once the run's end is recorded. `run`: what this store's
   * `readRun(runId)` returned, when the caller has it (the runner reads and verifies a run's
   * journal once at its end, for the findings and the ticket), instead of reading it again.
   */
  recordFindings(runId: string, run?: RunRecordView): Promise<RunFindings>;
  /**
   * The findings of every run in [since, until] (of `hosts`), in run id order, each run with
   * only its rows in range. A run whose findings were not recorded (older, still running, or
   * a summary older than its journal) is read from its journal, and recorded once ended.
   */
  readFindings(query: FindingsQuery): AsyncIterable<RunFindings>;
  /**
   * The ledger lines a read-only view read around (`stateViewOf`): always empty for a store that
   * refuses them, and for PostgreSQL, whose rows cannot be half written.
   */
  ledgerDamage(): LedgerDamage[];
  close(): Promise<void>;
}

export interface FilesStoreOptions extends LedgerOptions {
  /**
   * Read-only views only (runs list, runs show, reports): the runs' views read the ledger around
   * a damaged line and name it in `ledgerDamage()` (readFindings reads the ledger for that even
   * when every run's findings are kept). Claims, run counts and ends still refuse it.
   */
  readsAroundDamage?: boolean;
}

/** The files backend over `stateDir`: today's `.opsbook/` folder. */
export function filesStore(stateDir: string, options: FilesStoreOptions = {}): StateStore {
  let damage: LedgerDamage[] = [];
  const readViewLedger = async () => {
    const { records, damaged } = await readLedgerAround(stateDir);
    damage = damaged;
    return records;
  };
  const source: RunSource = {
    journalIds: () => journalIdsIn(stateDir),
    journalEnds: async (runId) => {
      try {
        return await readEndLines(journalPath(stateDir, runId));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
        if (isErrno(e)) return { unreadable: unreadableReason(e) };
        throw e;
      }
    },
    readJournal: (runId) => readJournalFile(stateDir, runId),
    journalLocation: (runId) => journalPath(stateDir, runId),
    readLedger: options.readsAroundDamage ? readViewLedger : () => readLedger(stateDir),
    ledgerDamage: () => [...damage],
    runners: (runIds) => runnersIn(runIds, (runId) => journalPath(stateDir, runId)),
  };
  return {
    kind: 'files',
    location: stateDir,
    ...source,
    claimRun: (claim) => consumeRun(stateDir, claim, options),
    runsUsed: (approvalId) => runsUsed(stateDir, approvalId),
    approvalRuns: (approvalId) => approvalRuns(stateDir, approvalId),
    createJournal: (runId, journalOptions) => Journal.create(stateDir, runId, journalOptions),
    recordRunEnd: (end) => recordRunEnd(stateDir, end, options),
    listRuns: () => listRuns(source),
    readRun: (idOrPrefix, readOptions) => readRun(source, idOrPrefix, readOptions),
    resolveRunId: (idOrPrefix) => resolveRunId(source, idOrPrefix),
    recordFindings: (runId, run) => recordFindingsIn(stateDir, source, runId, run),
    readFindings: (query) => readFindingsIn(stateDir, source, query, options),
    ledgerDamage: () => [...damage],
    close: async () => {},
  };
}

export type { LedgerRecord };
