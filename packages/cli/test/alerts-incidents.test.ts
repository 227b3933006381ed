import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { filesAlertStore, regradeIncident } from '@opsbook/alerts';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { approversYaml, type KeyPair, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { LocalTracker } from '@opsbook/tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookBody } from './alerts-server.js';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

/*
 * A senior's day with the binary: saved Alertmanager bodies ingested with alerts.yaml into the
 * embedded tracker, then list, show, and a re-grade signed with the senior's own key (who
 * re-graded is the key's person in the pinned trust store, never OPSBOOK_USER).
 */

async function readLocal(dir: string, key: string): Promise<{ created: string }> {
  return JSON.parse(await readFile(path.join(dir, 'state/tracker/tickets', `${key}.json`), 'utf8'));
}

const RULES = `apiVersion: opsbook/v1
kind: AlertRules
version: 7
correlate:
  - {name: cluster, by: {labels: [cluster]}}
grading:
  rules:
    - {grade: P1, when: {minSeverity: critical, minHosts: 3}}
    - {grade: P3, when: {minSeverity: warning}}
ownership:
  default: {roundRobin: [eve, sam]}
`;

describe('opsbook alerts list, show, grade', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let keys: Record<'sam' | 'bob' | 'eve' | 'mallory', KeyPair>;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
    runCli(args, { cwd: temp.dir, env: { ...env, ...extra } });

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-alerts-senior-');
    const keyDir = path.join(temp.dir, 'keys');
    await mkdir(keyDir);
    const [sam, bob, eve, mallory] = await Promise.all(
      ['sam', 'bob', 'eve', 'mallory'].map((id) => makeSshKeyPair(keyDir, id)),
    );
    keys = { sam: sam!, bob: bob!, eve: eve!, mallory: mallory! };
    env = {
      OPSBOOK_TRUST_DIR: path.join(temp.dir, 'trust-pin'),
      HOME: path.join(temp.dir, 'home'),
      SSH_AUTH_SOCK: '',
      OPSBOOK_KEY_PASSPHRASE: '',
    };
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: local}\n',
    );
    await writeFile(
      path.join(temp.dir, 'approvers.yaml'),
      approversYaml([
        { id: 'sam', name: 'Sam Senior', roles: ['senior'], keys: [keys.sam.publicLine] },
        { id: 'bob', name: 'Bob Senior', roles: ['senior'], keys: [keys.bob.publicLine] },
        { id: 'eve', name: 'Eve Engineer', roles: ['engineer'], keys: [keys.eve.publicLine] },
      ]),
    );
    await writeFile(path.join(temp.dir, 'alerts.yaml'), RULES);
    expect(await cli(['trust', 'init'])).toMatchObject({ code: 0 });
    const bodies = makeAlertBurst({ alerts: 24, hosts: 8, clusters: 2 });
    for (const [i, b] of bodies.entries())
      await writeFile(path.join(temp.dir, `body-${i}.json`), JSON.stringify(b));
    const ingest = await cli(['alerts', 'ingest', ...bodies.map((_, i) => `body-${i}.json`)]);
    expect(ingest.stderr).toBe('');
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toMatch(
      /^stored 24 alert\(s\) in .*\nconverged 24 alert\(s\): opened INC-1, INC-2\ntickets: OPS-1 for INC-1, OPS-2 for INC-2\n$/,
    );
  });
  afterAll(() => temp.remove());

  it('says of a body ingested again that its alerts are stored already, and nothing more', async () => {
    const again = await cli(['alerts', 'ingest', 'body-0.json']);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toMatch(/^stored 0 alert\(s\) in .*; \d+ already stored\n$/);
  });

  it('lists the open incidents with grade, alerts, hosts, ticket and assignee', async () => {
    const r = await cli(['alerts', 'list']);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .split('\n')
        .slice(0, 3)
        .map((l) => l.split(/\s+/).slice(0, 6)),
    ).toEqual([
      ['incident', 'grade', 'alerts', 'hosts', 'ticket', 'assignee'],
      ['INC-2', 'P1', '12/12', '4', 'OPS-2', 'sam'],
      ['INC-1', 'P1', '12/12', '4', 'OPS-1', 'eve'],
    ]);
    const json = JSON.parse((await cli(['alerts', 'list', '--json'])).stdout) as {
      incidents: Array<{ id: string; hosts: string[]; keys: string[] }>;
    };
    expect(json.incidents.map((i) => [i.id, i.keys])).toEqual([
      ['INC-2', ['cluster=cluster-2']],
      ['INC-1', ['cluster=cluster-1']],
    ]);
  });

  it('shows an incident by its id or its ticket, with the reason of its grade and every alert', async () => {
    const byId = await cli(['alerts', 'show', 'INC-1']);
    expect(byId.code).toBe(0);
    expect(byId.stdout).toMatch(/^INC-1 {2}P1 {2}open {2}ticket OPS-1 /);
    expect(byId.stdout).toContain(
      'grade P1: P1 by grading rule 1: severity critical (at least critical), 4 hosts (at least 3)',
    );
    expect(byId.stdout).toContain('alerts (12, 12 firing):');
    expect(byId.stdout.match(/^DiskFull +host-00\d/gm)).toHaveLength(4);
    expect((await cli(['alerts', 'show', 'OPS-1'])).stdout).toBe(byId.stdout);
    // Typed in lower case, as Jira takes keys.
    expect((await cli(['alerts', 'show', 'inc-1'])).stdout).toBe(byId.stdout);
    expect((await cli(['alerts', 'show', 'ops-1'])).stdout).toBe(byId.stdout);
    const unknown = await cli(['alerts', 'show', 'INC-99']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no incident has the id or ticket INC-99: opsbook alerts list/);
  });

  it('re-grades as the senior its key proves, records it, and comments on the ticket once', async () => {
    // OPSBOOK_USER says nothing: eve's key is an engineer's, whatever the environment claims.
    const asEve = await cli(
      ['alerts', 'grade', 'INC-1', 'P3', '--reason', 'lab cluster', '--key', keys.eve.keyFile],
      { OPSBOOK_USER: 'sam' },
    );
    expect(asEve.code).toBe(3);
    expect(asEve.stderr).toMatch(/SIGNER_NOT_SENIOR/);
    const unknown = await cli([
      'alerts',
      'grade',
      'INC-1',
      'P3',
      '--reason',
      'x',
      '--key',
      keys.mallory.keyFile,
    ]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/SIGNER_UNTRUSTED/);

    const r = await cli([
      'alerts',
      'grade',
      'OPS-1',
      'P3',
      '--reason',
      'lab cluster, no users',
      '--key',
      keys.sam.keyFile,
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `INC-1 re-graded P1 → P3 by Sam Senior (sam, key ${keys.sam.fingerprint})\n`,
    );
    const show = (await cli(['alerts', 'show', 'INC-1'])).stdout;
    expect(show).toMatch(/^INC-1 {2}P3 /);
    expect(show).toContain(
      `re-graded P3: lab cluster, no users — by Sam Senior (sam, key ${keys.sam.fingerprint})`,
    );
    expect(show).toContain('the rules say: P1 by grading rule 1');
    const ticket = JSON.parse(
      await readFile(path.join(temp.dir, 'state/tracker/tickets/OPS-1.json'), 'utf8'),
    ) as { comments: Array<{ body: unknown }>; grade: string; summary: string };
    expect(ticket.comments).toHaveLength(1);
    expect(JSON.stringify(ticket.comments[0])).toContain('Re-graded P1 → P3');
    expect(ticket.grade).toBe('P3'); // the ticket's priority follows the re-grade
    expect(ticket.summary).toMatch(/^\[P3\] /); // and so does the grade its summary names
    // A re-grade to the grade it has is refused: no second decision, no comment. The grade is
    // read in any case, as the incident id is (p3 is P3).
    const same = await cli([
      'alerts',
      'grade',
      'OPS-1',
      'p3',
      '--reason',
      'still lab',
      '--key',
      keys.sam.keyFile,
    ]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(
      /INC-1 \(OPS-1\) already is P3, re-graded by Sam Senior: nothing to re-grade/,
    );
    // Dispatching again sends nothing more.
    const again = await cli(['alerts', 'dispatch']);
    expect(again).toMatchObject({ code: 0, stdout: 'nothing to converge or send\n' });
    const json = JSON.parse((await cli(['alerts', 'show', 'INC-1', '--json'])).stdout) as {
      incident: { regrades: Array<{ by: { id: string }; proof: { keyid: string } }> };
    };
    // Signed with what it decides on: copied onto another incident, it proves nothing there.
    expect(json.incident.regrades[0]).toMatchObject({
      kind: 'alert-regrade',
      incident: 'INC-1',
      ticket: 'OPS-1',
      from: 'P1',
      by: { id: 'sam' },
      proof: { keyid: keys.sam.fingerprint },
    });
  });

  it('adds an alerts section to the health report: alerts per day, incidents, time to acknowledge', async () => {
    // What opsbook ticket propose records on a ticket: its history's 'proposed' step.
    const tracker = new LocalTracker({
      stateDir: path.join(temp.dir, 'state'),
      actor: 'eve',
      project: 'OPS',
    });
    const assigned = (await readLocal(temp.dir, 'OPS-2')).created;
    const proposed = new Date(Date.parse(assigned) + 45 * 60_000).toISOString();
    await tracker.setProperty('OPS-2', 'opsbook.history', [
      {
        step: 'proposed',
        at: proposed,
        by: { id: 'eve', name: 'Eve', fingerprint: keys.eve.fingerprint },
      },
    ]);
    const r = await cli(['report', '--format', 'json', '--since', '1d']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { alerts?: Record<string, unknown> };
    expect(report.alerts).toMatchObject({
      firing: 24,
      resolved: 0,
      incidents: { opened: 2, open: 2 },
      acknowledge: { count: 1, pending: 1 },
      resolve: { count: 0, pending: 2 },
      waiting: [{ incident: 'INC-1', ticket: 'OPS-1', grade: 'P3' }],
    });
    expect(
      (report.alerts as { acknowledge: { medianMinutes: number } }).acknowledge.medianMinutes,
    ).toBeCloseTo(45, 0);
    const md = await cli(['report', '--format', 'md', '--since', '1d']);
    expect(md.stdout).toContain('### Alerts and incidents');
    expect(md.stdout).toContain('24 alert(s) fired and 0 resolved');
  });

  it("refuses a senior's signed re-grade of INC-1 copied onto INC-2: not sent, shown UNPROVEN", async () => {
    // Whoever can write the alert store copies sam's real, signed re-grade of INC-1 onto INC-2.
    const store = filesAlertStore(path.join(temp.dir, 'state'));
    try {
      const signed = (await store.incident('INC-1'))!.regrades[0]!;
      expect(signed.by?.id).toBe('sam');
      await regradeIncident(store, 'INC-2', signed);
    } finally {
      await store.close();
    }
    const before = await readLocal(temp.dir, 'OPS-2');
    const dispatch = await cli(['alerts', 'dispatch']);
    expect(dispatch.stderr).not.toMatch(stackTrace);
    expect(dispatch.stdout).toMatch(/INC-2 \(REGRADE_UNPROVEN\)/);
    const ticket = JSON.parse(
      await readFile(path.join(temp.dir, 'state/tracker/tickets/OPS-2.json'), 'utf8'),
    ) as { comments: unknown[]; grade: string };
    expect(ticket.grade).toBe('P1');
    expect(JSON.stringify(ticket.comments)).not.toContain('Re-graded');
    expect(ticket).toEqual(before);
    const show = (await cli(['alerts', 'show', 'INC-2'])).stdout;
    expect(show).toMatch(/^re-graded P3: lab cluster, no users — by Sam Senior .* — UNPROVEN: /m);
    expect(show).toContain('(REGRADE_UNPROVEN)');
    // INC-1's own re-grade stays proven.
    expect((await cli(['alerts', 'show', 'INC-1'])).stdout).not.toContain('UNPROVEN');
  });

  it("shows a sender's label values on their line: a line break in one prints no forged incident", async () => {
    const forged = 'DiskFull\nINC-7  P4  closed  no ticket yet <- all clear';
    const labels = {
      alertname: forged,
      cluster: 'cluster-3\nINC-8  P4',
      host: 'host-900\r\nINC-9  P4',
      severity: 'warning\u2028INC-10  P4',
    };
    await writeFile(
      path.join(temp.dir, 'forged.json'),
      JSON.stringify(
        webhookBody({
          labels,
          annotations: { summary: 'disk\nINC-11  P4' },
          startsAt: '2026-12-05T07:00:00Z',
          fingerprint: '00000000000000aa',
        }),
      ),
    );
    const ingest = await cli(['alerts', 'ingest', 'forged.json', '--no-dispatch']);
    expect(ingest.stderr).not.toMatch(stackTrace);
    const id = /opened (INC-\d+)/.exec(ingest.stdout)?.[1];
    expect(id).toBeDefined();
    const show = await cli(['alerts', 'show', id!]);
    expect(show.code).toBe(0);
    // No line but the incident's own begins with an incident id: every forged one stays inline.
    expect(show.stdout.split('\n').filter((l) => /^INC-\d/.test(l))).toHaveLength(1);
    expect(show.stdout).toContain(String.raw`DiskFull\x0aINC-7  P4`);
    expect(show.stdout).toContain(String.raw`cluster-3\x0aINC-8`);
    expect(show.stdout).toContain(String.raw`host-900\x0d\x0aINC-9`);
    expect(show.stdout).toContain(String.raw`disk\x0aINC-11`);
    expect(show.stdout).not.toMatch(/[\r\u2028\u2029]/);
    const list = await cli(['alerts', 'list']);
    expect(list.stdout.split('\n').filter((l) => /^INC-\d/.test(l))).toHaveLength(3);
  });

  it('takes what the senior found on the ticket of a comment opsbook could not tell posted, and refuses it where none waits', async () => {
    // What a dispatch pass leaves when Jira's delivery check says TRACKER_DELIVERY_UNCERTAIN:
    // INC-1's newest comment sent once, its answer lost, the ticket past 5,000 comments.
    const store = filesAlertStore(path.join(temp.dir, 'state'));
    try {
      await store.transact(0, async (state) => {
        const incident = state.incidents.find((i) => i.id === 'INC-1')!;
        const last = incident.comments.at(-1)!;
        delete last.commentId;
        last.attempted = true;
        last.uncertain = true;
        return { change: { incidents: [incident] }, result: undefined };
      });
    } finally {
      await store.close();
    }
    const before = await readLocal(temp.dir, 'OPS-1');
    const both = await cli([
      'alerts',
      'dispatch',
      '--uncertain-posted',
      'INC-1',
      '--resend-uncertain',
      'INC-1',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/say opposite things/);
    const none = await cli(['alerts', 'dispatch', '--resend-uncertain', 'inc-2']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'INC-2 (OPS-2) has no comment that opsbook could not tell posted or not',
    );
    expect(none.stderr).not.toMatch(stackTrace);
    const posted = await cli(['alerts', 'dispatch', '--uncertain-posted', 'ops-1']);
    expect(posted.stderr).not.toMatch(stackTrace);
    expect(posted.code).toBe(0);
    expect(posted.stderr).toContain(
      'INC-1: 1 comment(s) recorded as posted on OPS-1; not sent again',
    );
    // Recorded posted: nothing is sent (a resend would post it a second time), now or later.
    expect(await readLocal(temp.dir, 'OPS-1')).toEqual(before);
    expect((await cli(['alerts', 'dispatch'])).code).toBe(0);
    expect(await readLocal(temp.dir, 'OPS-1')).toEqual(before);
    const after = filesAlertStore(path.join(temp.dir, 'state'));
    try {
      const last = (await after.incident('INC-1'))!.comments.at(-1)!;
      expect(last.commentId).toBe('');
      expect(last.uncertain).toBeUndefined();
    } finally {
      await after.close();
    }
  });

  it('refuses a grade outside P1-P4 and a re-grade without a reason, with exit 2', async () => {
    const bad = await cli([
      'alerts',
      'grade',
      'INC-2',
      'P5',
      '--reason',
      'x',
      '--key',
      keys.sam.keyFile,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/grade P5 is not one of P1, P2, P3, P4/);
    const noReason = await cli(['alerts', 'grade', 'INC-2', 'P2', '--key', keys.sam.keyFile]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
  });
  it("opens a new incident and ticket for an alert that comes after INC-1's ticket is Done, and shows INC-1 closed", async () => {
    const tracker = new LocalTracker({
      stateDir: path.join(temp.dir, 'state'),
      actor: 'sam',
      project: 'OPS',
    });
    for (const status of ['Awaiting Approval', 'Approved', 'In Progress', 'In Review', 'Done'])
      await tracker.transition('OPS-1', status);
    const before = (await tracker.read('OPS-1')).comments.length;
    const inc1 = JSON.parse((await cli(['alerts', 'show', 'INC-1', '--json'])).stdout) as {
      incident: { lastStartsAt: string };
    };
    await writeFile(
      path.join(temp.dir, 'late.json'),
      JSON.stringify(
        webhookBody({
          labels: {
            alertname: 'HighLoad',
            severity: 'critical',
            cluster: 'cluster-1',
            host: 'web-2',
          },
          startsAt: inc1.incident.lastStartsAt,
          fingerprint: '00000000000000bb',
        }),
      ),
    );
    const ingest = await cli(['alerts', 'ingest', 'late.json']);
    expect(ingest.stderr).not.toMatch(stackTrace);
    const line =
      /^closed INC-1: its ticket OPS-1 is Done; its new alerts opened (INC-\d+) \(nothing posted on OPS-1\)$/m.exec(
        ingest.stdout,
      );
    expect(line, ingest.stdout).not.toBeNull();
    const next = line![1]!;
    expect(ingest.stdout).not.toMatch(/comment\(s\) posted/);
    expect((await tracker.read('OPS-1')).comments).toHaveLength(before);
    const list = (await cli(['alerts', 'list', '--all'])).stdout;
    expect(list).toMatch(/^INC-1 .* closed \(OPS-1 Done\)$/m);
    expect(list).toMatch(new RegExp(`^${next} .* open$`, 'm'));
    expect((await cli(['alerts', 'list'])).stdout).not.toMatch(/^INC-1 /m);
    const show = (await cli(['alerts', 'show', next])).stdout;
    expect(show).toContain('follows INC-1: its ticket OPS-1 was Done when these alerts came');
    expect((await cli(['alerts', 'show', 'INC-1'])).stdout).toMatch(
      /^INC-1 {2}P3 {2}closed \(OPS-1 Done\) /,
    );
  });
});

describe('the health report without alerts', () => {
  it('has no alerts section', async () => {
    const temp = await makeTempDir('opsbook-report-no-alerts-');
    try {
      await writeFile(
        path.join(temp.dir, 'opsbook.yaml'),
        'apiVersion: opsbook/v1\nkind: Config\n',
      );
      const r = await runCli(['report', '--format', 'json'], { cwd: temp.dir });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).not.toHaveProperty('alerts');
      expect((await runCli(['report', '--format', 'md'], { cwd: temp.dir })).stdout).not.toContain(
        'Alerts and incidents',
      );
    } finally {
      await temp.remove();
    }
  });
});
