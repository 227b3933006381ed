import { ValidationError } from '@opsbook/schema';
import type { ApprovalRun } from '../approval-use.js';
import {
  checkClaim,
  checkRunEnd,
  type LedgerEntry,
  type LedgerRecord,
  type RunClaim,
  type RunEnd,
  runsExhausted,
} from '../ledger.js';
import type { RunStatus } from '../run-status.js';
import { listedRun, markRunning, type RunSummary, summarizeRun } from '../run-store.js';
import { retryWhileDown } from './connection.js';
import type { Database } from './database.js';
import { HELD_LEASES_CTE, runLeaseHeldSql } from './run-leases.js';

/** opsbook_runs: what the files store keeps in its ledger, one row per run. */
interface RunRow {
  run_id: string;
  approval_id: string;
  ticket: string;
  started_at: Date;
  journal_started_at: Date | null;
  ended_at: Date | null;
  status: RunStatus | null;
  head: string | null;
  event_count: number | null;
  reached: boolean | null;
}

const RUN_COLUMNS =
  'run_id, approval_id, ticket, started_at, journal_started_at, ended_at, status, head, event_count, reached';
const UNIQUE_VIOLATION = '23505';

/**
 * Claims a run of an approval in one transaction: the approval's advisory lock serialises its
 * claims from every machine, so counting and inserting cannot interleave; the unique
 * (approval_id, run_number) is the backstop should anything write without the lock. Runs that
 * reached no host do not count against maxRuns, but keep their number: run_number numbers
 * every claim of the approval.
 */
export async function claimRunIn(
  db: Database,
  claim: RunClaim,
  now: Date,
): Promise<{ runsUsed: number }> {
  const where = db.target.location;
  checkClaim(where, claim);
  const duplicate = () =>
    ValidationError.single(
      where,
      `run ${claim.runId} is already recorded: every run needs a new run id`,
      'duplicate-run-id',
    );
  try {
    // Retried while the server is down or restarting: a retry that finds this very claim stored
    // (the first attempt committed, its answer was lost) takes it as made, instead of leaving a
    // claim that counts against maxRuns for a run that never starts.
    return await retryWhileDown((attempt) =>
      db.transaction(async (client) => {
        // Bounded: a session holding the lock for ever (not a claim) would stall every claim.
        await db.lockInTransaction(
          client,
          `opsbook approval ${claim.approvalId}`,
          `the claim of run ${claim.runId} (approval ${claim.approvalId})`,
        );
        const known = await client.query<{ approval_id: string; ticket: string; started_at: Date }>(
          'select approval_id, ticket, started_at from opsbook_runs where run_id = $1',
          [claim.runId],
        );
        const [row] = known.rows;
        if (row) {
          const isOurs =
            attempt > 0 &&
            row.approval_id === claim.approvalId &&
            row.ticket === claim.ticket &&
            row.started_at.getTime() === now.getTime();
          if (!isOurs) throw duplicate();
          const used = await runIdsOf(claim.approvalId, (sql, params) => client.query(sql, params));
          return { runsUsed: used.indexOf(claim.runId) + 1 || used.length };
        }
        const earlier = await runIdsOf(claim.approvalId, (sql, params) =>
          client.query(sql, params),
        );
        if (earlier.length >= claim.maxRuns) throw runsExhausted(claim, earlier);
        await client.query(
          `insert into opsbook_runs (run_id, approval_id, run_number, ticket, started_at)
           select $1, $2, count(*) + 1, $3, $4 from opsbook_runs where approval_id = $2`,
          [claim.runId, claim.approvalId, claim.ticket, now],
        );
        return { runsUsed: earlier.length + 1 };
      }),
    );
  } catch (e) {
    const { code, constraint } = e as { code?: string; constraint?: string };
    if (code !== UNIQUE_VIOLATION) throw e;
    if (constraint === 'opsbook_runs_pkey') throw duplicate();
    const earlier = await runIdsOf(claim.approvalId, (sql, params) =>
      db.query<{ run_id: string }>(sql, params).then((rows) => ({ rows })),
    );
    throw runsExhausted(claim, earlier);
  }
}

