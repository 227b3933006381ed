/**
 * The schema of the PostgreSQL state store, as numbered steps applied in order by `opsbook db
 * migrate` (migrate.ts). A step, once released, never changes: a later change is a new step.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS_TABLE = 'opsbook_schema_migrations';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'runs and journals',
    sql: `
      -- One row per run: its claim on an approval (run_number counts the approval's runs, so
      -- the unique constraint is the backstop of maxRuns) and, once ended, the journal's pinned
      -- head and event count.
      create table opsbook_runs (
        run_id text primary key,
        approval_id text not null,
        run_number int not null check (run_number >= 1),
        ticket text not null,
        started_at timestamptz not null,
        -- Set when the run's journal is created: a second journal for the run is refused.
        journal_started_at timestamptz,
        ended_at timestamptz,
        status text check (status in ('ok', 'failed', 'unreachable', 'interrupted')),
        head text,
        event_count int check (event_count >= 0),
        unique (approval_id, run_number),
        check ((ended_at is null) = (status is null)),
        check ((ended_at is null) = (head is null)),
        check ((ended_at is null) = (event_count is null))
      );
      create index opsbook_runs_started_at on opsbook_runs (started_at desc);
      create index opsbook_runs_ticket on opsbook_runs (ticket, started_at desc);

      -- A run's journal: each line exactly as the files store writes it (without the newline),
      -- in seq order; the hash chain inside the lines is what verification checks.
      create table opsbook_journal_lines (
        run_id text not null references opsbook_runs (run_id),
        seq int not null check (seq >= 1),
        line text not null,
        hash text not null,
        primary key (run_id, seq)
      );
    `,
  },
];

/** The schema version this opsbook knows: the last migration's. */
export const LATEST_VERSION = migrations.at(-1)?.version ?? 0;
