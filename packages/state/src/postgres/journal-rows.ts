import { ValidationError } from '@opsbook/schema';
import { Journal, type JournalLine, type JournalOptions, type JournalSink } from '../journal.js';
import { retryWhileDown } from './connection.js';
import type { Database } from './database.js';
import { runnerLease } from './run-leases.js';
import { type JournalSession, openJournalSession } from './shared-journal-session.js';

/** Where a run's journal is, for messages: the store and the run. */
export function journalLocationIn(db: Database, runId: string): string {
  return `${db.target.location} run ${runId}`;
}

/**
 * Starts the journal of a claimed run: marks it started (once: a second journal for the run is
 * refused, even from another machine at the same moment), then writes lines as rows.
 */
export async function createJournalIn(
  db: Database,
  runId: string,
  options: JournalOptions = {},
  url?: string,
): Promise<Journal> {
  const location = journalLocationIn(db, runId);
  const hold: { session?: JournalSession } = {};
  // Checks the run id before anything is written.
  const journal = Journal.over(rowSink(db, runId, location, hold), runId, options);
  // Retried while the server is down or restarting, as the claim before it: a retry that finds
  // the journal started with no line yet takes it as its own first attempt's (committed, its
  // answer lost), instead of failing a claimed run, whose claim counts against maxRuns.
  const started = await retryWhileDown(async (attempt) => {
    const rows = await db.query<{ run_id: string }>(
      `update opsbook_runs set journal_started_at = now()
       where run_id = $1 and journal_started_at is null
         and not exists (select 1 from opsbook_journal_lines where run_id = $1)
       returning run_id`,
      [runId],
    );
    if (rows.length > 0 || attempt === 0) return rows;
    return db.query<{ run_id: string }>(
      `select run_id from opsbook_runs where run_id = $1 and journal_started_at is not null
         and not exists (select 1 from opsbook_journal_lines where run_id = $1)`,
      [runId],
    );
  });
  if (started.length === 0) {
    const known = await db.query('select 1 from opsbook_runs where run_id = $1', [runId]);
    throw known.length === 0
      ? ValidationError.single(
          location,
          `run ${runId} was never claimed: a journal is written only for a run the store recorded`,
          'unknown-run',
        )
      : ValidationError.single(
          location,
          `a journal for run ${runId} already exists: a run id is used once, never overwritten`,
          'journal-exists',
        );
  }
  hold.session = await holdRunnerLease(url, runId);
  return journal;
}

/**
 * Takes the run's runner lease on a connection of its own, which `runs list` looks for to tell a
 * run that is running from one whose runner died (its session, and the lease, ended with it).
 * Best effort: the lease is a view, never a grant, so a refusal only leaves the run `incomplete`.
 * The connection lives until the journal closes (the runner closes it on every path).
 */
async function holdRunnerLease(url: string | undefined, runId: string): Promise<JournalSession> {
  const session = openJournalSession({
    url,
    lease: runnerLease(runId),
    retryForMs: 0,
  });
  await session.query('select 1').catch(() => undefined);
  return session;
}

/**
 * The PostgreSQL store's journal sink: each batch is one INSERT of all its lines, durable when
 * it commits. While the server is down or restarting the batch is retried (up to 30 s); a retry
 * whose lines are already there (the first attempt committed but its answer was lost) checks
 * that the stored lines are exactly ours, so a restart neither loses nor doubles an event.
 */
function rowSink(
  db: Database,
  runId: string,
  location: string,
  hold: { session?: JournalSession },
): JournalSink {
  return {
    location,
    write: (lines, texts) =>
      db.guard(() =>
        retryWhileDown(async () => {
          const inserted = await db.query<{ seq: number }>(
            `insert into opsbook_journal_lines (run_id, seq, line, hash)
             select $1, * from unnest($2::int[], $3::text[], $4::text[])
             on conflict (run_id, seq) do nothing
             returning seq`,
            [
              runId,
              lines.map((l) => l.seq),
              texts.map((t) => t.slice(0, -1)), // without the newline the files store ends it with
              lines.map((l) => l.hash),
            ],
          );
          if (inserted.length < lines.length) {
            await checkStored(db, runId, location, lines, new Set(inserted.map((r) => r.seq)));
          }
        }),
      ),
    close: async () => {
      await hold.session?.close();
    },
  };
}

async function checkStored(
  db: Database,
  runId: string,
  location: string,
  lines: readonly JournalLine[],
  inserted: Set<number>,
): Promise<void> {
  const missing = lines.filter((l) => !inserted.has(l.seq));
  const rows = await db.query<{ seq: number; hash: string }>(
    'select seq, hash from opsbook_journal_lines where run_id = $1 and seq = any($2::int[])',
    [runId, missing.map((l) => l.seq)],
  );
  const stored = new Map(rows.map((r) => [r.seq, r.hash]));
  const other = missing.find((l) => stored.get(l.seq) !== l.hash);
  if (other) {
    throw ValidationError.single(
      location,
      `event seq ${other.seq} of run ${runId} is already stored with another hash: another writer wrote this journal`,
      'journal-conflict',
    );
  }
}

/** The first and last lines of a run's journal, as text. */
export async function journalEndsIn(
  db: Database,
  runId: string,
): Promise<{ first?: string; last?: string }> {
  const [row] = await db.query<{ first: string | null; last: string | null }>(
    `select
       (select line from opsbook_journal_lines where run_id = $1 order by seq limit 1) as first,
       (select line from opsbook_journal_lines where run_id = $1 order by seq desc limit 1) as last`,
    [runId],
  );
  return {
    ...(row?.first != null ? { first: row.first } : {}),
    ...(row?.last != null ? { last: row.last } : {}),
  };
}

/**
 * A journal as the JSONL bytes the files store would hold, for `verifyJournalBytes`: undefined
 * when the run has no journal, empty when it was created and nothing written yet.
 */
export async function readJournalIn(db: Database, runId: string): Promise<Buffer | undefined> {
  const [run] = await db.query<{ has_journal: boolean }>(
    `select journal_started_at is not null or exists
       (select 1 from opsbook_journal_lines where run_id = $1) as has_journal
     from opsbook_runs where run_id = $1`,
    [runId],
  );
  if (!run?.has_journal) return undefined;
  const rows = await db.query<{ line: string }>(
    'select line from opsbook_journal_lines where run_id = $1 order by seq',
    [runId],
  );
  return Buffer.from(rows.map((r) => `${r.line}\n`).join(''), 'utf8');
}
