import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { textDoc } from './document.js';
import { jqlString } from './jira-fields.js';
import { LocalTracker } from './local-tracker.js';
import { Outbox } from './outbox.js';
import type { TicketWrite } from './tracker.js';

describe('local tracker', () => {
  let stateDir: string;
  let clock: number;
  const tracker = (actor = 'eve', statuses = {}) =>
    new LocalTracker({ stateDir, actor, statuses, now: () => new Date(clock++ * 1000) });

  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-local-'));
    clock = 1_700_000_000;
  });

  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('walks the seed workflow and keeps who moved the ticket, when, from and to', async () => {
    const eve = tracker('eve');
    const sam = tracker('sam');
    const { key } = await eve.create({
      summary: 'Disk 91% on db-3',
      grade: 'P3',
      labels: ['disk'],
    });
    expect(key).toBe('OPS-1');
    await eve.transition(key, 'Awaiting Approval');
    await sam.transition(key, 'Open'); // need more data
    await eve.transition(key, 'Awaiting Approval');
    await sam.transition(key, 'Approved');
    await eve.transition(key, 'In Progress');
    await eve.transition(key, 'In Review');
    await sam.transition(key, 'Done');
    const t = await eve.read(key);
    expect(
      t.history.filter((h) => h.field === 'status').map((h) => `${h.by}: ${h.from} -> ${h.to}`),
    ).toEqual([
      'eve: null -> Open',
      'eve: Open -> Awaiting Approval',
      'sam: Awaiting Approval -> Open',
      'eve: Open -> Awaiting Approval',
      'sam: Awaiting Approval -> Approved',
      'eve: Approved -> In Progress',
      'eve: In Progress -> In Review',
      'sam: In Review -> Done',
    ]);
    expect(new Set(t.history.map((h) => h.at)).size).toBe(t.history.length);
  });

  it('records the reporter asked for, else the actor who created the ticket', async () => {
    const bot = tracker('opsbook-bot');
    const asked = await bot.create({ summary: 'by eve', reporter: 'eve' });
    const plain = await bot.create({ summary: 'by the bot' });
    expect(asked.reporterSet).toBe(true);
    expect((await bot.get(asked.key)).reporter).toEqual({ id: 'eve' });
    expect((await bot.get(plain.key)).reporter).toEqual({ id: 'opsbook-bot' });
  });

  it('refuses a transition the workflow does not offer', async () => {
    const eve = tracker();
    await eve.create({ summary: 'x' });
    await expect(eve.transition('OPS-1', 'In Progress')).rejects.toMatchObject({
      kind: 'refused',
      code: 'TICKET_TRANSITION_UNAVAILABLE',
      message: expect.stringContaining(
        'from "Open" to "In Progress" (offered: "Awaiting Approval")',
      ),
    });
    expect((await eve.get('OPS-1')).status).toBe('Open');
  });

  it('uses configured status names', async () => {
    const t = tracker('eve', { open: 'To Do', done: 'Closed' });
    await t.create({ summary: 'x' });
    expect((await t.get('OPS-1')).status).toBe('To Do');
    expect((await t.transitions('OPS-1')).map((x) => x.to)).toEqual(['Awaiting Approval']);
  });

  it('gives distinct keys to concurrent creates', async () => {
    const keys = await Promise.all(
      Array.from({ length: 12 }, (_, i) => tracker(`p${i}`).create({ summary: `alert ${i}` })),
    );
    expect(new Set(keys.map((k) => k.key)).size).toBe(12);
    expect(
      (await readdir(path.join(stateDir, 'tracker', 'tickets'))).filter((n) => n.endsWith('.tmp')),
    ).toEqual([]);
  });

  it('refuses a ticket key that would leave the tickets folder', async () => {
    const t = tracker();
    await expect(t.get('../../etc/passwd')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(t.comment('OPS-1/../../x', textDoc('x'))).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('stores an attachment under a safe name whatever the file name says', async () => {
    const t = tracker();
    await t.create({ summary: 'x' });
    const a = await t.attach('OPS-1', {
      filename: '../../../evil\n.sh',
      bytes: new TextEncoder().encode('echo hi'),
    });
    const stored = (await t.read('OPS-1')).attachments[0]!;
    expect(stored.file.startsWith(path.join('attachments', 'OPS-1'))).toBe(true);
    expect(path.basename(stored.file)).toMatch(/^[\w-]+-evil_\.sh$/);
    expect(Buffer.from(await t.readAttachment('OPS-1', a.id)).toString()).toBe('echo hi');
  });

  it('answers the JQL subset opsbook uses and refuses the rest', async () => {
    const t = tracker();
    await t.create({ summary: 'Disk full on db-3', labels: ['bug'] });
    await t.create({ summary: 'Backup failed', labels: ['bug'] });
    await t.create({ summary: 'Disk slow on web-1' });
    await t.comment('OPS-2', textDoc('known bug: pg_dump timeout'));
    expect(
      (await t.search('project = OPS AND labels = bug ORDER BY key')).map((x) => x.key),
    ).toEqual(['OPS-1', 'OPS-2']);
    expect((await t.search('summary ~ "disk"')).map((x) => x.key)).toEqual(['OPS-1', 'OPS-3']);
    expect(
      (await t.search('text ~ "pg_dump timeout" AND status = Open')).map((x) => x.key),
    ).toEqual(['OPS-2']);
    expect((await t.search('key in (OPS-3, OPS-1)')).map((x) => x.key)).toEqual(['OPS-1', 'OPS-3']);
    await expect(t.search('summary ~ disk OR labels = bug')).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  it("reads JQL's escapes in a quoted value (jqlString writes control characters so)", async () => {
    const t = tracker();
    await t.create({ summary: 'Disk full', labels: ['a\tb'] });
    await t.create({ summary: 'Other', labels: ['ab'] });
    expect((await t.search(`labels = ${jqlString('a\tb')}`)).map((x) => x.key)).toEqual(['OPS-1']);
    expect((await t.search('labels = "\\u0061b"')).map((x) => x.key)).toEqual(['OPS-2']);
  });

  it('keeps properties and remote links, upserting links by globalId', async () => {
    const t = tracker();
    await t.create({ summary: 'x' });
    await t.setProperty('OPS-1', 'opsbook.approval-uses', { a: 1 });
    expect(await t.getProperty('OPS-1', 'opsbook.approval-uses')).toEqual({ a: 1 });
    expect(await t.getProperty('OPS-1', 'missing')).toBeUndefined();
    await t.addRemoteLink('OPS-1', { globalId: 'g', url: 'https://a', title: 'A' });
    await t.addRemoteLink('OPS-1', { globalId: 'g', url: 'https://b', title: 'B' });
    expect(await t.remoteLinks('OPS-1')).toEqual([{ globalId: 'g', url: 'https://b', title: 'B' }]);
  });

  it('sets the priority by grade, records the change once, and repeats it harmlessly', async () => {
    const t = tracker();
    await t.create({ summary: 'disk', grade: 'P3' });
    await t.setPriority('OPS-1', 'P1');
    await t.setPriority('OPS-1', 'P1');
    const stored = await t.read('OPS-1');
    expect(stored.grade).toBe('P1');
    expect(stored.history.filter((h) => h.field === 'grade')).toMatchObject([
      { field: 'grade', from: 'P3', to: 'P1' },
    ]);
    await expect(t.setPriority('OPS-9', 'P2')).rejects.toMatchObject({
      code: 'TRACKER_TICKET_NOT_FOUND',
    });
  });

  it('says which ticket is missing and where it looked', async () => {
    await expect(tracker().get('OPS-9')).rejects.toMatchObject({
      code: 'TRACKER_TICKET_NOT_FOUND',
      message: expect.stringContaining('has no ticket OPS-9'),
    });
  });

  it('works behind the outbox, delivering each write once', async () => {
    const t = tracker();
    const outbox = new Outbox({ stateDir, tracker: t });
    const created = await outbox.send('', { kind: 'create', ticket: { summary: 'via outbox' } });
    expect(created).toMatchObject({ delivered: true, key: 'OPS-1' });
    await outbox.send('OPS-1', { kind: 'comment', body: textDoc('hello') });
    await outbox.send('OPS-1', { kind: 'priority', grade: 'P2' });
    const file = JSON.parse(
      await readFile(path.join(stateDir, 'tracker', 'tickets', 'OPS-1.json'), 'utf8'),
    );
    expect(file.comments).toHaveLength(1);
    expect(file.grade).toBe('P2');
    expect(await outbox.list()).toEqual([]);
  });

  it('applies several writes to a ticket in one write of its file, each once by its delivery id', async () => {
    const t = tracker();
    const { key } = await t.create({ summary: 'batch' });
    const ticketFile = path.join(stateDir, 'tracker', 'tickets', `${key}.json`);
    const before = (await stat(ticketFile)).ino;
    const writes: TicketWrite[] = [
      { kind: 'comment', body: textDoc('run ended'), deliveryId: 'd1' },
      {
        kind: 'attach',
        file: { filename: 'run.jsonl', bytes: Buffer.from('{}\n') },
        deliveryId: 'd2',
      },
      { kind: 'setProperty', property: 'opsbook.runs', value: [1], deliveryId: 'd3' },
      { kind: 'transition', status: 'Awaiting Approval', deliveryId: 'd4' },
    ];
    const ids = await t.writeAll(key, writes);
    expect(ids[0]).toBe('1');
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids.slice(2)).toEqual([undefined, undefined]);
    const once = await t.read(key);
    expect((await stat(ticketFile)).ino).not.toBe(before);
    expect(once.history.map((h) => h.field)).toEqual([
      'status',
      'comment',
      'attachment',
      'property:opsbook.runs',
      'status',
    ]);
    // The same batch again (a process that died before it removed its outbox entries).
    expect(await t.writeAll(key, writes)).toEqual(ids);
    const twice = await t.read(key);
    expect(twice.comments).toHaveLength(1);
    expect(twice.attachments).toHaveLength(1);
    expect(await readdir(path.join(stateDir, 'tracker', 'attachments', key))).toHaveLength(1);
    expect(twice.status).toBe('Awaiting Approval');
  });

  it('keeps nothing of a batch the workflow refuses, its new attachment files neither', async () => {
    const t = tracker();
    const { key } = await t.create({ summary: 'refused' });
    await expect(
      t.writeAll(key, [
        { kind: 'comment', body: textDoc('first'), deliveryId: 'a' },
        { kind: 'attach', file: { filename: 'x.txt', bytes: Buffer.from('x') }, deliveryId: 'b' },
        { kind: 'transition', status: 'Done', deliveryId: 'c' },
      ]),
    ).rejects.toMatchObject({ code: 'TICKET_TRANSITION_UNAVAILABLE' });
    const after = await t.read(key);
    expect([after.comments, after.attachments, after.status]).toEqual([[], [], 'Open']);
    expect(await readdir(path.join(stateDir, 'tracker', 'attachments', key))).toEqual([]);
  });

  it('sends the writes of one ticket queued together in one batch behind the outbox; a refused batch goes one by one', async () => {
    const t = tracker();
    const calls: string[] = [];
    const counted = new Proxy(t, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return value.apply(target, args);
        };
      },
    });
    const outbox = new Outbox({ stateDir, tracker: counted });
    await t.create({ summary: 'one batch' });
    await outbox.enqueueAll('OPS-1', [
      { write: { kind: 'comment', body: textDoc('a') } },
      { write: { kind: 'attach', filename: 'j.jsonl' }, bytes: Buffer.from('j') },
      { write: { kind: 'transition', status: 'Awaiting Approval' } },
    ]);
    const report = await outbox.flush();
    expect(report.delivered.map((d) => d.entry.write.kind)).toEqual([
      'comment',
      'attach',
      'transition',
    ]);
    expect(calls.filter((c) => c !== 'findDelivered')).toEqual(['writeAll']);
    expect(await outbox.list()).toEqual([]);
    // A transition the workflow does not offer: the batch is refused, so each write goes alone;
    // the comment before it is delivered, the transition fails, the comment after it waits.
    calls.length = 0;
    await outbox.enqueueAll('OPS-1', [
      { write: { kind: 'comment', body: textDoc('b') } },
      { write: { kind: 'transition', status: 'Done' } },
      { write: { kind: 'comment', body: textDoc('c') } },
    ]);
    const second = await outbox.flush();
    expect(calls).toEqual(['writeAll', 'comment', 'transition']);
    expect(second.delivered.map((d) => d.entry.write.kind)).toEqual(['comment']);
    expect(second.failed.map((e) => e.write.kind)).toEqual(['transition']);
    expect(second.pending.map((e) => e.write.kind)).toEqual(['comment']);
    const file = await t.read('OPS-1');
    expect(file.comments.map((c) => c.id)).toEqual(['1', '2']);
    expect(file.status).toBe('Awaiting Approval');
  });
});

