import { migrateStateStore } from '@opsbook/state';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import { makeTempDir } from '@opsbook/testkit/temp';
import { LocalTracker } from '@opsbook/tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesOf } from '../src/__fixtures__/rules.js';
import {
  AlertIntake,
  type AlertRecord,
  type AlertStore,
  filesAlertStore,
  type Incident,
  parseWebhookBody,
  postgresAlertStore,
  processAlerts,
  topologyOf,
} from '../src/index.js';

/*
 * The promises both alert stores keep (alert-store.ts), checked on the files under a temp
 * state dir and on a real PostgreSQL migrated by `opsbook db migrate`'s code.
 */

let pg: Postgres;
let databases = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await pg?.dispose();
});

/** The store another receiver opens on the same place (PostgreSQL: its own pool). */
const peers = new WeakMap<AlertStore, () => AlertStore>();

async function freshPostgres(): Promise<AlertStore> {
  const name = `opsbook_alerts_${process.pid}_${++databases}`;
  await pg.psql(`create database ${name}`);
  const url = `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`;
  await migrateStateStore(url);
  const open = () => {
    const store = postgresAlertStore({ url });
    cleanups.push(() => store.close());
    return store;
  };
  const store = open();
  peers.set(store, open);
  return store;
}

async function freshFiles(): Promise<AlertStore> {
  const temp = await makeTempDir('opsbook-alert-store-');
  const store = filesAlertStore(temp.dir);
  cleanups.push(async () => {
    await store.close();
    await temp.remove();
  });
  // One receiver per state dir: a second intake in the same process shares its store.
  peers.set(store, () => store);
  return store;
}

/** Another receiver's view of `store`: the team's second `alerts serve`. */
const peerOf = (store: AlertStore): AlertStore => peers.get(store)!();

const AM1 = 'http://am-1.example:9093/';
const AM2 = 'http://am-2.example:9093/';

/** One alert's deliveries (`other`: another alert), as Alertmanager `sender` sends them. */
function deliveriesOf(at: string, other = '') {
  const [first] = burstRecords(at, 1, 1);
  const firing = (sender?: string): AlertRecord => ({
    ...first!,
    fingerprint: `${first!.fingerprint}${other}`,
    ...(sender ? { sender } : {}),
  });
  const resolved = (endsAt: string, sender?: string): AlertRecord => ({
    ...firing(sender),
    status: 'resolved',
    endsAt,
  });
  return { firing, resolved };
}

async function roundsIn(store: AlertStore): Promise<string[]> {
  return store.transact(100, (_s, alerts) => ({
    change: {},
    result: alerts.map((a) => `${a.status} ${a.round ?? 0}`),
  }));
}

function burstRecords(at: string, alerts = 40, hosts = 8): AlertRecord[] {
  return makeAlertBurst({ alerts, hosts, clusters: 2 }).flatMap((p) =>
    parseWebhookBody(JSON.stringify(p), new Date(at), 'burst'),
  );
}

const incidentOf = (id: string, openedAt: string, open = true): Incident =>
  ({
    id,
    rule: 'r',
    keys: [],
    rulesVersion: 1,
    openedAt,
    updatedAt: openedAt,
    firstStartsAt: openedAt,
    lastStartsAt: openedAt,
    lastActivity: openedAt,
    open,
    alerts: [],
    grade: { grade: 'P3', reason: 'test', at: openedAt },
    ruleGrade: { grade: 'P3', reason: 'test' },
    regrades: [],
    runbooks: [],
    ticket: { deliveryId: `d-${id}`, attempted: false, ...(open ? {} : { key: `OPS-${id}` }) },
    comments: [],
  }) as Incident;

