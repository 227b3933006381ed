import { ValidationError } from '@opsbook/schema';
import type { PoolClient, QueryResultRow } from 'pg';
import {
  emptyRunFindings,
  type FactsRow,
  type FindingRow,
  type FindingsQuery,
  findingsOfEvents,
  findingsOfJournalText,
  type HostOutcomeRow,
  type RunFindings,
  selectFindings,
} from '../findings.js';
import { type RunSource, readRun } from '../run-store.js';
import type { Database } from './database.js';

/**
 * The PostgreSQL store's findings (migration 2): opsbook_run_findings (one row per run whose
 * findings are recorded), opsbook_findings, opsbook_host_facts and opsbook_host_outcomes. They
 * are derived from the journal; a run without a recorded row (journaled before migration 2, or
 * still running) is read from its journal lines, and recorded once it has ended.
 */

// Rows per INSERT: a thousand hosts' inspection is 7,000 findings, so one statement in practice.
const BATCH = 20_000;

/** Derives a run's findings from its verified journal and records them (replacing any). */
export async function recordFindingsIn(
  db: Database,
  source: RunSource,
  runId: string,
): Promise<RunFindings> {
  const { verification, location } = await readRun(source, runId);
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
    await client.query(
      `select pg_advisory_xact_lock(('x' || left(md5($1), 16))::bit(64)::bigint)`,
      [`opsbook findings ${run.runId}`],
    );
    for (const table of ['opsbook_findings', 'opsbook_host_facts', 'opsbook_host_outcomes']) {
      await client.query(`delete from ${table} where run_id = $1`, [run.runId]);
    }
    await client.query('delete from opsbook_run_findings where run_id = $1', [run.runId]);
    await client.query(
      `insert into opsbook_run_findings
         (run_id, recorded_at, started_at, runbook, hosts, first_at, last_at, problems)
       values ($1, now(), $2, $3, $4, $5, $6, $7)`,
      [
        run.runId,
        run.start?.at ?? null,
        run.start?.runbook ?? null,
        run.start?.hosts ?? [],
        run.span?.from ?? null,
        run.span?.to ?? null,
        JSON.stringify(run.problems),
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
 * The runs' findings in the query's range, in run id order: recorded rows through their time
 * (and host) indexes, each table aggregated per run into one JSON text (parsing 200,000 rows
 * as JSON is several times faster than as result rows); runs not recorded yet from their
 * journal lines.
 */
export async function* readFindingsIn(
  db: Database,
  source: RunSource,
  query: FindingsQuery,
): AsyncGenerator<RunFindings> {
  // One snapshot: a run recorded while we read is either recorded or not, never both or half.
  const [recorded, unrecorded] = await db.transaction(async (client) => {
    await client.query('set transaction isolation level repeatable read, read only');
    return [await readRecorded(client, query), await unrecordedRunIds(client, query)] as const;
  });
  const derived = await Promise.all(unrecorded.map((runId) => deriveFindings(db, source, runId)));
  const all = [...recorded, ...derived.flatMap((run) => selectFindings(run, query) ?? [])];
  yield* all.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

interface HeaderRow {
  run_id: string;
  started_ms: number | null;
  runbook: string | null;
  hosts: string[];
  first_ms: number | null;
  last_ms: number | null;
  problems: RunFindings['problems'];
}

/** One run's rows of a table, as a JSON array of arrays. */
interface AggregateRow {
  run_id: string;
  rows: string;
}

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;
const iso = (t: number) => new Date(t).toISOString();

async function readRecorded(client: PoolClient, query: FindingsQuery): Promise<RunFindings[]> {
  const select = async <R extends QueryResultRow>(sql: string, params: unknown[]) =>
    (await client.query<R>(sql, params)).rows;
  const inRange = 'at >= $1 and at <= $2';
  const params: unknown[] = [query.since, query.until];
  let ofHosts = '';
  if (query.hosts) {
    params.push([...query.hosts]);
    ofHosts = ' and host = any($3::text[])';
  }
  const aggregate = (table: string, columns: string, order: string) =>
    select<AggregateRow>(
      `select run_id, json_agg(json_build_array(${columns}) order by ${order})::text as rows
       from ${table} where ${inRange}${ofHosts} group by run_id`,
      params,
    );
  // One connection runs one query at a time: these follow each other in the snapshot.
  const headers = await select<HeaderRow>(
    `select run_id, ${ms('started_at')} as started_ms, runbook, hosts,
       ${ms('first_at')} as first_ms, ${ms('last_at')} as last_ms, problems
     from opsbook_run_findings
     where first_at is null or (last_at >= $1 and first_at <= $2)`,
    [query.since, query.until],
  );
  const findings = await aggregate(
    'opsbook_findings',
    `seq, ${ms('at')}, host, action, check_name, subject, status, value, threshold, unit, message`,
    'seq, idx',
  );
  const facts = await aggregate('opsbook_host_facts', `seq, ${ms('at')}, host, facts`, 'seq');
  const outcomes = await aggregate(
    'opsbook_host_outcomes',
    `seq, ${ms('at')}, host, status`,
    'seq',
  );
  const runs = new Map<string, RunFindings>();
  const only = query.hosts ? new Set(query.hosts) : undefined;
  for (const h of headers) {
    const run = emptyRunFindings(h.run_id);
    // Recorded at the run's end: complete, as far as the journal went.
    run.isComplete = true;
    run.problems = h.problems;
    if (h.first_ms !== null && h.last_ms !== null)
      run.span = { from: iso(h.first_ms), to: iso(h.last_ms) };
    if (h.started_ms !== null) {
      const at = iso(h.started_ms);
      if (at >= query.since.toISOString() && at <= query.until.toISOString()) {
        run.start = {
          at,
          ...(h.runbook !== null ? { runbook: h.runbook } : {}),
          hosts: only ? h.hosts.filter((host) => only.has(host)) : h.hosts,
        };
      }
    }
    runs.set(h.run_id, run);
  }
  const each = <T>(rows: AggregateRow[], add: (run: RunFindings, tuple: T) => void) => {
    for (const r of rows) {
      const run = runs.get(r.run_id);
      if (!run) continue;
      for (const tuple of JSON.parse(r.rows) as T[]) add(run, tuple);
    }
  };
  each<FindingTuple>(findings, (run, t) => run.findings.push(findingOf(t)));
  each<[number, number, string, Record<string, unknown>]>(facts, (run, [seq, at, host, f]) =>
    run.facts.push({ seq, at: iso(at), host, facts: f } satisfies FactsRow),
  );
  each<[number, number, string, string]>(outcomes, (run, [seq, at, host, status]) =>
    run.outcomes.push({ seq, at: iso(at), host, status } satisfies HostOutcomeRow),
  );
  return [...runs.values()];
}

type FindingTuple = [
  number,
  number,
  string,
  string,
  string,
  string | null,
  FindingRow['status'],
  FindingRow['value'],
  number | null,
  string | null,
  string,
];

function findingOf(t: FindingTuple): FindingRow {
  const [seq, at, host, action, check, subject, status, value, threshold, unit, message] = t;
  return {
    seq,
    at: iso(at),
    host,
    action,
    check,
    ...(subject !== null ? { subject } : {}),
    status,
    value,
    threshold,
    ...(unit !== null ? { unit } : {}),
    message,
  };
}

/** Runs with a journal that may overlap the range and have no recorded findings. */
async function unrecordedRunIds(client: PoolClient, query: FindingsQuery): Promise<string[]> {
  const { rows } = await client.query<{ run_id: string }>(
    `select run_id from opsbook_runs r
     where journal_started_at is not null and started_at <= $2
       and (ended_at is null or ended_at >= $1)
       and not exists (select 1 from opsbook_run_findings f where f.run_id = r.run_id)`,
    [query.since, query.until],
  );
  return rows.map((r) => r.run_id);
}

async function deriveFindings(db: Database, source: RunSource, runId: string) {
  const bytes = await source.readJournal(runId);
  const run = findingsOfJournalText(runId, bytes?.toString('utf8') ?? '');
  if (run.isComplete) {
    // Only speed is lost when this fails (a read-only role): the findings above are complete,
    // and the next report derives them again.
    await storeFindings(db, run).catch(() => undefined);
  }
  return run;
}
