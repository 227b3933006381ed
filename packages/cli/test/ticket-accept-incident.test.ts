import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { approversYaml, type KeyPair, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, repoRoot, runCli, stackTrace } from './run-cli.js';

/**
 * A senior's whole loop on the embedded tracker, through the real binary: an alert opens an
 * incident and its ticket, the engineer proposes the shipped daily-inspection on it, a senior
 * approves, the engineer runs it (local transport), another senior accepts.
 */
describe('ticket accept closes the alert incident of its ticket', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  const people: Record<string, KeyPair> = {};
  const as = async (user: string, args: string[]): Promise<CliResult> => {
    const r = await runCli(args, {
      cwd: temp.dir,
      env: { OPSBOOK_USER: user, OPSBOOK_TRUST_DIR: path.join(temp.dir, 'trust-pin') },
    });
    expect(r.stderr).not.toMatch(stackTrace);
    return r;
  };

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-accept-incident-');
    for (const id of ['erin', 'sam', 'val']) people[id] = await makeSshKeyPair(temp.dir, id);
    const entry = (id: string, name: string, role: string) => ({
      id,
      name,
      roles: [role],
      keys: [people[id]!.publicLine],
    });
    await writeFile(
      path.join(temp.dir, 'approvers.yaml'),
      approversYaml([
        entry('erin', 'Erin Engineer', 'engineer'),
        entry('sam', 'Sam Senior', 'senior'),
        entry('val', 'Val Verifier', 'senior'),
      ]),
    );
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      `apiVersion: opsbook/v1\nkind: Config\nrunbooks: ${JSON.stringify(path.join(repoRoot, 'runbooks'))}\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: local}\n`,
    );
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\ngrading: {default: P4}\nownership:\n  default: { roundRobin: [erin] }\n',
    );
    expect((await as('erin', ['trust', 'init'])).code).toBe(0);
  });
  afterAll(() => temp.remove());

  /** Proposed by erin, approved by sam, run by erin: ready for a senior's acceptance. */
  const workOn = async (key: string) => {
    const steps: Array<[string, string[]]> = [
      ['erin', ['ticket', 'propose', key, '--runbook', 'daily-inspection', '--senior', 'sam']],
      ['sam', ['ticket', 'approve', key]],
      ['erin', ['ticket', 'run', key, '--quiet']],
    ];
    for (const [user, args] of steps) {
      const r = await as(user, [...args, '--key', people[user]!.keyFile]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  };
  const body = async (payload: unknown) => {
    await writeFile(path.join(temp.dir, 'body.json'), JSON.stringify(payload));
    return 'body.json';
  };

  it('closes INC-1 when OPS-1 is accepted, without waiting for a dispatch', async () => {
    const ingest = await as('erin', [
      'alerts',
      'ingest',
      await body(makeAlertBurst({ alerts: 2, hosts: 1 })[0]),
    ]);
    expect(ingest.code, ingest.stderr).toBe(0);
    expect(ingest.stdout).toMatch(/tickets: OPS-1 for INC-1/);
    await workOn('OPS-1');
    const open = JSON.parse((await as('val', ['alerts', 'list', '--json'])).stdout) as {
      incidents: Array<{ id: string; open: boolean }>;
    };
    expect(open.incidents.map((i) => [i.id, i.open])).toEqual([['INC-1', true]]);

    const accept = await as('val', ['ticket', 'accept', 'OPS-1', '--key', people.val!.keyFile]);
    expect(accept.code, accept.stderr).toBe(0);
    expect(accept.stdout).toContain(
      'alert incident INC-1 closed with OPS-1: its next alerts open a new incident',
    );
    expect(JSON.parse((await as('val', ['alerts', 'list', '--json'])).stdout)).toEqual({
      incidents: [],
    });
    const all = JSON.parse((await as('val', ['alerts', 'list', '--all', '--json'])).stdout) as {
      incidents: Array<{ id: string; open: boolean; ticketClosed: { status: string } | null }>;
    };
    expect(all.incidents.map((i) => [i.id, i.open, i.ticketClosed?.status])).toEqual([
      ['INC-1', false, 'Done'],
    ]);
  });

  it('leaves an incident open while it holds alerts its ticket does not show; the next dispatch closes it', async () => {
    const burst = makeAlertBurst({ alerts: 6, hosts: 6 }); // hosts 2 and 6 are in cluster-2
    const first = await as('erin', ['alerts', 'ingest', await body(burst[1])]);
    expect(first.stdout).toMatch(/tickets: OPS-2 for INC-2/);
    await workOn('OPS-2');
    const later = await as('erin', ['alerts', 'ingest', '--no-dispatch', await body(burst[5])]);
    expect(later.code, later.stderr).toBe(0);

    const accept = await as('val', ['ticket', 'accept', 'OPS-2', '--key', people.val!.keyFile]);
    expect(accept.code, accept.stderr).toBe(0);
    expect(accept.stdout).toContain(
      'alert incident INC-2 stays open until the next alerts dispatch: it holds alerts firing that OPS-2 does not show yet, which then go to a new incident',
    );
    const dispatch = await as('erin', ['alerts', 'dispatch']);
    expect(dispatch.code, dispatch.stderr).toBe(0);
    const all = JSON.parse((await as('val', ['alerts', 'list', '--all', '--json'])).stdout) as {
      incidents: Array<{ id: string; open: boolean; follows: { incident: string } | null }>;
    };
    expect(all.incidents.map((i) => [i.id, i.open, i.follows?.incident ?? null]).sort()).toEqual([
      ['INC-1', false, null],
      ['INC-2', false, null],
      ['INC-3', true, 'INC-2'],
    ]);
  });
});
