import { ValidationError } from '@opsbook/schema';
import type { ClientBase } from 'pg';
import { stateErrors } from '../error-codes.js';
import { connectionTargetOf, refusalError, unreachableError } from './connection.js';
import { checkSchemaVersion } from './migrate.js';

/**
 * What a runner's role may do on each table of the store: what opsbook's runs, workers,
 * schedulers and alert receivers write, and no more. The audit trail (journal lines, run
 * records) gets no UPDATE but the columns a run's journal start and end write once, and no
 * DELETE or TRUNCATE; migration 9's triggers refuse those even to a role granted them.
 */
const RUNNER_GRANTS: readonly { privileges: string; tables: readonly string[] }[] = [
  { privileges: 'select, insert', tables: ['opsbook_journal_lines'] },
  {
    privileges:
      'select, insert, update (journal_started_at, ended_at, status, head, event_count, reached)',
    tables: ['opsbook_runs'],
  },
  { privileges: 'select, insert, update', tables: ['opsbook_schedules'] },
  {
    // A slot is taken (inserted) once and ended once: only its end's columns are updated.
    privileges: 'select, insert, update (ended_at, outcome, run_id, run_status, code, message)',
    tables: ['opsbook_schedule_slots'],
  },
  {
    // Derived from the journal (recorded again when a report finds them missing), or working
    // state that is not the audit trail.
    privileges: 'select, insert, update, delete',
    tables: [
      'opsbook_run_findings',
      'opsbook_findings',
      'opsbook_host_facts',
      'opsbook_host_outcomes',
      'opsbook_run_submitters',
      'opsbook_alerts',
      'opsbook_alert_incidents',
      'opsbook_alert_progress',
    ],
  },
  { privileges: 'select', tables: ['opsbook_schema_migrations'] },
];

const TABLES = RUNNER_GRANTS.flatMap((g) => g.tables);

export interface RunnerRoleGrant {
  role: string;
  /** Where the store is (never its password). */
  location: string;
  /** Whether the job queue's schema (graphile_worker) was there and granted too. */
  hasQueue: boolean;
}

/** A role name as SQL quotes it (an identifier, never a value). */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `opsbook db grant-runner <role>`, run by the store's administrator (the role that ran
 * opsbook db migrate): gives `role` exactly what runs, workers and schedulers need, taking back
 * anything else it was granted on the store's tables. Refuses a role that could switch the
 * append-only triggers off: a superuser, or the tables' owner (or a member of it).
 */
