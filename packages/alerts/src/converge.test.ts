import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { describe, expect, it } from 'vitest';
import { estateTopology, rulesOf } from './__fixtures__/rules.js';
import { type FixtureAlert, webhookPayload } from './__fixtures__/webhook.js';
import { type AlertRecord, parseWebhookBody } from './alert.js';
import type { AlertState } from './alert-store.js';
import { type ConvergeResult, convergeAlerts } from './converge.js';
import { incidentHosts } from './incident.js';
import type { AlertRules } from './rules.js';
import { proposeComment } from './ticket-doc.js';
import { type Topology, topologyOf } from './topology.js';

const HEAD = 'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\n';

/** Alerts as the intake stores them, received at `at`. */
function received(alerts: FixtureAlert[], at: string): AlertRecord[] {
  return parseWebhookBody(JSON.stringify(webhookPayload(alerts)), new Date(at), 'test');
}

/** Runs passes over the alerts of each delivery, keeping the state between them, as the store does. */
class World {
  state: AlertState = { nextIncident: 1, counters: {}, incidents: [] };
  private ids = 0;
  constructor(
    readonly rules: AlertRules,
    readonly topology: Topology = topologyOf(undefined, 'services'),
  ) {}

  pass(alerts: AlertRecord[], now = alerts.at(-1)?.receivedAt ?? '2024-05-01T12:00:00Z') {
    const result: ConvergeResult = convergeAlerts({
      rules: this.rules,
      topology: this.topology,
      state: structuredClone(this.state),
      alerts,
      now: new Date(now),
      newDeliveryId: () => `delivery-${++this.ids}`,
    });
    const byId = new Map(this.state.incidents.map((i) => [i.id, i]));
    for (const i of result.change.incidents ?? []) byId.set(i.id, i);
    this.state = {
      nextIncident: result.change.nextIncident ?? this.state.nextIncident,
      counters: result.change.counters ?? this.state.counters,
      incidents: [...byId.values()].filter((i) => i.open),
    };
    return result;
  }

  get open() {
    return this.state.incidents;
  }

  /** As if dispatch had put everything on the tickets. */
  markDispatched() {
    for (const i of this.state.incidents) {
      i.ticket = {
        ...i.ticket,
        key: `OPS-${i.id.slice(4)}`,
        reportedGrade: i.grade.grade,
        priority: i.grade.grade,
      };
      for (const a of i.alerts) a.reported = { status: a.status, fired: a.fired };
    }
  }
}

