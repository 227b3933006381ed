import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { expect } from 'vitest';
import { runCli } from './run-cli.js';

/** One schedule taking every minute, backfilling 10 minutes, on the local tracker. */
export const SCHEDULE_CONFIG = `apiVersion: opsbook/v1
kind: Config
stateDir: state
tracker: {kind: local}
schedules:
  inventory: {runbook: resource-inventory, cron: "* * * * *", backfill: 10m}
`;

export interface ScheduleSite {
  pg: Postgres;
  /** The working folder: opsbook.yaml (above) and the user's HOME with a key. */
  dir: string;
  /** HOME, no agent, and OPSBOOK_DATABASE_URL of `database` (migrated). */
  env: NodeJS.ProcessEnv;
}

/**
 * A real PostgreSQL with `database` made and migrated by `opsbook db migrate`, and a folder whose
 * opsbook.yaml schedules one routine, for `opsbook schedule run|list` through the binary.
 */
export async function scheduleSite(database: string, prefix: string): Promise<ScheduleSite> {
  const pg = await startPostgres();
  await pg.psql(`create database ${database}`);
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await mkdir(path.join(dir, 'home/.ssh'), { recursive: true });
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-f',
    path.join(dir, 'home/.ssh/id_ed25519'),
  ]);
  await writeFile(path.join(dir, 'opsbook.yaml'), SCHEDULE_CONFIG);
  const env = {
    HOME: path.join(dir, 'home'),
    SSH_AUTH_SOCK: '',
    OPSBOOK_KEY_PASSPHRASE: '',
    OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`,
  };
  const migrated = await runCli(['db', 'migrate'], { cwd: dir, env });
  expect(migrated.code, migrated.stderr).toBe(0);
  return { pg, dir, env };
}