/** The runs that count against the approval, in claim order. */
async function runIdsOf(
  approvalId: string,
  query: (sql: string, params: unknown[]) => Promise<{ rows: { run_id: string }[] }>,
): Promise<string[]> {
  const { rows } = await query(
    `select run_id from opsbook_runs where approval_id = $1 and reached is not false
     order by run_number`,
    [approvalId],
  );
  return rows.map((r) => r.run_id);
}

export async function runsUsedIn(db: Database, approvalId: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'select count(*)::int as n from opsbook_runs where approval_id = $1 and reached is not false',
    [approvalId],
  );
  return rows[0]?.n ?? 0;
}

export async function approvalRunsIn(db: Database, approvalId: string): Promise<ApprovalRun[]> {
  const rows = await db.query<{ run_id: string; reached: boolean | null }>(
    'select run_id, reached from opsbook_runs where approval_id = $1 order by run_number',
    [approvalId],
  );
  return rows.map((r) => ({ runId: r.run_id, used: r.reached !== false }));
}

/**
 * Whether a run ending with (status $3, head $4, count $5) reached a host: it did unless its
 * journal lines are exactly the pinned ones, end with run-end, and hold no step-start (as
 * isRunUnused decides for the files store). An ok run ran its steps: its lines are not read.
 */
const REACHED = `case when $3::text = 'ok' then true else not (
    (select count(*) from opsbook_journal_lines l where l.run_id = $1) = $5::int
    and exists (select 1 from opsbook_journal_lines l
      where l.run_id = $1 and l.seq = $5::int and l.hash = $4::text
        and (l.line::jsonb)->>'type' = 'run-end')
    and not exists (select 1 from opsbook_journal_lines l
      where l.run_id = $1 and (l.line::jsonb)->>'type' = 'step-start')
  ) end`;

/**
 * Records a run's end once, and in the same statement whether it reached a host (REACHED).
 * Retried while the server is down; a retry that finds the very end it was writing already
 * stored (the first attempt committed, its answer was lost) succeeds.
 */
export async function recordRunEndIn(db: Database, end: RunEnd, now: Date): Promise<void> {
  const where = db.target.location;
  checkRunEnd(where, end);
  await retryWhileDown(async (attempt) => {
    const updated = await db.query(
      `update opsbook_runs set ended_at = $2, status = $3, head = $4, event_count = $5,
         reached = ${REACHED}
       where run_id = $1 and ended_at is null returning run_id`,
      [end.runId, now, end.status, end.head, end.count],
    );
    if (updated.length > 0) return;
    const [row] = await db.query<RunRow>(
      `select ${RUN_COLUMNS} from opsbook_runs where run_id = $1`,
      [end.runId],
    );
    if (!row) {
      throw ValidationError.single(
        where,
        `run ${end.runId} never started: the store has no record of it`,
        'unknown-run',
      );
    }
    const isOurs =
      row.head === end.head && row.event_count === end.count && row.status === end.status;
    if (attempt > 0 && isOurs) return;
    // The first run-end is final: a second one could re-pin a regenerated journal.
    throw ValidationError.single(
      where,
      `run ${end.runId} already has its end recorded`,
      'run-already-ended',
    );
  });
}