export async function grantRunnerRole(
  url: string | undefined,
  role: string,
): Promise<RunnerRoleGrant> {
  const target = connectionTargetOf(url);
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    ...(url ? { connectionString: url } : {}),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined); // the query in progress fails with it
  try {
    await client.connect();
    await checkSchemaVersion(client, target);
    await checkRunnerRole(client, role, target.location);
    const who = quoteIdent(role);
    const hasQueue = await queueSchemaExists(client);
    await client.query('begin');
    const { rows } = await client.query<{ name: string }>('select current_database() as name');
    await client.query(`grant connect on database ${quoteIdent(rows[0]?.name ?? '')} to ${who}`);
    await client.query(`grant usage on schema public to ${who}`);
    await client.query(`revoke all on ${TABLES.join(', ')} from ${who}`);
    for (const { privileges, tables } of RUNNER_GRANTS)
      await client.query(`grant ${privileges} on ${tables.join(', ')} to ${who}`);
    await client.query(`grant usage, select on sequence opsbook_alerts_seq_seq to ${who}`);
    if (hasQueue) {
      // The job queue is never a source of authority (every worker verifies the approval
      // itself): its tables are the runners' to work with.
      await client.query(`grant usage on schema graphile_worker to ${who}`);
      await client.query(
        `grant select, insert, update, delete on all tables in schema graphile_worker to ${who}`,
      );
      await client.query(
        `grant usage, select, update on all sequences in schema graphile_worker to ${who}`,
      );
      await client.query(`grant execute on all functions in schema graphile_worker to ${who}`);
      // graphile-worker keeps row-level security on its private tables (no policy: only their
      // owner reads them); the role gets a policy of its own on each.
      const secured = await client.query<{ name: string }>(
        `select quote_ident(c.relname) as name from pg_class c
         where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity`,
      );
      const policy = quoteIdent(`opsbook runner ${role}`);
      for (const { name } of secured.rows) {
        await client.query(`drop policy if exists ${policy} on graphile_worker.${name}`);
        await client.query(
          `create policy ${policy} on graphile_worker.${name} for all to ${who} using (true) with check (true)`,
        );
      }
    }
    await client.query('commit');
    return { role, location: target.location, hasQueue };
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw unreachableError(e, target) ?? refusalError(e, target) ?? e;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function queueSchemaExists(client: ClientBase): Promise<boolean> {
  const { rowCount } = await client.query(
    `select 1 from pg_namespace where nspname = 'graphile_worker'`,
  );
  return Boolean(rowCount);
}

/** Refuses a role that does not exist, or that could undo the append-only triggers. */
async function checkRunnerRole(client: ClientBase, role: string, location: string): Promise<void> {
  const { rows } = await client.query<{ super: boolean; owner: string; is_owner: boolean }>(
    `select r.rolsuper as super, pg_get_userbyid(c.relowner) as owner,
       pg_has_role(r.oid, c.relowner, 'MEMBER') as is_owner
     from pg_roles r, pg_class c
     where r.rolname = $1 and c.oid = to_regclass('opsbook_journal_lines')`,
    [role],
  );
  const [row] = rows;
  if (!row) {
    throw ValidationError.single(
      location,
      `there is no role ${role} on the server: create it first (as the administrator: create role ${quoteIdent(role)} login password '…'), then run opsbook db grant-runner ${role} again`,
      'unknown-role',
    );
  }
  if (row.super || row.is_owner) {
    const why = row.super
      ? 'is a superuser'
      : row.owner === role
        ? "owns the store's tables"
        : `is a member of ${row.owner}, which owns the store's tables`;
    throw new stateErrors.WorkFailedError(
      'STATE_DB_REFUSED',
      `role ${role} ${why} on ${location}: it could switch the journal's append-only triggers off, so it cannot be a runner's role. Create a role of its own for runners (create role opsbook_runner login password '…'), run opsbook db grant-runner opsbook_runner, and give runners and workers its credentials; keep ${row.owner}'s for opsbook db migrate`,
      { location, role },
    );
  }
}

/**
 * Why the role `url` connects as could rewrite the audit trail (a superuser or the tables' owner
 * can switch the append-only triggers off), or undefined when it cannot: what opsbook doctor
 * warns of on a runner. Never throws for a store it cannot read: undefined then (doctor's other
 * checks say why the store is unusable).
 */
export async function auditTrailExposure(url: string | undefined): Promise<string | undefined> {
  const target = connectionTargetOf(url);
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    ...(url ? { connectionString: url } : {}),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{
      role: string;
      super: boolean;
      owner: string | null;
      is_owner: boolean | null;
    }>(
      `select current_user as role, r.rolsuper as super, pg_get_userbyid(c.relowner) as owner,
         pg_has_role(r.oid, c.relowner, 'MEMBER') as is_owner
       from pg_roles r left join pg_class c on c.oid = to_regclass('opsbook_journal_lines')
       where r.rolname = current_user`,
    );
    const [row] = rows;
    if (!row || row.owner === null) return undefined;
    if (!row.super && !row.is_owner) return undefined;
    const why = row.super ? 'a superuser' : `the owner of the store's tables (${row.owner})`;
    return `this machine connects to ${target.location} as ${row.role}, ${why}: it could switch the journal's append-only guards off and rewrite or delete what ran`;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