describe('convergeAlerts', () => {
  it('converges a burst of 2,000 alerts on 200 hosts into one incident per cluster', async () => {
    const rules = await rulesOf(
      `${HEAD}correlate:\n  - {name: cluster, by: {labels: [cluster]}}\n`,
    );
    const world = new World(rules);
    const alerts = makeAlertBurst({ alerts: 2000, hosts: 200 }).flatMap((p) =>
      parseWebhookBody(JSON.stringify(p), new Date('2026-01-01T00:00:10Z'), 'burst'),
    );
    const result = world.pass(alerts);
    expect(result.opened).toEqual(['INC-1', 'INC-2', 'INC-3', 'INC-4']);
    expect(world.open.map((i) => [i.keys, i.alerts.length, incidentHosts(i).length])).toEqual([
      [['cluster=cluster-1'], 500, 50],
      [['cluster=cluster-2'], 500, 50],
      [['cluster=cluster-3'], 500, 50],
      [['cluster=cluster-4'], 500, 50],
    ]);
    // The same burst delivered again (Alertmanager repeating it) changes nothing.
    expect(world.pass(alerts).change.incidents).toEqual([]);
  });

  it('keeps a flapping alert in its incident: it fires, resolves and fires again, one incident', async () => {
    const world = new World(await rulesOf(HEAD));
    const labels = { alertname: 'HighLoad', host: 'web-1', severity: 'warning' };
    world.pass(received([{ labels, startsAt: '2024-05-01T10:00:00Z' }], '2024-05-01T10:00:01Z'));
    const resolved = world.pass(
      received(
        [
          {
            labels,
            status: 'resolved',
            startsAt: '2024-05-01T10:00:00Z',
            endsAt: '2024-05-01T10:03:00Z',
          },
        ],
        '2024-05-01T10:03:01Z',
      ),
    );
    expect(resolved.closed).toEqual([]);
    expect(world.open[0]!.alerts[0]).toMatchObject({ status: 'resolved', fired: 1 });
    const again = world.pass(
      received([{ labels, startsAt: '2024-05-01T10:05:00Z' }], '2024-05-01T10:05:01Z'),
    );
    expect(again.opened).toEqual([]);
    expect(world.open).toHaveLength(1);
    expect(world.open[0]!.alerts).toHaveLength(1);
    expect(world.open[0]!.alerts[0]).toMatchObject({ status: 'firing', fired: 2 });
  });

  it('takes an alert firing again with the startsAt it resolved with (Prometheus restarted) as firing again', async () => {
    const world = new World(await rulesOf(HEAD));
    const labels = { alertname: 'NodeDown', host: 'db-1', severity: 'critical' };
    const startsAt = '2024-05-01T10:00:00Z';
    world.pass(received([{ labels, startsAt }], '2024-05-01T10:00:01Z'));
    world.pass(
      received(
        [{ labels, status: 'resolved', startsAt, endsAt: '2024-05-01T10:03:00Z' }],
        '2024-05-01T10:03:01Z',
      ),
    );
    expect(world.open[0]!.alerts[0]).toMatchObject({ status: 'resolved', fired: 1 });
    // What the intake stores of the same startsAt firing after its resolution: its second round.
    const again = received([{ labels, startsAt }], '2024-05-01T10:05:01Z').map((r) => ({
      ...r,
      round: 1,
    }));
    world.pass(again);
    expect(world.open).toHaveLength(1);
    expect(world.open[0]!.alerts[0]).toMatchObject({ status: 'firing', fired: 2, startsAt });
    expect(world.open[0]!.alerts[0]!.endsAt).toBeUndefined();
  });

  it('takes a firing with the startsAt it resolved with, stored after the resolution without a round, as firing again', async () => {
    const world = new World(
      await rulesOf(`${HEAD}correlate:\n  - name: host\n    by: { labels: [host] }\n`),
    );
    const labels = { alertname: 'NodeDown', host: 'db-1', severity: 'critical' };
    const startsAt = '2024-05-01T10:00:00Z';
    world.pass(received([{ labels, startsAt }], '2024-05-01T10:00:01Z'));
    world.pass(
      received(
        [{ labels, status: 'resolved', startsAt, endsAt: '2024-05-01T10:03:00Z' }],
        '2024-05-01T10:03:01Z',
      ),
    );
    // The files store, restarted, remembers a day of alerts: a firing again two days later (the
    // incident held open by another alert) is stored as if it were the first round. The store
    // stores no repeat it knows, so a firing stored after the resolution is a firing again.
    const other = { alertname: 'DiskFull', host: 'db-1', severity: 'warning' };
    world.pass(received([{ labels: other, startsAt }], '2024-05-01T10:04:00Z'));
    world.pass(received([{ labels, startsAt }], '2024-05-03T10:05:01Z'));
    expect(world.open).toHaveLength(1);
    expect(world.open[0]!.alerts[0]).toMatchObject({ status: 'firing', fired: 2, startsAt });
  });

  it('never closes an incident because its alerts resolved; it closes once quiet, and a later alert opens another', async () => {
    const world = new World(await rulesOf(`${HEAD}quiet: 1h\n`));
    const labels = { alertname: 'DiskFull', host: 'db-1' };
    world.pass(received([{ labels, startsAt: '2024-05-01T10:00:00Z' }], '2024-05-01T10:00:01Z'));
    world.pass(
      received(
        [{ labels, status: 'resolved', startsAt: '2024-05-01T10:00:00Z' }],
        '2024-05-01T10:10:00Z',
      ),
      '2024-05-01T10:30:00Z',
    );
    expect(world.open.map((i) => i.open)).toEqual([true]);
    // Not before its ticket shows everything (dispatch works on open incidents) …
    expect(world.pass([], '2024-05-01T11:10:01Z').closed).toEqual([]);
    world.markDispatched();
    // … then quiet for an hour since its last alert: closed.
    const quiet = world.pass([], '2024-05-01T11:10:01Z');
    expect(quiet.closed).toEqual(['INC-1']);
    const later = world.pass(
      received([{ labels, startsAt: '2024-05-01T12:00:00Z' }], '2024-05-01T12:00:01Z'),
    );
    expect(later.opened).toEqual(['INC-2']);
  });

  it('opens separate incidents for alerts of one cluster further apart than the window', async () => {
    const world = new World(
      await rulesOf(
        `${HEAD}window: 10m\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\n`,
      ),
    );
    const at = (host: string, startsAt: string) => ({
      labels: { alertname: 'HighLoad', cluster: 'eu', host },
      startsAt,
    });
    world.pass(
      received(
        [at('a', '2024-05-01T10:00:00Z'), at('b', '2024-05-01T10:09:00Z')],
        '2024-05-01T10:09:01Z',
      ),
    );
    const r = world.pass(received([at('c', '2024-05-01T10:40:00Z')], '2024-05-01T10:40:01Z'));
    expect(r.opened).toEqual(['INC-2']);
    expect(world.open.map((i) => i.alerts.length)).toEqual([2, 1]);
  });

  it('correlates by inventory topology: hosts of one group, of one zone, and a host with the services on it', async () => {
    const topology = estateTopology();
    const byGroup = new World(
      await rulesOf(`${HEAD}correlate:\n  - {name: tiers, by: {groups: [db, web]}}\n`),
      topology,
    );
    byGroup.pass(
      received(
        [
          { labels: { alertname: 'DiskFull', instance: 'db-1:9100' } },
          { labels: { alertname: 'HighLoad', instance: '10.0.0.12:9100' } },
          { labels: { alertname: 'HighLoad', host: 'web-2' } },
        ],
        '2024-05-01T10:00:01Z',
      ),
    );
    expect(byGroup.open.map((i) => [i.keys, incidentHosts(i)])).toEqual([
      [['group:db'], ['db-1', 'db-2']],
      [['group:web'], ['web-2']],
    ]);

    const byZone = new World(
      await rulesOf(`${HEAD}correlate:\n  - {name: zone, by: {hostVar: zone}}\n`),
      topology,
    );
    byZone.pass(
      received(
        [
          { labels: { alertname: 'NodeDown', host: 'db-1' } },
          { labels: { alertname: 'NodeDown', host: 'db-2' } },
          { labels: { alertname: 'NodeDown', host: 'web-1' } },
        ],
        '2024-05-01T10:00:01Z',
      ),
    );
    expect(byZone.open.map((i) => i.keys)).toEqual([['zone=eu-1'], ['zone=eu-2']]);

    const byHost = new World(
      await rulesOf(`${HEAD}correlate:\n  - {name: host, by: {host: true}}\n`),
      topology,
    );
    byHost.pass(
      received(
        [
          { labels: { alertname: 'NodeDown', instance: '10.0.1.21:9100' } },
          // a blackbox probe of a service names no host: it belongs to the hosts that run it
          { labels: { alertname: 'ProbeFailed', service: 'nginx' } },
          { labels: { alertname: 'ServiceDown', service: 'postgres', host: 'db-2' } },
        ],
        '2024-05-01T10:00:01Z',
      ),
    );
    expect(byHost.open.map((i) => [i.alerts.map((a) => a.alertname), i.keys])).toEqual([
      [
        ['NodeDown', 'ProbeFailed'],
        ['host:web-1', 'host:web-2'],
      ],
      [['ServiceDown'], ['host:db-2']],
    ]);
  });

  it('takes each alert by the first rule that applies (match, then keys), else by the fallback labels', async () => {
    const world = new World(
      await rulesOf(
        `${HEAD}correlate:\n  - {name: pages, match: {severity: critical}, by: {labels: [service]}}\n  - {name: clusters, by: {labels: [cluster]}}\nfallback: [alertname]\n`,
      ),
    );
    world.pass(
      received(
        [
          { labels: { alertname: 'A', severity: 'critical', service: 'pay', cluster: 'eu' } },
          { labels: { alertname: 'B', severity: 'warning', service: 'pay', cluster: 'eu' } },
          { labels: { alertname: 'C', severity: 'warning' } },
          { labels: { alertname: 'C', severity: 'info', host: 'x' } },
        ],
        '2024-05-01T10:00:01Z',
      ),
    );
    expect(world.open.map((i) => [i.rule, i.keys, i.alerts.length])).toEqual([
      ['pages', ['service=pay'], 1],
      ['clusters', ['cluster=eu'], 1],
      ['fallback', ['alertname=C'], 2],
    ]);
  });

  it('skips the resolution of an alert no incident holds instead of opening one', async () => {
    const world = new World(await rulesOf(HEAD));
    const r = world.pass(
      received([{ status: 'resolved', labels: { alertname: 'Old' } }], '2024-05-01T10:00:01Z'),
    );
    expect(r).toMatchObject({ opened: [], skipped: 1 });
  });
});

