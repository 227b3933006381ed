import { grantRunnerRole, migrateStateStore } from '@opsbook/state';
import { type CommandSpec, defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';

export const migrate: CommandSpec = defineCommand({
  details: `Uses the state store of opsbook.yaml (state: {kind: postgres, url: …}), or the url in
OPSBOOK_DATABASE_URL; without a url, libpq's PGHOST, PGPORT, PGUSER, PGDATABASE. Keep the
password out of opsbook.yaml: PGPASSWORD or ~/.pgpass supply it.
Each migration runs in its own transaction under a lock, so two people migrating at once is
safe; migrating a store that is up to date does nothing. A migration waits at most 30 s for
that lock (or a table's): past it, STATE_DB_LOCKED names the session that keeps it and the
select pg_terminate_backend(<pid>) that ends it. The files store needs no migration.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const { out } = ctx;
    if (config.state.kind !== 'postgres') {
      if (out.json) out.printJson({ kind: 'files', location: config.stateDir, applied: [] });
      else
        out.print(
          `the state store is the files in ${config.stateDir}: there is nothing to migrate (only a PostgreSQL store has a schema)`,
        );
      return exitCodes.ok;
    }
    const result = await migrateStateStore(config.state.url, { onProgress: (m) => out.note(m) });
    if (out.json) {
      out.printJson({ kind: 'postgres', ...result });
      return exitCodes.ok;
    }
    out.print(
      result.applied.length > 0
        ? `applied ${result.applied.length} migration(s): ${result.applied.map((m) => `${m.version} ${m.name}`).join(', ')}; the store is at version ${result.version}`
        : `already at version ${result.version}: nothing to do`,
    );
    return exitCodes.ok;
  },
});

export const grantRunner: CommandSpec = defineCommand({
  args: '<role>',
  positionals: { min: 1, max: 1 },
  details: `Run by the store's administrator, connected as the role that ran opsbook db migrate (the
tables' owner), after each opsbook db migrate. Gives <role>, the role runners, workers and
schedulers connect as, what they need and no more: journal lines and run records may only be
read and appended to (a run's journal start and end are written once), never changed, deleted
or truncated; anything more it was granted on opsbook's tables is taken back. The job queue's
schema (graphile-worker's) is created first when missing, and granted to the role.
Create the role before (create role opsbook_runner login password '…'). A superuser, or the
tables' owner or a member of it, is refused: it could switch the append-only guards off.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const { out } = ctx;
    const role = ctx.positionals[0] as string;
    if (config.state.kind !== 'postgres') {
      if (out.json) out.printJson({ kind: 'files', location: config.stateDir });
      else
        out.print(
          `the state store is the files in ${config.stateDir}: there are no database roles to grant (only a PostgreSQL store has them)`,
        );
      return exitCodes.ok;
    }
    const { installQueue } = await import('@opsbook/runner');
    await installQueue(config.state.url);
    const result = await grantRunnerRole(config.state.url, role);
    if (out.json) {
      out.printJson({ kind: 'postgres', ...result });
      return exitCodes.ok;
    }
    out.print(
      `granted ${role} what runners need on ${result.location}: journal lines and run records append-only, the job queue${result.hasQueue ? '' : ' (not found)'}; give runners and workers ${role}'s credentials, not the administrator's`,
    );
    return exitCodes.ok;
  },
});
