import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { type Config, loadConfig } from '@opsbook/schema';
import { closeStateStores, migrateStateStore, stateStoreOf } from '@opsbook/state';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { afterAll, beforeAll } from 'vitest';
import { runScheduledSlot, type ScheduleEvent } from '../src/index.js';
import { startTicketWorld, type TicketWorld } from './ticket-world.js';

/** A ticket world on a real PostgreSQL (database `database`), with `schedules` in opsbook.yaml. */
export interface ScheduleWorld {
  pg: Postgres;
  world: TicketWorld;
  /** opsbook.yaml as a scheduler loads it at its start. */
  config: Config;
  env: NodeJS.ProcessEnv;
  /** Every scheduler event of the file's tests, in order. */
  events: ScheduleEvent[];
  /** psql on the world's database. */
  sql(text: string): Promise<string>;
}

/**
 * For the whole test file: PostgreSQL started and migrated, the ticket world's opsbook.yaml given
 * the `schedules:` block (YAML lines under it), and all of it ended after the file.
 */
export function useScheduleWorld(database: string, schedules: string): ScheduleWorld {
  const current = { events: [] as ScheduleEvent[] } as ScheduleWorld;
  beforeAll(async () => {
    const pg = await startPostgres();
    current.pg = pg;
    await pg.psql(`create database ${database}`);
    current.world = await startTicketWorld();
    await appendFile(path.join(current.world.dir, 'opsbook.yaml'), `schedules:\n${schedules}`);
    const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${database}`;
    current.env = {
      ...current.world.env,
      OPSBOOK_DATABASE_URL: url,
      OPSBOOK_TRUST_DIR: current.world.config.trustPinDir,
    };
    current.config = await loadConfig({
      file: path.join(current.world.dir, 'opsbook.yaml'),
      env: current.env,
    });
    current.sql = (text) => pg.psql(text, database);
    await migrateStateStore(url);
  }, 60_000);
  afterAll(async () => {
    await closeStateStores();
    await current.world?.close();
    await current.pg?.dispose();
  });
  return current;
}

/**
 * Schedule `nightly`'s slot at `slot`, run as graphile-worker hands it over with the world's
 * executor key, the clock 5 s after the slot (its time is the test's, not a real minute).
 * Resolves with what it threw, undefined when it did not.
 */
export function runSlotAt(
  { config, env, world }: { config: Config; env: NodeJS.ProcessEnv; world: TicketWorld },
  slot: Date,
  onEvent?: (e: ScheduleEvent) => void,
): Promise<unknown> {
  return runScheduledSlot(
    {
      config,
      executorSigner: world.eve,
      env,
      signal: new AbortController().signal,
      clock: () => new Date(slot.getTime() + 5_000),
      ...(onEvent ? { onEvent } : {}),
    },
    { schedule: 'nightly', _cron: { ts: slot.toISOString() } },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** The store's row of the slot at `slot` (of any schedule). */
export async function slotRowAt(config: Config, slot: Date) {
  const slots = await stateStoreOf(config).schedules!.slotsSince(new Date(0));
  return slots.find((s) => s.slot.getTime() === slot.getTime());
}
