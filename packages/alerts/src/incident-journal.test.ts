import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import type { Incident, IncidentAlert } from './incident.js';
import { IncidentJournal } from './incident-journal.js';

const temps: Array<{ remove(): Promise<void> }> = [];
afterEach(async () => {
  for (const t of temps.splice(0)) await t.remove();
});
async function freshDir(): Promise<string> {
  const temp = await makeTempDir('opsbook-incident-journal-');
  temps.push(temp);
  return temp.dir;
}

const at = '2024-05-01T10:00:00.000Z';
const cursor = (n: number) => ({ offsets: { '2024-05-01': n }, doneBefore: '' });
const archive = async () => undefined;

const alertOf = (n: number): IncidentAlert => ({
  fingerprint: `fp${n}`,
  alertname: 'DiskFull',
  labels: { alertname: 'DiskFull', instance: `host-${n}`, secret_label_value: `lbl-${n}` },
  status: 'firing',
  startsAt: at,
  firstSeen: at,
  lastChange: at,
  fired: 1,
});

const incidentOf = (id: string, alerts: IncidentAlert[]): Incident => ({
  id,
  rule: 'by-cluster',
  keys: ['cluster=eu-1'],
  rulesVersion: 1,
  openedAt: at,
  updatedAt: at,
  firstStartsAt: at,
  lastStartsAt: at,
  lastActivity: at,
  open: true,
  alerts,
  grade: { grade: 'P3', reason: 'one host', at },
  ruleGrade: { grade: 'P3', reason: 'one host' },
  regrades: [],
  runbooks: [],
  ticket: { deliveryId: `d-${id}`, attempted: false },
  comments: [],
});

async function logLines(dir: string): Promise<string[]> {
  const log = (await readdir(dir)).find((n) => /^incidents-\d+\.log$/.test(n));
  return log ? (await readFile(path.join(dir, log), 'utf8')).split('\n').filter(Boolean) : [];
}

/** Opens INC-1 of three alerts, then changes one alert, adds one and queues a comment. */
async function twoSteps(journal: IncidentJournal): Promise<void> {
  await journal.forStep();
  await journal.commit(
    { incidents: [incidentOf('INC-1', [1, 2, 3].map(alertOf))], nextIncident: 2 },
    cursor(100),
    archive,
  );
  const state = await journal.forStep();
  const incident = state.incidents[0]!;
  incident.alerts[1]!.status = 'resolved';
  incident.alerts[1]!.reported = { status: 'resolved', fired: 1 };
  incident.alerts.push(alertOf(4));
  incident.ticket.key = 'OPS-1';
  incident.comments.push({
    n: 1,
    kind: 'alerts',
    deliveryId: 'd-INC-1-1',
    body: { blocks: [] },
    queuedAt: at,
    attempted: false,
  });
  await journal.commit({ incidents: [incident] }, cursor(200), archive);
}

