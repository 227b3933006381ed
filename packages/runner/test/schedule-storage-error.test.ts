import { rename, rm, writeFile } from 'node:fs/promises';
import type { Config } from '@opsbook/schema';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSlotAt, slotRowAt, useScheduleWorld } from './schedule-world.js';
import type { TicketWorld } from './ticket-world.js';

/*
 * A slot whose routine the filesystem refuses (here a real fault: the state folder, where the
 * local tracker keeps its tickets, is a file) is recorded in opsbook's words and code, as a typed
 * command reports it (NOT_A_DIRECTORY, DISK_FULL, …), never as INTERNAL with Node's errno text.
 * The slot's time is the test's (a nightly cron, its clock given), not a real minute.
 */

const scheduled = useScheduleWorld(
  'storage_error',
  '  nightly: {runbook: collect-diagnostics, cron: "0 3 * * *", backfill: 10m}\n',
);
let world: TicketWorld;
let config: Config;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  ({ world, config, env } = scheduled);
});

describe('a scheduled slot the filesystem refuses', () => {
  it("is recorded with opsbook's code and words, not INTERNAL and Node's errno text", async () => {
    await rename(config.stateDir, `${config.stateDir}.moved`);
    await writeFile(config.stateDir, 'a file where the state folder should be');
    try {
      const slot = new Date(Date.UTC(2026, 11, 7, 3, 0));
      expect(await runSlotAt({ config, env, world }, slot)).toBeUndefined();
      const row = await slotRowAt(config, slot);
      expect(row).toMatchObject({
        outcome: 'error',
        code: 'NOT_A_DIRECTORY',
        message: expect.stringMatching(
          /^cannot use \S+: a part of the path is a file where a folder should be \(ENOTDIR\)\. Move that file out of the way\.$/,
        ),
      });
      expect(row?.message).not.toMatch(/ENOTDIR: not a directory/);
    } finally {
      await rm(config.stateDir, { force: true });
      await rename(`${config.stateDir}.moved`, config.stateDir);
    }
  }, 60_000);
});
