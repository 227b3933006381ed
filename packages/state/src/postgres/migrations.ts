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
  {
    version: 2,
    name: 'schedules',
    sql: `
      -- One row per schedule of opsbook.yaml a scheduler has run: slots are expected from
      -- known_since on (reset when the cron expression changes), so a slot no scheduler took is
      -- reported as missed.
      create table opsbook_schedules (
        name text primary key,
        runbook text not null,
        cron text not null,
        known_since timestamptz not null
      );

      -- One row per tick a scheduler took: the run it started, or why it started none. The
      -- primary key makes a slot run once however many schedulers share the database.
      create table opsbook_schedule_slots (
        schedule text not null,
        slot timestamptz not null,
        backfilled boolean not null,
        started_at timestamptz not null,
        ended_at timestamptz,
        outcome text check (outcome in ('ran', 'refused', 'error')),
        run_id text,
        run_status text check (run_status in ('ok', 'failed', 'unreachable', 'interrupted')),
        code text,
        message text,
        primary key (schedule, slot),
        check ((ended_at is null) = (outcome is null)),
        check ((outcome = 'ran') = (run_id is not null))
      );
    `,
  },
  {
    version: 3,
    name: 'findings',
    sql: `
      -- A run's findings, derived from its journal when the run ends (findings.ts): what
      -- opsbook report reads instead of parsing every journal. The journal stays the source of
      -- truth; a run without a row here is read from its journal lines.
      create table opsbook_run_findings (
        run_id text primary key references opsbook_runs (run_id),
        recorded_at timestamptz not null,
        -- run-start: when, which runbook, the hosts the run was for
        started_at timestamptz,
        runbook text,
        hosts text[] not null,
        -- the times of the journal's first and last events
        first_at timestamptz,
        last_at timestamptz,
        -- lines findings could not be read from: [{line, message}]
        problems jsonb not null
      );
      create index opsbook_run_findings_span on opsbook_run_findings (last_at, first_at);

      -- One row per finding of an inspection.* step; seq is the step-end's place in the journal.
      create table opsbook_findings (
        run_id text not null references opsbook_run_findings (run_id),
        seq int not null,
        idx int not null,
        at timestamptz not null,
        host text not null,
        action text not null,
        check_name text not null,
        subject text,
        status text not null check (status in ('ok', 'warn', 'crit', 'unknown')),
        -- a number, string or boolean; SQL null for a null value
        value jsonb,
        threshold double precision,
        unit text,
        message text not null,
        primary key (run_id, seq, idx)
      );
      create index opsbook_findings_at on opsbook_findings (at);
      create index opsbook_findings_host_at on opsbook_findings (host, at);

      -- One row per inventory.collect step: the facts it gathered on its host.
      create table opsbook_host_facts (
        run_id text not null references opsbook_run_findings (run_id),
        seq int not null,
        at timestamptz not null,
        host text not null,
        facts jsonb not null,
        primary key (run_id, seq)
      );
      create index opsbook_host_facts_at on opsbook_host_facts (at);
      create index opsbook_host_facts_host_at on opsbook_host_facts (host, at);

      -- One row per host-end: how the host's part of the run ended (unreachable: never answered).
      create table opsbook_host_outcomes (
        run_id text not null references opsbook_run_findings (run_id),
        seq int not null,
        at timestamptz not null,
        host text not null,
        status text not null,
        primary key (run_id, seq)
      );
      create index opsbook_host_outcomes_at on opsbook_host_outcomes (at);
      create index opsbook_host_outcomes_host_at on opsbook_host_outcomes (host, at);
    `,
  },
  {
    version: 4,
    name: 'findings summary',
    sql: `
      -- The run's findings in the compact JSON form the files store keeps per run (rows as
      -- arrays; @opsbook/state findings-compact.ts), written with the rows above in one
      -- transaction: a report reads one text per run instead of aggregating 180,000 rows. The
      -- rows stay for SQL. Null for runs recorded before this step: reports read those from
      -- their journal lines once more and record them again, summary included.
      alter table opsbook_run_findings add column summary text;
    `,
  },
  {
    version: 5,
    name: 'runs that reached no host',
    sql: `
      -- Set with a run's end, from its journal lines: false when no step-start is among them
      -- (no host was reached), and such a run does not count against its approval's maxRuns.
      -- Null while the run is going and for runs that ended before this step: they count.
      alter table opsbook_runs add column reached boolean;
      alter table opsbook_runs add check (reached is null or ended_at is not null);
    `,
  },
  {
    version: 6,
    name: 'alerts and incidents',
    sql: `
      -- Every alert Alertmanager delivered (opsbook alerts serve / ingest), once per fingerprint,
      -- startsAt and status: a retry of the same alert is the same row (on conflict do nothing).
      -- starts_at is the text Alertmanager sent, the dedupe key; alert is the stored record.
      -- converged is set by the pass that put the alert into an incident (@opsbook/alerts).
      create table opsbook_alerts (
        seq bigserial primary key,
        fingerprint text not null,
        starts_at text not null,
        status text not null check (status in ('firing', 'resolved')),
        received_at timestamptz not null,
        alert jsonb not null,
        converged boolean not null default false,
        unique (fingerprint, starts_at, status)
      );
      create index opsbook_alerts_received_at on opsbook_alerts (received_at);
      create index opsbook_alerts_unconverged on opsbook_alerts (seq) where not converged;

      -- One row per incident: alerts converged into one graded ticket. incident is the whole
      -- record (alerts, grade and re-grades, assignee, dispatch state); the columns are for SQL.
      create table opsbook_alert_incidents (
        id text primary key,
        opened_at timestamptz not null,
        updated_at timestamptz not null,
        open boolean not null,
        grade text not null check (grade in ('P1', 'P2', 'P3', 'P4')),
        ticket text,
        incident jsonb not null
      );
      create index opsbook_alert_incidents_open on opsbook_alert_incidents (id) where open;
      create index opsbook_alert_incidents_opened_at on opsbook_alert_incidents (opened_at);

      -- The convergence's counters (next incident number, round-robin positions): one row,
      -- locked by every pass, so that passes of several receivers take turns.
      create table opsbook_alert_progress (
        id int primary key check (id = 1),
        next_incident int not null check (next_incident >= 1),
        counters jsonb not null
      );
      insert into opsbook_alert_progress (id, next_incident, counters) values (1, 1, '{}');
    `,
  },
  {
    version: 7,
    name: 'submitter sessions',
    sql: `
      -- The session of a distributed run's submitter, as the submitter records it each time it
      -- takes the run's submitter lease (after a reconnection too): any role of the database
      -- may take an advisory lock of that name, and a worker believes only this session.
      -- backend_start tells a reused pid apart; role (the session's usesysid) is what a worker
      -- of another role sees of it, pg_stat_activity shows it no backend_start.
      create table opsbook_run_submitters (
        run_id text primary key references opsbook_runs (run_id),
        pid int not null,
        backend_start timestamptz not null,
        role oid not null,
        recorded_at timestamptz not null
      );
    `,
  },
  {
    version: 8,
    name: 'alerts firing again',
    sql: `
      -- An alert that fires again with the startsAt it resolved with (Prometheus sent it again
      -- with the ActiveAt it kept) is a delivery of its own: round counts its resolutions before.
      alter table opsbook_alerts add column round int not null default 0 check (round >= 0);
      alter table opsbook_alerts drop constraint opsbook_alerts_fingerprint_starts_at_status_key;
      alter table opsbook_alerts add unique (fingerprint, starts_at, status, round);
    `,
  },
  {
    version: 9,
    name: 'append-only audit trail',
    sql: `
      -- The audit trail is append-only in the database itself, for every role that does not own
      -- the tables (only an owner may switch a trigger off): journal lines are never changed or
      -- removed, a run's row is never removed, and its columns are written once each (the claim,
      -- then the journal's start, then the end). Removing a run's row would free a use of its
      -- approval (maxRuns counts the rows); changing a line or an end would rewrite what ran.
      -- SQLSTATE OB001 is opsbook's own: connection.ts names it to the user.
      create function opsbook_refuse_rewrite() returns trigger language plpgsql as $fn$
      begin
        raise exception using errcode = 'OB001',
          message = format('%s on %s refused: opsbook keeps it append-only (the audit trail of runs)',
            tg_op, tg_table_name);
      end
      $fn$;

      create function opsbook_runs_write_once() returns trigger language plpgsql as $fn$
      begin
        if (new.run_id, new.approval_id, new.run_number, new.ticket, new.started_at)
             is distinct from (old.run_id, old.approval_id, old.run_number, old.ticket, old.started_at)
           or (old.journal_started_at is not null
               and new.journal_started_at is distinct from old.journal_started_at)
           or (old.ended_at is not null
               and (new.ended_at, new.status, new.head, new.event_count, new.reached)
                   is distinct from (old.ended_at, old.status, old.head, old.event_count, old.reached))
        then
          raise exception using errcode = 'OB001',
            message = format('UPDATE of run %s on opsbook_runs refused: a run''s claim, journal start and end are written once (the audit trail of runs)',
              old.run_id);
        end if;
        return new;
      end
      $fn$;

      create trigger opsbook_append_only before update or delete on opsbook_journal_lines
        for each row execute function opsbook_refuse_rewrite();
      create trigger opsbook_no_truncate before truncate on opsbook_journal_lines
        for each statement execute function opsbook_refuse_rewrite();

      create trigger opsbook_append_only before delete on opsbook_runs
        for each row execute function opsbook_refuse_rewrite();
      create trigger opsbook_no_truncate before truncate on opsbook_runs
        for each statement execute function opsbook_refuse_rewrite();
      create trigger opsbook_write_once before update on opsbook_runs
        for each row execute function opsbook_runs_write_once();

      -- Nothing for roles opsbook db grant-runner did not name (PUBLIC has no table privilege
      -- by default; this makes it so on a database whose defaults granted some).
      revoke all on opsbook_journal_lines, opsbook_runs from public;
    `,
  },
  {
    version: 10,
    name: 'ends decided by the journal',
    sql: `
      -- Whether an ended run reached a host (reached = false frees its use of the approval's
      -- maxRuns) is decided by the database from the run's journal lines when the end is
      -- written, whatever the writer gave: the runner's role may write a run's end columns once,
      -- and an end pinned by hand with reached = false on a run whose journal shows a step
      -- started gave the approval a use back. The rule is run-rows.ts REACHED's; a line that is
      -- not JSON counts the run as reached.
      create or replace function opsbook_runs_write_once() returns trigger language plpgsql as $fn$
      begin
        if (new.run_id, new.approval_id, new.run_number, new.ticket, new.started_at)
             is distinct from (old.run_id, old.approval_id, old.run_number, old.ticket, old.started_at)
           or (old.journal_started_at is not null
               and new.journal_started_at is distinct from old.journal_started_at)
           or (old.ended_at is not null
               and (new.ended_at, new.status, new.head, new.event_count, new.reached)
                   is distinct from (old.ended_at, old.status, old.head, old.event_count, old.reached))
        then
          raise exception using errcode = 'OB001',
            message = format('UPDATE of run %s on opsbook_runs refused: a run''s claim, journal start and end are written once (the audit trail of runs)',
              old.run_id);
        end if;
        if old.ended_at is null and new.ended_at is not null then
          begin
            new.reached := new.status = 'ok' or not (
              (select count(*) from opsbook_journal_lines l where l.run_id = new.run_id) = new.event_count
              and exists (select 1 from opsbook_journal_lines l
                where l.run_id = new.run_id and l.seq = new.event_count and l.hash = new.head
                  and (l.line::jsonb)->>'type' = 'run-end')
              and not exists (select 1 from opsbook_journal_lines l
                where l.run_id = new.run_id and (l.line::jsonb)->>'type' = 'step-start'));
          exception when others then
            new.reached := true;
          end;
        end if;
        return new;
      end
      $fn$;

      -- A run's journal ends with its end: a line appended after it (which a runner's role could
      -- write into any run, to make it read as tampered or to add to what ran) is refused with
      -- SQLSTATE OB002 (connection.ts says what it means to a runner whose run another session
      -- ended). The run's row is locked (for share) so an end being written meanwhile is waited
      -- for.
      create function opsbook_refuse_after_end() returns trigger language plpgsql as $fn$
      declare
        ended timestamptz;
      begin
        select r.ended_at into ended from opsbook_runs r where r.run_id = new.run_id for share;
        if ended is not null then
          raise exception using errcode = 'OB002',
            message = format('INSERT into the journal of run %s on opsbook_journal_lines refused: another session ended run %s (its end is recorded in opsbook_runs), so its journal is closed',
              new.run_id, new.run_id);
        end if;
        return new;
      end
      $fn$;

      create trigger opsbook_closed_after_end before insert on opsbook_journal_lines
        for each row execute function opsbook_refuse_after_end();

      -- A schedule's slot is taken once (its primary key) and ended once: moving a taken slot's
      -- key freed it for a second run of the schedule, and rewriting its end hid the run it
      -- started (or its failure) from opsbook schedule status.
      create function opsbook_slots_write_once() returns trigger language plpgsql as $fn$
      begin
        if tg_op = 'DELETE'
           or (new.schedule, new.slot, new.backfilled, new.started_at)
             is distinct from (old.schedule, old.slot, old.backfilled, old.started_at)
           or (old.ended_at is not null
               and (new.ended_at, new.outcome, new.run_id, new.run_status, new.code, new.message)
                   is distinct from (old.ended_at, old.outcome, old.run_id, old.run_status, old.code, old.message))
        then
          raise exception using errcode = 'OB001',
            message = format('%s of slot %s of schedule %s on opsbook_schedule_slots refused: a slot is taken once and ended once (the record of what a schedule ran)',
              tg_op, old.slot, old.schedule);
        end if;
        return new;
      end
      $fn$;

      create trigger opsbook_write_once before update or delete on opsbook_schedule_slots
        for each row execute function opsbook_slots_write_once();
      create trigger opsbook_no_truncate before truncate on opsbook_schedule_slots
        for each statement execute function opsbook_refuse_rewrite();
    `,
  },
];

/** The schema version this opsbook knows: the last migration's. */
export const LATEST_VERSION = migrations.at(-1)?.version ?? 0;
