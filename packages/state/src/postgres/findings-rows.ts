import { ValidationError } from '@opsbook/schema';
import type { PoolClient } from 'pg';
import {
  type FindingRow,
  type FindingsQuery,
  findingsOfEvents,
  type RunFindings,
  selectFindings,
} from '../findings.js';
import {
  COMPACT_FINDINGS_VERSION,
  type CompactFindings,
  compactFindings,
  expandFindings,
} from '../findings-compact.js';
import { entriesOf, type LedgerEntry } from '../ledger.js';
import { type RunRecordView, type RunSource, readRun, verifiedRun } from '../run-store.js';
import { verifiedFindingsOf } from '../verified-findings.js';
import type { Database } from './database.js';

/**
 * The PostgreSQL store's findings (migrations 3 and 4): opsbook_run_findings (one row per run
 * whose findings are recorded, with their compact summary, which reports read),
 * opsbook_findings, opsbook_host_facts and opsbook_host_outcomes (the same rows, for SQL). They
 * are derived from the journal; a run without a summary (journaled before migration 3, recorded
 * before migration 4, or still running) is read from its journal lines, and recorded once it
 * has ended.
 */

// Rows per INSERT: a thousand hosts' inspection is 7,000 findings, so one statement in practice.
const BATCH = 20_000;

/** Derives a run's findings from its verified journal and records them (replacing any). */
export async function recordFindingsIn(
  db: Database,
  source: RunSource,
  runId: string,
  given?: RunRecordView,
): Promise<RunFindings> {
  const { verification, location } = verifiedRun(given, runId) ?? (await readRun(source, runId));
  if (!verification.ok) {
    throw ValidationError.single(
      location,
      `the journal of run ${runId} does not verify (${verification.problems[0]?.message ?? 'see opsbook journal verify'}): its findings are not recorded`,
      'journal-unverified',
    );
  }
  const run = findingsOfEvents(runId, verification.events);
  await storeFindings(db, run);
  return run;
}

async function storeFindings(db: Database, run: RunFindings): Promise<void> {
  await db.transaction(async (client) => {
    // Two writers of the same run (a run end and a report rebuilding it) take turns.
    await db.lockInTransaction(
      client,
      `opsbook findings ${run.runId}`,
      `recording the findings of run ${run.runId}`,
    );
    for (const table of ['opsbook_findings', 'opsbook_host_facts', 'opsbook_host_outcomes']) {
      await client.query(`delete from ${table} where run_id = $1`, [run.runId]);
    }
    await client.query('delete from opsbook_run_findings where run_id = $1', [run.runId]);
    await client.query(
      `insert into opsbook_run_findings
         (run_id, recorded_at, started_at, runbook, hosts, first_at, last_at, problems, summary)
       values ($1, now(), $2, $3, $4, $5, $6, $7, $8)`,
      [
        run.runId,
        run.start?.at ?? null,
        run.start?.runbook ?? null,
        run.start?.hosts ?? [],
        run.span?.from ?? null,
        run.span?.to ?? null,
        JSON.stringify(run.problems),
        JSON.stringify(compactFindings(run)),
      ],
    );
    await insertFindings(client, run.runId, run.findings);
    await insertRows(
      client,
      `insert into opsbook_host_facts (run_id, seq, at, host, facts)
       select $1, * from unnest($2::int[], $3::timestamptz[], $4::text[], $5::jsonb[])`,
      run.runId,
      run.facts,
      (rows) => [
        rows.map((r) => r.seq),
        rows.map((r) => r.at),
        rows.map((r) => r.host),
        rows.map((r) => JSON.stringify(r.facts)),
      ],
    );
    await insertRows(
      client,
      `insert into opsbook_host_outcomes (run_id, seq, at, host, status)
       select $1, * from unnest($2::int[], $3::timestamptz[], $4::text[], $5::text[])`,
      run.runId,
      run.outcomes,
      (rows) => [
        rows.map((r) => r.seq),
        rows.map((r) => r.at),
        rows.map((r) => r.host),
        rows.map((r) => r.status),
      ],
    );
  });
}