/** The ledger the files store would hold: a run record per row, a run-end once it ended. */
export async function readLedgerIn(db: Database): Promise<LedgerRecord[]> {
  const rows = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from opsbook_runs order by started_at, run_number`,
  );
  const keyed: { at: string; record: LedgerRecord }[] = [];
  for (const row of rows) {
    const entry = entryOf(row);
    keyed.push({
      at: entry.startedAt,
      record: {
        type: 'run',
        approvalId: entry.approvalId,
        runId: entry.runId,
        ticket: entry.ticket,
        at: entry.startedAt,
      },
    });
    if (entry.endedAt === undefined) continue;
    keyed.push({
      // Never before its start, whatever the clocks said: an end before its run is ignored.
      at: [entry.startedAt, entry.endedAt].sort()[1] as string,
      record: {
        type: 'run-end',
        runId: entry.runId,
        head: entry.expectedHead as string,
        count: entry.expectedCount as number,
        status: entry.status as RunStatus,
        at: entry.endedAt,
        ...(entry.reached === false ? { reached: false } : {}),
      },
    });
  }
  // Stable: on equal times a run's start stays before its end.
  return keyed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).map((k) => k.record);
}

/**
 * The ledger's entry of one run (its row), as `entriesOf(readLedgerIn(db))` has it, or undefined
 * when the store has no such run: one row read, whatever the history holds.
 */
export async function ledgerEntryIn(db: Database, runId: string): Promise<LedgerEntry | undefined> {
  const [row] = await db.query<RunRow>(
    `select ${RUN_COLUMNS} from opsbook_runs where run_id = $1`,
    [runId],
  );
  if (!row) return undefined;
  const entry = entryOf(row);
  // As readLedgerIn dates it: an end is never before its run's start.
  if (entry.endedAt !== undefined && entry.endedAt < entry.startedAt)
    entry.endedAt = entry.startedAt;
  return entry;
}

/** Run ids that have a journal (created, possibly still without a line). */
export async function journalIdsIn(db: Database): Promise<string[]> {
  const rows = await db.query<{ run_id: string }>(
    `select run_id from opsbook_runs r where journal_started_at is not null
       or exists (select 1 from opsbook_journal_lines l where l.run_id = r.run_id)`,
  );
  return rows.map((r) => r.run_id);
}

/**
 * Every run, newest first, in one query: the generic listing (run-store.ts) asks for each
 * journal's first and last lines one run at a time.
 */
export async function listRunsIn(db: Database): Promise<RunSummary[]> {
  const rows = await db.query<
    RunRow & { first: string | null; last: string | null; live: boolean }
  >(
    `with ${HELD_LEASES_CTE}
     select ${RUN_COLUMNS},
       (select line from opsbook_journal_lines l where l.run_id = r.run_id order by seq limit 1) as first,
       (select line from opsbook_journal_lines l where l.run_id = r.run_id order by seq desc limit 1) as last,
       r.ended_at is null and ${runLeaseHeldSql('r.run_id')} as live
     from opsbook_runs r`,
  );
  const live = new Set(rows.filter((r) => r.live).map((r) => r.run_id));
  const summaries = rows.map((row) => {
    const entry = entryOf(row);
    if (row.journal_started_at === null && row.first === null) {
      return {
        ...summarizeRun(row.run_id, undefined, undefined, entry),
        status: 'missing' as const,
      };
    }
    return listedRun(row.run_id, row.first ?? undefined, row.last ?? undefined, entry);
  });
  await markRunning({ runners: async () => ({ live, elsewhere: new Map() }) }, summaries);
  return summaries.sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
}

/** Those of `runIds` whose runner (or distributed run's submitter) holds its lease now. */
export async function liveRunsIn(db: Database, runIds: readonly string[]): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const rows = await db.query<{ run_id: string }>(
    `with ${HELD_LEASES_CTE}
     select r.run_id from unnest($1::text[]) as r(run_id) where ${runLeaseHeldSql('r.run_id')}`,
    [runIds],
  );
  return new Set(rows.map((r) => r.run_id));
}

function entryOf(row: RunRow): LedgerEntry {
  return {
    runId: row.run_id,
    approvalId: row.approval_id,
    ticket: row.ticket,
    startedAt: row.started_at.toISOString(),
    ...(row.ended_at !== null
      ? {
          endedAt: row.ended_at.toISOString(),
          status: row.status as RunStatus,
          expectedHead: row.head as string,
          expectedCount: row.event_count as number,
          ...(row.reached === false ? { reached: false } : {}),
        }
      : {}),
  };
}
