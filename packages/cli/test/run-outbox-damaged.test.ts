import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * A damaged entry in the outbox (a file the disk or an edit cut short) keeps every tracker write
 * from going out, the run's too: its move to In Progress and its end wait behind it. The run
 * itself goes on (the ticket's claim is not an outbox write), but its end message must not send
 * the engineer to `ticket report`, which meets the same entry: it says the ticket still shows
 * Approved, which writes wait, the damaged file and what to do. Through the real binary, the
 * embedded tracker and a real sshd host.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
});
afterAll(async () => {
  await world?.remove();
});

interface RunJson {
  ticket: {
    end: {
      pending: Array<{ write: { kind: string; status?: string } }>;
      blockedBy?: Array<{ file: string; message: string }>;
      shownStatus?: string;
    };
  };
}

describe('opsbook run with a damaged outbox entry', () => {
  it('says the ticket still shows Approved, which writes wait behind which file, and what to do', async () => {
    const outbox = path.join(world.stateDir, 'outbox');
    await mkdir(outbox, { recursive: true });
    const damaged = path.join(outbox, '0000000001-damaged.json');
    for (const json of [false, true]) {
      const dir = path.join(world.markerDir, `outbox-damaged-${json}`);
      await mkdir(dir, { recursive: true });
      const file = await approvedFile(
        world,
        'marker',
        `outbox-damaged-${json}.json`,
        [world.people.alice],
        {
          params: { dir },
        },
      );
      const { ticket: key } = statementOf(await readEnvelope(file));
      await writeFile(damaged, '{"id": "damaged", "ticket": ');
      const r = await world.opsbook(['run', file, ...(json ? ['--json'] : [])]);
      expect(r.stderr).not.toMatch(stackTrace);
      // The hosts' work went well; the ticket's writes wait, which the message says.
      expect(r.code, r.stderr).toBe(0);
      if (json) {
        const end = (JSON.parse(r.stdout) as RunJson).ticket.end;
        expect(end.shownStatus).toBe('Approved');
        expect(end.blockedBy?.map((d) => d.file)).toEqual([damaged]);
        expect(end.pending.map((e) => e.write.status ?? e.write.kind)).toContain('In Progress');
        expect(end.pending.map((e) => e.write.status ?? e.write.kind)).toContain('In Review');
      } else {
        expect(r.stdout).not.toContain(`opsbook ticket report ${key} reports it`);
        expect(r.stdout).toMatch(
          new RegExp(
            `^ticket ${key} was not told: it still shows "Approved", as \\d+ write\\(s\\) to it wait in the outbox \\(.*transition → In Progress, .*transition → In Review.*\\) behind 1 damaged outbox entry\\(ies\\) that the outbox sends nothing past: ${damaged}:1:\\d+: .*move it out of the outbox folder.*opsbook outbox flush sends them`,
            'm',
          ),
        );
      }
      // Moved out of the folder as the message says, the entry holds nothing back: one flush
      // sends the run's writes.
      await rename(damaged, path.join(world.stateDir, `damaged-${json}.json`));
      const flushed = await world.opsbook(['outbox', 'flush']);
      expect(flushed.code, flushed.stderr).toBe(0);
      expect((await world.opsbook(['outbox', 'list'])).stdout).toContain('the outbox is empty');
    }
  });
});
