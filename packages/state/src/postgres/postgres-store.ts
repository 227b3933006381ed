import { type RunSource, readRun, resolveRunId } from '../run-store.js';
import type { StateStore } from '../store.js';
import { openDatabase } from './database.js';
import { readFindingsIn, recordFindingsIn } from './findings-rows.js';
import {
  createJournalIn,
  journalEndsIn,
  journalLocationIn,
  readJournalIn,
} from './journal-rows.js';
import {
  approvalRunsIn,
  claimRunIn,
  journalIdsIn,
  ledgerEntryIn,
  listRunsIn,
  liveRunsIn,
  readLedgerIn,
  recordRunEndIn,
  runsUsedIn,
} from './run-rows.js';
import { scheduleLogIn } from './schedule-rows.js';
import { LOCK_WAIT_MS } from './xact-lock.js';

export interface PostgresStoreOptions {
  /** libpq connection url; absent, the PG* environment variables (and ~/.pgpass) decide. */
  url?: string;
  /** The time a claim and a run end are recorded with (default the system clock). */
  clock?: () => Date;
  /**
   * How long a statement waits for a lock (a claim's advisory lock, a findings write's, a row or
   * table another session keeps locked) before STATE_DB_LOCKED (default 30 s).
   */
  lockWaitMs?: number;
}

/**
 * The PostgreSQL backend: one database a team shares (see README.md for its tables). Nothing
 * connects until the first call; the first call checks the schema version once, and refuses a
 * database `opsbook db migrate` has not brought to this opsbook's version.
 */
export function postgresStore(options: PostgresStoreOptions = {}): StateStore {
  const db = openDatabase(options.url, { lockWaitMs: options.lockWaitMs ?? LOCK_WAIT_MS });
  const clock = options.clock ?? (() => new Date());
  const source: RunSource = {
    journalIds: () => db.guard(() => journalIdsIn(db)),
    journalEnds: (runId) => db.guard(() => journalEndsIn(db, runId)),
    readJournal: (runId) => db.guard(() => readJournalIn(db, runId)),
    journalLocation: (runId) => journalLocationIn(db, runId),
    readLedger: () => db.guard(() => readLedgerIn(db)),
    ledgerEntry: (runId) => db.guard(() => ledgerEntryIn(db, runId)),
    runners: async (runIds) => ({
      live: await db.guard(() => liveRunsIn(db, runIds)),
      elsewhere: new Map(),
    }),
  };
  return {
    kind: 'postgres',
    location: db.target.location,
    ...source,
    claimRun: (claim) => db.guard(() => claimRunIn(db, claim, clock())),
    runsUsed: (approvalId) => db.guard(() => runsUsedIn(db, approvalId)),
    approvalRuns: (approvalId) => db.guard(() => approvalRunsIn(db, approvalId)),
    createJournal: (runId, journalOptions) =>
      db.guard(() => createJournalIn(db, runId, journalOptions, options.url)),
    recordRunEnd: (end) => db.guard(() => recordRunEndIn(db, end, clock())),
    listRuns: () => db.guard(() => listRunsIn(db)),
    readRun: (idOrPrefix, readOptions) => readRun(source, idOrPrefix, readOptions),
    resolveRunId: (idOrPrefix) => resolveRunId(source, idOrPrefix),
    recordFindings: (runId, run) => db.guard(() => recordFindingsIn(db, source, runId, run)),
    readFindings: (query) => db.guardEach(readFindingsIn(db, source, query)),
    ledgerDamage: () => [],
    schedules: scheduleLogIn(db, clock, options.url),
    close: () => db.close(),
  };
}