describe.each([
  { kind: 'files', fresh: freshFiles },
  { kind: 'postgres', fresh: freshPostgres },
])('the $kind alert store', ({ fresh }) => {
  it('gives each stored alert to exactly one pass, in order, and remembers its key', async () => {
    const store = await fresh();
    const records = burstRecords('2024-05-01T10:00:05Z');
    await store.append(records.slice(0, 25));
    await store.append(records.slice(25));
    const first = await store.transact(30, (_s, alerts) => ({
      change: {},
      result: alerts.map((a) => a.fingerprint),
    }));
    const rest = await store.transact(30, (_s, alerts) => ({
      change: {},
      result: alerts.map((a) => a.fingerprint),
    }));
    const none = await store.transact(30, (_s, alerts) => ({ change: {}, result: alerts.length }));
    expect([...first, ...rest]).toEqual(records.map((r) => r.fingerprint));
    expect(first).toHaveLength(30);
    expect(none).toBe(0);
    expect((await store.recentKeys(new Date('2024-05-01T00:00:00Z'))).length).toBe(40);
    expect(await store.recentKeys(new Date('2024-05-02T00:00:00Z'))).toEqual([]);
  });

  it('stores an alert firing again with the startsAt it resolved with as its next round, each round once', async () => {
    const store = await fresh();
    const [firing] = burstRecords('2024-05-01T10:00:05Z', 1, 1);
    const resolved: AlertRecord = {
      ...firing!,
      status: 'resolved',
      endsAt: '2024-05-01T10:03:00Z',
    };
    // Each round resolves at its own time: Alertmanager sends the endsAt of that resolution.
    const resolvedAgain: AlertRecord = { ...resolved, endsAt: '2024-05-01T10:09:00Z' };
    const intake = new AlertIntake(store);
    const deliveries = [firing!, resolved, firing!, firing!, resolvedAgain];
    const results = [];
    for (const d of deliveries) results.push((await intake.accept([d])).accepted);
    expect(results).toEqual([1, 1, 1, 0, 1]);
    const warmed = new AlertIntake(store);
    await warmed.warm(new Date('2024-05-01T00:00:00Z'));
    expect((await warmed.accept([resolvedAgain])).accepted).toBe(0);
    expect((await warmed.accept([firing!])).accepted).toBe(1);
    const taken = await store.transact(10, (_s, alerts) => ({
      change: {},
      result: alerts.map((a) => `${a.status} ${a.round ?? 0}`),
    }));
    expect(taken).toEqual(['firing 0', 'resolved 0', 'firing 1', 'resolved 1', 'firing 2']);
  });

  it('stores a firing after the resolution another receiver stored as the next round, not as a repeat of the first firing', async () => {
    const store = await fresh();
    const other = new AlertIntake(peerOf(store));
    const intake = new AlertIntake(store);
    const { firing, resolved } = deliveriesOf('2024-05-01T10:00:05Z');
    expect((await intake.accept([firing(AM1)])).accepted).toBe(1);
    // The other receiver hears the first firing too (its Alertmanager's repeat): a duplicate.
    expect((await other.accept([firing(AM2)])).accepted).toBe(0);
    expect((await intake.accept([resolved('2024-05-01T10:03:00Z', AM1)])).accepted).toBe(1);
    // It fires again with the startsAt it resolved with, through the other receiver only.
    expect((await other.accept([firing(AM2)])).accepted).toBe(1);
    expect((await intake.accept([firing(AM1)])).accepted).toBe(0);
    expect(await roundsIn(store)).toEqual(['firing 0', 'resolved 0', 'firing 1']);
  });

  it("stores a firing after a resolution as the next round in a receiver started after it, without reading the store's recent alerts", async () => {
    const store = await fresh();
    const { firing, resolved } = deliveriesOf('2024-05-01T10:00:05Z');
    await new AlertIntake(store).accept([firing(AM1), resolved('2024-05-01T10:03:00Z', AM1)]);
    const restarted = new AlertIntake(peerOf(store));
    expect(await restarted.accept([firing(AM1)])).toEqual({ accepted: 1, duplicates: 0 });
    expect(await restarted.accept([firing(AM1)])).toEqual({ accepted: 0, duplicates: 1 });
    expect(await roundsIn(store)).toEqual(['firing 0', 'resolved 0', 'firing 1']);
  });

  it('stores each round of a burst once when two receivers take the same deliveries at the same time', async () => {
    const store = await fresh();
    const a = new AlertIntake(store);
    const b = new AlertIntake(peerOf(store));
    const firing = burstRecords('2024-05-01T10:00:05Z', 30, 6);
    const resolved = firing.map((r) => ({
      ...r,
      status: 'resolved' as const,
      endsAt: '2024-05-01T10:03:00Z',
    }));
    const accepted = async (calls: Promise<{ accepted: number }>[]) =>
      (await Promise.all(calls)).reduce((n, r) => n + r.accepted, 0);
    expect(await accepted([a.accept(firing), b.accept(firing)])).toBe(30);
    expect(await accepted([a.accept(resolved), b.accept(resolved)])).toBe(30);
    expect(await accepted([b.accept(firing), a.accept(firing)])).toBe(30);
    const rounds = await roundsIn(store);
    expect(rounds.filter((r) => r === 'firing 1')).toHaveLength(30);
    expect(rounds).toHaveLength(90);
  });

  it('keeps a real firing again firing when the other Alertmanager of an HA pair sends the resolution before it late (the same endsAt)', async () => {
    const store = await fresh();
    const intake = new AlertIntake(store);
    const { firing, resolved } = deliveriesOf('2024-05-01T10:00:05Z');
    await intake.accept([firing(AM1), resolved('2024-05-01T10:03:00Z', AM1), firing(AM1)]);
    expect(await intake.accept([resolved('2024-05-01T10:03:00Z', AM2)])).toEqual({
      accepted: 0,
      duplicates: 1,
    });
    expect(await roundsIn(store)).toEqual(['firing 0', 'resolved 0', 'firing 1']);
    // Its own resolution (a later endsAt) resolves it.
    expect((await intake.accept([resolved('2024-05-01T10:20:00Z', AM1)])).accepted).toBe(1);
    expect(await roundsIn(store)).toEqual(['resolved 1']);
  });

  it('ends a late duplicate of the first firing with the resolution its Alertmanager sends after it, and keeps the firing when it cannot tell the Alertmanagers apart', async () => {
    const store = await fresh();
    const intake = new AlertIntake(store);
    const a = deliveriesOf('2024-05-01T10:00:05Z');
    // The second Alertmanager sent its firing late (after the first one's resolution): a firing
    // says nothing that dates it, so it is firing again until its own resolution comes.
    await intake.accept([a.firing(AM1), a.resolved('2024-05-01T10:03:00Z', AM1), a.firing(AM2)]);
    expect((await intake.accept([a.resolved('2024-05-01T10:03:00Z', AM2)])).accepted).toBe(1);
    expect(await roundsIn(store)).toEqual(['firing 0', 'resolved 0', 'firing 1', 'resolved 1']);
    // No externalURL: the late resolution could be the one before a real firing again.
    const b = deliveriesOf('2024-05-01T11:00:05Z', 'b');
    await intake.accept([b.firing(), b.resolved('2024-05-01T11:03:00Z'), b.firing()]);
    expect((await intake.accept([b.resolved('2024-05-01T11:03:00Z')])).accepted).toBe(0);
    expect(await roundsIn(store)).toEqual(['firing 0', 'resolved 0', 'firing 1']);
  });

  it('saves nothing of a pass that throws: its alerts are given again', async () => {
    const store = await fresh();
    await store.append(burstRecords('2024-05-01T10:00:05Z', 4, 2));
    await expect(
      store.transact(10, () => {
        throw new Error('convergence bug');
      }),
    ).rejects.toThrow('convergence bug');
    const again = await store.transact(10, (_s, alerts) => ({
      change: { incidents: [incidentOf('INC-1', '2024-05-01T10:00:05Z')], nextIncident: 2 },
      result: alerts.length,
    }));
    expect(again).toBe(4);
    const state = await store.transact(0, (s) => ({ change: {}, result: s }));
    expect(state).toMatchObject({ nextIncident: 2, incidents: [{ id: 'INC-1' }] });
  });

  it('keeps closed incidents out of the open set but finds them by id, ticket and time', async () => {
    const store = await fresh();
    await store.transact(0, () => ({
      change: {
        incidents: [
          incidentOf('INC-1', '2024-05-01T10:00:00Z'),
          incidentOf('INC-2', '2024-05-02T10:00:00Z', false),
          incidentOf('INC-10', '2024-05-03T10:00:00Z'),
        ],
        counters: { 'ownership.default': 3 },
      },
      result: undefined,
    }));
    expect((await store.incidents({ open: true })).map((i) => i.id)).toEqual(['INC-10', 'INC-1']);
    expect((await store.incidents()).map((i) => i.id)).toEqual(['INC-10', 'INC-2', 'INC-1']);
    expect(
      (
        await store.incidents({
          since: new Date('2024-05-01T12:00:00Z'),
          until: new Date('2024-05-02T12:00:00Z'),
        })
      ).map((i) => i.id),
    ).toEqual(['INC-2']);
    expect((await store.incident('INC-2'))?.open).toBe(false);
    expect((await store.incident('OPS-INC-2'))?.id).toBe('INC-2');
    expect(await store.incident('INC-3')).toBeUndefined();
    const state = await store.transact(0, (s) => ({ change: {}, result: s }));
    expect(state.counters).toEqual({ 'ownership.default': 3 });
  });

  it('counts the alerts received per UTC day, each alert once', async () => {
    const store = await fresh();
    const intake = new AlertIntake(store);
    await intake.accept(burstRecords('2024-05-01T23:59:00Z', 10, 2));
    await store.append(burstRecords('2024-05-01T23:59:00Z', 10, 2)); // a repeat the intake would skip
    const resolved = burstRecords('2024-05-02T00:10:00Z', 4, 2).map((r) => ({
      ...r,
      status: 'resolved' as const,
    }));
    await intake.accept(resolved);
    expect(
      await store.alertDays(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-03T00:00:00Z')),
    ).toEqual([
      { day: '2024-05-01', firing: 10, resolved: 0 },
      { day: '2024-05-02', firing: 0, resolved: 4 },
    ]);
  });

  it('lets one dispatcher at a time hold the dispatch lock', async () => {
    const store = await fresh();
    let release: () => void = () => undefined;
    const held = store.dispatchLock(
      () =>
        new Promise<string>((resolve) => {
          release = () => resolve('first');
        }),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.dispatchLock(async () => 'second')).toBeUndefined();
    release();
    expect(await held).toBe('first');
    expect(await store.dispatchLock(async () => 'third')).toBe('third');
  });

  it('converges a burst into incidents and dispatches them once, whoever runs the passes', async () => {
    const store = await fresh();
    const temp = await makeTempDir('opsbook-alert-tracker-');
    cleanups.push(temp.remove);
    const pipeline = {
      store,
      rules: await rulesOf(
        'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\ncorrelate:\n  - {name: c, by: {labels: [cluster]}}\n',
      ),
      topology: topologyOf(undefined, 'services'),
      tracker: new LocalTracker({ stateDir: temp.dir, actor: 'alerts', project: 'OPS' }),
    };
    const intake = new AlertIntake(store);
    const records = makeAlertBurst({ alerts: 400, hosts: 40, clusters: 4 }).flatMap((p) =>
      parseWebhookBody(JSON.stringify(p), new Date('2024-05-01T10:00:05Z'), 'burst'),
    );
    await Promise.all([intake.accept(records.slice(0, 200)), processAlerts(pipeline)]);
    await Promise.all([
      intake.accept(records.slice(200)),
      processAlerts(pipeline),
      processAlerts(pipeline),
    ]);
    await processAlerts(pipeline);
    const incidents = await store.incidents();
    expect(incidents.map((i) => [i.id, i.alerts.length, i.ticket.key]).sort()).toEqual([
      ['INC-1', 100, 'OPS-1'],
      ['INC-2', 100, 'OPS-2'],
      ['INC-3', 100, 'OPS-3'],
      ['INC-4', 100, 'OPS-4'],
    ]);
    const tickets = await pipeline.tracker.search('project = OPS');
    expect(tickets).toHaveLength(4);
  });
});