describe('grading and assignment', () => {
  const grading = `grading:
  default: P4
  rules:
    - {grade: P1, when: {minSeverity: critical, minHosts: 3}}
    - {grade: P1, when: {labels: {tier: core}}}
    - {grade: P2, when: {minSeverity: critical}}
    - {grade: P3, when: {minSeverity: warning}}
`;

  it('grades by severity, breadth and labels, and writes why; the grade rises as the incident spreads', async () => {
    const world = new World(
      await rulesOf(`${HEAD}correlate:\n  - {name: c, by: {labels: [cluster]}}\n${grading}`),
    );
    const alert = (host: string, severity: string, extra: Record<string, string> = {}) => ({
      labels: { alertname: 'X', cluster: 'eu', host, severity, ...extra },
    });
    world.pass(received([alert('a', 'warning')], '2024-05-01T10:00:01Z'));
    expect(world.open[0]!.grade).toMatchObject({
      grade: 'P3',
      reason:
        'P3 by grading rule 4: severity warning (at least warning) (worst severity warning, 1 host, 0 services, 1 alert)',
    });
    world.pass(received([alert('b', 'critical')], '2024-05-01T10:01:01Z'));
    expect(world.open[0]!.grade.grade).toBe('P2');
    world.pass(received([alert('c', 'critical')], '2024-05-01T10:02:01Z'));
    expect(world.open[0]!.grade.reason).toMatch(
      /^P1 by grading rule 1: severity critical \(at least critical\), 3 hosts \(at least 3\)/,
    );
    world.pass(
      received([alert('z', 'info', { tier: 'core', cluster: 'us' })], '2024-05-01T10:02:01Z'),
    );
    expect(world.open[1]!.grade.reason).toMatch(/^P1 by grading rule 2: an alert with tier=core/);
  });

  it('grades by the default, saying nothing matched', async () => {
    const world = new World(await rulesOf(`${HEAD}${grading}`));
    world.pass(
      received([{ labels: { alertname: 'Y', severity: 'info' } }], '2024-05-01T10:00:01Z'),
    );
    expect(world.open[0]!.grade.reason).toBe(
      'P4: no grading rule matched (worst severity info, 0 hosts, 0 services, 1 alert)',
    );
  });

  it('suggests runbooks by labels and assigns by ownership: round robin per rule, on call, default', async () => {
    const rules = await rulesOf(
      `${HEAD}correlate:\n  - {name: h, by: {host: true}}
runbooks:
  - {match: {alertname: DiskFull}, runbook: disk-cleanup}
  - {match: {alertname: [NodeDown, HighLoad]}, runbook: node-restart}
ownership:
  rules:
    - {match: {groups: [db]}, roundRobin: [alice, bob]}
    - {match: {labels: {team: storage}}, onCall: oncall.yaml}
  default: {roundRobin: [sam]}
`,
      {
        'oncall.yaml':
          'apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - {from: "2024-05-01T00:00:00Z", person: olga}\n  - {from: "2024-05-01T10:30:00Z", person: omar}\n',
      },
    );
    const world = new World(rules, estateTopology());
    world.pass(
      received(
        [
          { labels: { alertname: 'DiskFull', host: 'db-1' } },
          { labels: { alertname: 'HighLoad', host: 'db-1' } },
          { labels: { alertname: 'DiskFull', host: 'db-2' } },
          { labels: { alertname: 'NodeDown', host: 'db-3-unknown' } },
          { labels: { alertname: 'DiskFull', host: 'nas-1', team: 'storage' } },
        ],
        '2024-05-01T10:00:01Z',
      ),
    );
    world.pass(
      received([{ labels: { alertname: 'DiskFull', host: 'web-1' } }], '2024-05-01T10:01:00Z'),
    );
    world.pass(
      received(
        [{ labels: { alertname: 'DiskFull', host: 'nas-2', team: 'storage' } }],
        '2024-05-01T11:00:00Z',
      ),
    );
    expect(world.open.map((i) => [incidentHosts(i)[0], i.assignee])).toEqual([
      ['db-1', 'alice'],
      ['db-2', 'bob'],
      ['db-3-unknown', 'sam'],
      ['nas-1', 'olga'],
      ['web-1', 'sam'],
      ['nas-2', 'omar'],
    ]);
    expect(world.open[0]!.runbooks).toEqual([
      { runbook: 'disk-cleanup', because: 'alertname=DiskFull' },
      { runbook: 'node-restart', because: 'alertname=NodeDown|HighLoad' },
    ]);
    expect(world.open[0]!.assignedBy).toBe('ownership rule 1, in turn among alice, bob');
    expect(world.open[3]!.assignedBy).toBe('ownership rule 2, on call in oncall.yaml');
    expect(world.open[2]!.assignedBy).toBe('ownership default, in turn among sam');
    expect(world.state.counters).toEqual({ 'ownership.rules[1]': 2, 'ownership.default': 2 });
  });

  it("never puts a host label's value the inventory does not know into the proposing command's --target (a sender's 'all' or a group name would select more hosts)", async () => {
    const rules = await rulesOf(
      `${HEAD}correlate:\n  - {name: c, by: {labels: [cluster]}}
runbooks:
  - {match: {alertname: DiskFull}, runbook: disk-cleanup}
`,
    );
    const world = new World(rules, estateTopology());
    // Alertmanager's senders write the labels: `all` and `web` are Ansible patterns (every host,
    // the web group) that pass for plain host names.
    for (const [cluster, hosts] of [
      ['eu', ['db-1', 'all']],
      ['us', ['web:9100', 'db-2']],
    ] as const)
      world.pass(
        received(
          hosts.map((host) => ({ labels: { alertname: 'DiskFull', cluster, instance: host } })),
          '2024-05-01T10:00:01Z',
        ),
      );
    const commands = world.open.map((i) => JSON.stringify(proposeComment(i, 'OPS-9')));
    expect(commands).toHaveLength(2);
    for (const c of commands) {
      expect(c).toContain('opsbook ticket propose OPS-9 --runbook disk-cleanup --target HOSTS …');
      expect(c).not.toMatch(/--target [^"]*\b(?:all|web)\b/);
    }
  });
});