describe('damaged files of the local tracker and the outbox', () => {
  let stateDir: string;
  const tracker = () => new LocalTracker({ stateDir, actor: 'eve' });

  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsbook-damaged-'));
  });

  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('refuses a ticket file cut short as invalid input naming file:line:col, and leaves it', async () => {
    const file = path.join(stateDir, 'tracker/tickets/OPS-1.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '{bad\n');
    const error = await tracker()
      .read('OPS-1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'invalid', code: 'TRACKER_STATE_INVALID' });
    expect((error as Error).message).toMatch(
      new RegExp(`^${file}:1:2: invalid JSON: .*restore OPS-1\\.json from a backup`),
    );
    await expect(tracker().comment('OPS-1', textDoc('x'))).rejects.toMatchObject({
      code: 'TRACKER_STATE_INVALID',
    });
    expect(await readFile(file, 'utf8')).toBe('{bad\n');
  });

  it('refuses a ticket file that holds JSON but not an object', async () => {
    const file = path.join(stateDir, 'tracker/tickets/OPS-1.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '[]\n');
    await expect(tracker().read('OPS-1')).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/OPS-1\.json:1:1: expected a JSON object/),
    });
  });

  it('refuses a damaged outbox entry when listing and flushing, and deletes nothing', async () => {
    const outbox = new Outbox({ stateDir, tracker: tracker() });
    await outbox.enqueue('', { kind: 'create', ticket: { summary: 'disk 91% on db-3' } });
    const damaged = path.join(stateDir, 'outbox/0000000002-x.json');
    await writeFile(damaged, '{bad\n');
    for (const attempt of [() => outbox.list(), () => outbox.flush()]) {
      await expect(attempt()).rejects.toMatchObject({
        kind: 'invalid',
        code: 'TRACKER_STATE_INVALID',
        message: expect.stringMatching(
          new RegExp(`^${damaged}:1:2: invalid JSON: .*move it out of the outbox folder`),
        ),
      });
    }
    expect((await readdir(path.join(stateDir, 'outbox'))).sort()).toEqual([
      expect.stringMatching(/^0000000001-.+\.json$/),
      '0000000002-x.json',
    ]);
    expect(await readFile(damaged, 'utf8')).toBe('{bad\n');
    // Moved out of the way, the other write goes out.
    await rm(damaged);
    expect((await outbox.flush()).delivered).toHaveLength(1);
  });

  it('refuses a damaged keys.json instead of reading it as empty and overwriting it', async () => {
    const outbox = new Outbox({ stateDir, tracker: tracker() });
    await outbox.enqueue('', { kind: 'create', ticket: { summary: 'disk 91% on db-3' } });
    const keys = path.join(stateDir, 'outbox/keys.json');
    await writeFile(keys, '{"outbox:a": "OPS-7",\n');
    await expect(outbox.flush()).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining(`${keys}:`),
    });
    expect(await readFile(keys, 'utf8')).toBe('{"outbox:a": "OPS-7",\n');
  });
});