describe('IncidentJournal', () => {
  it('writes a step as what changed (a changed alert without its labels), and a reader replays it to the same state', async () => {
    const dir = await freshDir();
    const writer = new IncidentJournal(dir);
    await twoSteps(writer);
    const lines = await logLines(dir);
    expect(lines).toHaveLength(2);
    const second = JSON.parse(lines[1]!);
    expect(second.incidents[0].changed.map((a: IncidentAlert) => a.fingerprint)).toEqual(['fp2']);
    expect(second.incidents[0].added.map((a: IncidentAlert) => a.fingerprint)).toEqual(['fp4']);
    expect(lines[1]).not.toContain('lbl-1');
    expect(lines[1]).not.toContain('lbl-2');
    const read = await new IncidentJournal(dir).read();
    expect(read).toEqual(await writer.forStep());
    expect(read.cursor).toEqual(cursor(200));
    expect(read.incidents[0]!.alerts[1]).toMatchObject({
      status: 'resolved',
      labels: { secret_label_value: 'lbl-2' },
    });
    expect(read.incidents[0]!.ticket.key).toBe('OPS-1');
  });

  it('drops a line a crash tore, and the next step cuts it off before it writes', async () => {
    const dir = await freshDir();
    await twoSteps(new IncidentJournal(dir));
    const log = path.join(dir, 'incidents-1.log');
    await appendFile(log, '{"cursor":{"offsets":{"2024-05-01":3');
    const read = await new IncidentJournal(dir).read();
    expect(read.cursor).toEqual(cursor(200));
    const next = new IncidentJournal(dir);
    const state = await next.forStep();
    state.incidents[0]!.ticket.assigned = true;
    await next.commit({ incidents: [state.incidents[0]!] }, cursor(300), archive);
    const lines = (await readFile(log, 'utf8')).split('\n');
    expect(lines.at(-1)).toBe('');
    for (const line of lines.filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    const after = await new IncidentJournal(dir).read();
    expect(after.cursor).toEqual(cursor(300));
    expect(after.incidents[0]!.ticket.assigned).toBe(true);
  });

  it("takes the steps of another process's journal into the state it keeps in memory", async () => {
    const dir = await freshDir();
    const one = new IncidentJournal(dir);
    await twoSteps(one);
    const other = new IncidentJournal(dir);
    const theirs = await other.forStep();
    theirs.incidents[0]!.assignee = 'alice';
    await other.commit(
      { incidents: [theirs.incidents[0]!], counters: { r: 1 } },
      cursor(250),
      archive,
    );
    const mine = await one.forStep();
    expect(mine.incidents[0]!.assignee).toBe('alice');
    expect(mine.counters).toEqual({ r: 1 });
    expect(mine.cursor).toEqual(cursor(250));
  });

  it('folds the log into a new snapshot once it outgrows it, and removes the old log', async () => {
    const dir = await freshDir();
    const writer = new IncidentJournal(dir, 1);
    await twoSteps(writer);
    const snapshot = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8'));
    // The first step outgrew the empty snapshot; the second is a line of the new log.
    expect(snapshot).toMatchObject({ version: 2, log: 'incidents-2.log', nextIncident: 2 });
    expect(snapshot.incidents[0].alerts).toHaveLength(3);
    expect((await readdir(dir)).filter((n) => n.endsWith('.log'))).toEqual(['incidents-2.log']);
    expect(await logLines(dir)).toHaveLength(1);
    expect(await new IncidentJournal(dir).read()).toEqual(await writer.forStep());
  });

  it('removes the old log a crash left behind after a compaction, replaying nothing twice', async () => {
    // The first step of twoSteps, logged without a compaction: the old log as it was folded.
    const before = await freshDir();
    const uncompacted = new IncidentJournal(before);
    await uncompacted.forStep();
    await uncompacted.commit(
      { incidents: [incidentOf('INC-1', [1, 2, 3].map(alertOf))], nextIncident: 2 },
      cursor(100),
      archive,
    );
    const oldLog = await readFile(path.join(before, 'incidents-1.log'));
    // The same steps compacted after the first one: state.json names incidents-2.log. A crash
    // before the old log's removal leaves incidents-1.log beside it, as it was.
    const dir = await freshDir();
    const writer = new IncidentJournal(dir, 1);
    await twoSteps(writer);
    const expected = structuredClone(await writer.forStep());
    await writer.close();
    await writeFile(path.join(dir, 'incidents-1.log'), oldLog);
    const logs = async () => (await readdir(dir)).filter((n) => n.endsWith('.log')).sort();
    expect(await logs()).toEqual(['incidents-1.log', 'incidents-2.log']);
    // A reader (no lock) leaves the files alone; the next writer removes the stale log.
    expect(await new IncidentJournal(dir).read()).toEqual(expected);
    expect(await logs()).toEqual(['incidents-1.log', 'incidents-2.log']);
    const next = new IncidentJournal(dir, 1);
    const state = await next.forStep();
    expect(await logs()).toEqual(['incidents-2.log']);
    expect(state).toEqual(expected);
    expect(state.incidents).toHaveLength(1);
    expect(state.incidents[0]!.alerts.map((a) => a.fingerprint)).toEqual([
      'fp1',
      'fp2',
      'fp3',
      'fp4',
    ]);
    expect(state.incidents[0]!.comments.map((c) => c.n)).toEqual([1]);
    expect(state).toMatchObject({ nextIncident: 2, cursor: cursor(200) });
    // It goes on logging where the snapshot says.
    state.incidents[0]!.ticket.assigned = true;
    await next.commit({ incidents: [state.incidents[0]!] }, cursor(300), archive);
    expect(await logs()).toEqual(['incidents-2.log']);
    expect(await new IncidentJournal(dir).read()).toMatchObject({ cursor: cursor(300) });
  });

  it('reads the state.json of version 1 (every step rewrote it) and logs the steps after it', async () => {
    const dir = await freshDir();
    const v1 = {
      version: 1,
      cursor: cursor(50),
      nextIncident: 8,
      counters: { r: 2 },
      incidents: [incidentOf('INC-7', [alertOf(1)])],
    };
    await writeFile(path.join(dir, 'state.json'), JSON.stringify(v1));
    const journal = new IncidentJournal(dir);
    const state = await journal.forStep();
    expect(state.incidents.map((i) => i.id)).toEqual(['INC-7']);
    state.incidents[0]!.alerts.push(alertOf(2));
    await journal.commit({ incidents: [state.incidents[0]!] }, cursor(60), archive);
    const read = await new IncidentJournal(dir).read();
    expect(read.incidents[0]!.alerts.map((a) => a.fingerprint)).toEqual(['fp1', 'fp2']);
    expect(read).toMatchObject({ nextIncident: 8, counters: { r: 2 }, cursor: cursor(60) });
  });
});