async function insertFindings(client: PoolClient, runId: string, findings: FindingRow[]) {
  // idx keeps a step's findings in the order the step reported them.
  let idx = 0;
  let seq = -1;
  const indexed = findings.map((f) => {
    idx = f.seq === seq ? idx + 1 : 0;
    seq = f.seq;
    return { f, idx };
  });
  await insertRows(
    client,
    `insert into opsbook_findings
       (run_id, seq, idx, at, host, action, check_name, subject, status, value, threshold, unit, message)
     select $1, * from unnest($2::int[], $3::int[], $4::timestamptz[], $5::text[], $6::text[],
       $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::float8[], $12::text[], $13::text[])`,
    runId,
    indexed,
    (rows) => [
      rows.map((r) => r.f.seq),
      rows.map((r) => r.idx),
      rows.map((r) => r.f.at),
      rows.map((r) => r.f.host),
      rows.map((r) => r.f.action),
      rows.map((r) => r.f.check),
      rows.map((r) => r.f.subject ?? null),
      rows.map((r) => r.f.status),
      rows.map((r) => (r.f.value === null ? null : JSON.stringify(r.f.value))),
      rows.map((r) => r.f.threshold),
      rows.map((r) => r.f.unit ?? null),
      rows.map((r) => r.f.message),
    ],
  );
}

async function insertRows<T>(
  client: PoolClient,
  sql: string,
  runId: string,
  rows: readonly T[],
  columns: (rows: readonly T[]) => unknown[][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await client.query(sql, [runId, ...columns(rows.slice(i, i + BATCH))]);
  }
}

/**
 * The runs' findings in the query's range, in run id order, in one statement (one snapshot): the
 * summaries of recorded runs overlapping the range, cut to it here as the files store does
 * (parsing one compact text per run is several times faster than 180,000 result rows or their
 * json_agg), and the ids of runs with a journal that may overlap the range but no summary yet,
 * which are read from their journal lines. One run at a time, as the files store: each summary's
 * text is let go once its run is yielded, so a report never holds every run's text, expanded
 * rows and selection at once (1,000 hosts × 30 days, warm: 2.06 s end to end against the files
 * store's 1.81 s in the same run before, 1.79 against 1.70 s after; BENCHMARKS.md, report).
 */
export async function* readFindingsIn(
  db: Database,
  source: RunSource,
  query: FindingsQuery,
): AsyncGenerator<RunFindings> {
  // collate "C": byte order, the order of the files store's sorted run ids (ASCII names).
  const rows = await db.query<{ run_id: string; summary: string | null }>(
    `select run_id, summary from (
       select run_id, summary from opsbook_run_findings
       where summary is not null and (first_at is null or (last_at >= $1 and first_at <= $2))
       union all
       select run_id, null from opsbook_runs r
       where journal_started_at is not null and started_at <= $2
         and (ended_at is null or ended_at >= $1)
         and not exists (
           select 1 from opsbook_run_findings f where f.run_id = r.run_id and f.summary is not null)
     ) runs order by run_id collate "C"`,
    [query.since, query.until],
  );
  // Runs without a summary are derived from their journals meanwhile, all at once (as before),
  // each verified against the ledger, read once for them all.
  let ledger: Promise<Map<string, LedgerEntry>> | undefined;
  const derive = (runId: string) => {
    ledger ??= source.readLedger().then(entriesOf);
    return ledger.then((l) => deriveFindings(db, source, runId, l.get(runId)));
  };
  const deriving = new Map<string, Promise<RunFindings>>();
  for (const { run_id: runId, summary } of rows) {
    if (summary === null) deriving.set(runId, derive(runId));
  }
  for (const settled of deriving.values()) settled.catch(() => {}); // awaited below, in order
  for (const row of rows) {
    const { run_id: runId, summary } = row;
    row.summary = null;
    const run =
      (summary === null ? undefined : runOfSummary(runId, summary)) ??
      (await (deriving.get(runId) ?? derive(runId)));
    const selected = selectFindings(run, query);
    if (selected) yield selected;
  }
}

/** The run's findings from its summary; undefined when another opsbook wrote another form. */
function runOfSummary(runId: string, summary: string): RunFindings | undefined {
  const compact = JSON.parse(summary) as CompactFindings;
  return compact.version === COMPACT_FINDINGS_VERSION ? expandFindings(runId, compact) : undefined;
}

async function deriveFindings(
  db: Database,
  source: RunSource,
  runId: string,
  entry: LedgerEntry | undefined,
) {
  const run = await verifiedFindingsOf(source, runId, entry);
  if (run.isComplete) {
    // Only speed is lost when this fails (a read-only role): the findings above are complete,
    // and the next report derives them again.
    await storeFindings(db, run).catch(() => undefined);
  }
  return run;
}
