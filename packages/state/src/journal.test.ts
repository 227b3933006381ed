import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, Journal, journalPath, maskFields } from './journal.js';
import { verifyJournal } from './journal-verify.js';
import { consumeRun } from './ledger.js';
import { filesStore } from './store.js';

let root: string;
let n = 0;
const fixedClock = () => new Date('2025-03-04T05:06:07.890Z');
const freshStateDir = () => path.join(root, `state-${++n}`, '.opsbook');

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-journal-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function lines(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('Journal', () => {
  it('writes one hash-chained line per event: seq, at, prev, the event, hash', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'run-1', { clock: fixedClock });
    const first = await journal.append({ type: 'run-start', ticket: 'OPS-1' });
    await journal.append({ type: 'run-end', status: 'ok' });
    await journal.close();

    const text = await readFile(journal.location, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')[0]).toMatch(
      /^\{"seq":1,"at":"2025-03-04T05:06:07\.890Z","prev":"sha256:0{64}","type":"run-start","ticket":"OPS-1","hash":"sha256:[0-9a-f]{64}"\}$/,
    );
    const [a, b] = await lines(journal.location);
    // The hash is sha256 over the sorted-key, whitespace-free JSON of the line without `hash`.
    const expected = `sha256:${createHash('sha256')
      .update(
        '{"at":"2025-03-04T05:06:07.890Z","prev":"sha256:0000000000000000000000000000000000000000000000000000000000000000","seq":1,"ticket":"OPS-1","type":"run-start"}',
      )
      .digest('hex')}`;
    expect(a?.hash).toBe(expected);
    expect(first.hash).toBe(expected);
    expect(b).toMatchObject({ seq: 2, prev: expected, type: 'run-end', status: 'ok' });
    expect(journal.head).toBe(b?.hash);
    expect(journal.count).toBe(2);
    expect(journal.location).toBe(journalPath(stateDir, 'run-1'));
  });

  it('writes type right after prev, then the other fields in the order of the event, with a masker or without', async () => {
    const texts: string[] = [];
    for (const mask of [undefined, (t: string) => t.replaceAll('s3cret', '***')]) {
      const journal = await Journal.create(freshStateDir(), 'run-order', {
        clock: fixedClock,
        ...(mask ? { mask } : {}),
      });
      await journal.append({ host: 'web-1', type: 'step-end', status: 'ok', exitCode: 0 });
      await journal.close();
      texts.push((await readFile(journal.location, 'utf8')).split('\n')[0] ?? '');
    }
    expect(texts[0]).toMatch(
      /^\{"seq":1,"at":"2025-03-04T05:06:07\.890Z","prev":"sha256:0{64}","type":"step-end","host":"web-1","status":"ok","exitCode":0,"hash":"sha256:[0-9a-f]{64}"\}$/,
    );
    expect(texts[1]).toBe(texts[0]);
  });

  it('creates the state dir with mode 0700 and the journal with mode 0600', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'run-modes');
    await journal.close();
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.dirname(journal.location))).mode & 0o777).toBe(0o700);
    expect((await stat(journal.location)).mode & 0o777).toBe(0o600);
  });

  it('refuses to reuse the run id of an existing journal, leaving it untouched', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'run-twice');
    await journal.append({ type: 'run-start' });
    await journal.close();
    const before = await readFile(journal.location);
    await expect(Journal.create(stateDir, 'run-twice')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      problems: [expect.objectContaining({ rule: 'journal-exists' })],
    });
    expect(await readFile(journal.location)).toEqual(before);
  });

  it('refuses a run id that would escape the runs folder', async () => {
    const stateDir = freshStateDir();
    for (const runId of ['../escape', 'a/b', '.hidden', '', 'x'.repeat(200)]) {
      await expect(Journal.create(stateDir, runId)).rejects.toMatchObject({
        problems: [expect.objectContaining({ rule: 'bad-run-id' })],
      });
    }
  });

  it('serializes concurrent appends from many hosts into one unbroken chain', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'run-concurrent');
    await journal.append({ type: 'run-start' });
    const hosts = Array.from({ length: 40 }, (_, i) => `host-${i}`);
    const written = await Promise.all(
      hosts.flatMap((host) => [
        journal.append({ type: 'step-start', host }),
        journal.append({ type: 'step-end', host, stdout: `${host}\n`.repeat(100) }),
      ]),
    );
    await journal.append({ type: 'run-end', status: 'ok' });
    await journal.close();
    // Call order is write order: the nth call got seq n + 1.
    expect(written.map((l) => l.seq)).toEqual(written.map((_, i) => i + 2));
    const result = await verifyJournal(journal.location);
    expect(result).toMatchObject({ ok: true, status: 'complete', count: 82, problems: [] });
  });

  it('refuses events after run-end, fields it sets itself, and events without a type', async () => {
    const journal = await Journal.create(freshStateDir(), 'run-refusals');
    await expect(journal.append({ type: 'step-end', seq: 99 })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-event' })],
    });
    await expect(journal.append({ type: '' })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'bad-event' })],
    });
    await journal.append({ type: 'run-end', status: 'ok' });
    await expect(journal.append({ type: 'step-end' })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'after-end' })],
    });
    await journal.close();
    await expect(journal.append({ type: 'x' })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'closed' })],
    });
    expect(journal.count).toBe(1);
    expect((await lines(journal.location)).map((l) => l.type)).toEqual(['run-end']);
  });

  it('refuses to go on when its file was removed or moved (the state dir deleted or renamed)', async () => {
    for (const undo of ['remove', 'rename'] as const) {
      const stateDir = freshStateDir();
      const journal = await Journal.create(stateDir, `run-${undo}`);
      await journal.append({ type: 'run-start' });
      if (undo === 'remove') await rm(stateDir, { recursive: true });
      else await rename(stateDir, `${stateDir}.moved`);
      await expect(journal.append({ type: 'step-start' }), undo).rejects.toMatchObject({
        kind: 'failed',
        code: 'FILE_REMOVED',
        message: expect.stringMatching(/was removed or moved while the run wrote it/),
      });
    }
  });

  it('resolves an append only after its line was fsynced', async () => {
    const journal = await Journal.create(freshStateDir(), 'run-fsync');
    // Observe the real file handle's calls (they still run) to see their order.
    const probe = await open(journal.location, 'r');
    const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => unknown>;
    await probe.close();
    const calls: string[] = [];
    const originals = { sync: proto.sync, appendFile: proto.appendFile };
    for (const name of ['sync', 'appendFile'] as const) {
      const original = originals[name] as (...a: unknown[]) => Promise<unknown>;
      proto[name] = async function (this: unknown, ...args: unknown[]) {
        const result = await original.apply(this, args);
        calls.push(name);
        return result;
      };
    }
    try {
      await Promise.all(
        [1, 2, 3].map((i) =>
          journal.append({ type: 'step-end', i }).then((l) => calls.push(`resolved ${l.seq}`)),
        ),
      );
      await journal.append({ type: 'step-end', i: 4 }).then((l) => calls.push(`resolved ${l.seq}`));
    } finally {
      Object.assign(proto, originals);
    }
    // Group commit: the three concurrent appends share one write and one fsync, and none
    // resolves before that fsync.
    await journal.close();
    expect(calls).toEqual([
      'appendFile',
      'sync',
      'resolved 1',
      'resolved 2',
      'resolved 3',
      'appendFile',
      'sync',
      'resolved 4',
    ]);
  });

  it('writes the events appended during a write together, in one write and one fsync', async () => {
    const journal = await Journal.create(freshStateDir(), 'run-group');
    const probe = await open(journal.location, 'r');
    const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => unknown>;
    await probe.close();
    const original = proto.sync as (...a: unknown[]) => Promise<unknown>;
    let syncs = 0;
    let whileSyncing: Promise<unknown>[] = [];
    proto.sync = async function (this: unknown, ...args: unknown[]) {
      syncs += 1;
      // Appends that arrive while this fsync is in flight (twenty hosts finishing a step).
      if (syncs === 1) {
        whileSyncing = Array.from({ length: 20 }, (_, i) =>
          journal.append({ type: 'step-end', host: `h${i % 4}`, n: i }),
        );
      }
      return original.apply(this, args);
    };
    try {
      await journal.append({ type: 'run-start' });
      await Promise.all(whileSyncing);
    } finally {
      proto.sync = original;
    }
    await journal.append({ type: 'run-end', status: 'ok' });
    await journal.close();
    expect(syncs).toBe(2); // run-start alone, then the twenty together (run-end came after)
    const written = await lines(journal.location);
    for (let h = 0; h < 4; h++) {
      const ns = written.filter((l) => l.host === `h${h}`).map((l) => l.n);
      expect(ns).toEqual([0, 1, 2, 3, 4].map((k) => k * 4 + h)); // order within a host kept
    }
    expect(await verifyJournal(journal.location)).toMatchObject({ ok: true, count: 22 });
  });

  it('after a failed write refuses every event queued behind it and every later one', async () => {
    const journal = await Journal.create(freshStateDir(), 'run-failed-write');
    await journal.append({ type: 'run-start' });
    const probe = await open(journal.location, 'r');
    const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => unknown>;
    await probe.close();
    const original = proto.sync as (...a: unknown[]) => Promise<unknown>;
    let queued: Promise<unknown>[] = [];
    proto.sync = async () => {
      queued = [1, 2].map((n) => journal.append({ type: 'step-end', n }));
      throw Object.assign(new Error('EIO: disk gone'), { code: 'EIO' });
    };
    try {
      await expect(journal.append({ type: 'step-start' })).rejects.toThrow(/EIO/);
    } finally {
      proto.sync = original;
    }
    for (const p of queued) {
      await expect(p).rejects.toMatchObject({
        problems: [expect.objectContaining({ rule: 'journal-failed' })],
      });
    }
    await expect(journal.append({ type: 'run-end' })).rejects.toMatchObject({
      problems: [expect.objectContaining({ rule: 'journal-failed' })],
    });
    expect(journal.count).toBe(1);
    await journal.close();
  });

  it('close waits for appends already queued, so none is lost', async () => {
    const journal = await Journal.create(freshStateDir(), 'run-close');
    const pending = [1, 2, 3].map((i) => journal.append({ type: 'step-end', i }));
    await journal.close();
    await Promise.all(pending);
    expect((await lines(journal.location)).map((l) => l.i)).toEqual([1, 2, 3]);
  });
});

/** A masker for these tests (the runner's is createMasker): each secret becomes ***. */
function createMasker(secrets: string[]): (text: string) => string {
  return (text) => secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text);
}

describe('secret masking', () => {
  it('masks nested strings and keys, leaving numbers and booleans', () => {
    const mask = createMasker(['s3cr3t']);
    expect(
      maskFields({ a: ['x s3cr3t', { s3cr3t: 's3cr3t' }], n: 1, b: true, z: null }, mask),
    ).toEqual({ a: ['x ***', { '***': '***' }], n: 1, b: true, z: null });
  });

  it('keeps a __proto__ key as data while masking', () => {
    const masked = maskFields(JSON.parse('{"__proto__":{"polluted":"yes"}}'), (t) => t);
    expect(Object.hasOwn(masked, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never lets a secret reach the journal file, wherever it appears in an event', async () => {
    const secrets = ['Pa55"word\\x', 'tok-9f8e7d6c5b4a', 'ünïcødé-sécret'];
    const journal = await Journal.create(freshStateDir(), 'run-secrets', {
      mask: createMasker(secrets),
    });
    await journal.append({
      type: 'step-end',
      stdout: `connecting with ${secrets[0]}\nBearer ${secrets[1]}\n${secrets[2]}${secrets[2]}`,
      params: { nested: { deeper: [`--token=${secrets[1]}`, { note: secrets[2] }] } },
      [secrets[1] as string]: 'a secret used as a key',
      exitCode: 0,
    });
    await journal.close();
    const bytes = await readFile(journal.location);
    for (const secret of secrets) {
      expect(bytes.includes(Buffer.from(secret, 'utf8'))).toBe(false);
      // nor in its JSON-escaped form
      expect(bytes.includes(Buffer.from(JSON.stringify(secret).slice(1, -1), 'utf8'))).toBe(false);
    }
    const [line] = await lines(journal.location);
    expect(line?.stdout).toBe('connecting with ***\nBearer ***\n******');
    expect(await verifyJournal(journal.location)).toMatchObject({ ok: true });
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and adds no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [true, null] })).toBe(canonicalJson({ y: [true, null], x: 1 }));
  });
});

describe('a runner killed mid-run', () => {
  const writer = path.resolve(
    import.meta.dirname,
    './__fixtures__/journal-killed-writer/write-events.mjs',
  );

  beforeAll(async () => {
    const built = await stat(path.resolve(import.meta.dirname, '../dist/journal.js'));
    const source = await stat(path.resolve(import.meta.dirname, 'journal.ts'));
    if (built.mtimeMs < source.mtimeMs) {
      throw new Error('dist/journal.js is older than src/journal.ts: run `pnpm build` first');
    }
  });

  it('leaves a journal that verifies as incomplete, with every acknowledged event intact', async () => {
    const stateDir = freshStateDir();
    // Claimed first, as the runner does: listing checks a journal against its ledger record.
    await consumeRun(stateDir, {
      approvalId: 'apr-killed',
      maxRuns: 1,
      runId: 'run-killed',
      ticket: 'OPS-42',
    });
    const child = spawn(process.execPath, [writer, stateDir, 'run-killed'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acknowledged: Array<{ seq: number; hash: string }> = [];
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) acknowledged.push(JSON.parse(part));
      if (acknowledged.length >= 25) child.kill('SIGKILL');
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });

    const result = await verifyJournal(journalPath(stateDir, 'run-killed'));
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.status).toBe('incomplete');
    expect(result.count).toBeGreaterThanOrEqual(acknowledged.length);
    for (const { seq, hash } of acknowledged) {
      expect(result.events[seq - 1]?.hash).toBe(hash);
    }
    const [summary] = await filesStore(stateDir).listRuns();
    expect(summary).toMatchObject({ runId: 'run-killed', status: 'incomplete', ticket: 'OPS-42' });
  });

  it('a journal cut inside its last line (a write interrupted by the kill) is incomplete, not tampered', async () => {
    const stateDir = freshStateDir();
    const journal = await Journal.create(stateDir, 'run-cut');
    await journal.append({ type: 'run-start', hosts: ['a'] });
    const kept = await journal.append({ type: 'step-end', host: 'a', stdout: 'ok' });
    await journal.close();
    await writeFile(journal.location, '{"seq":3,"at":"2025-01-01T00:00:00.000Z","prev":"sha2', {
      flag: 'a',
    });
    const result = await verifyJournal(journal.location);
    expect(result).toMatchObject({ ok: true, status: 'incomplete', count: 2, head: kept.hash });
    expect(result.notes.map((n) => n.message).join('\n')).toMatch(
      /line 3: an incomplete write .*the 2 events before it are intact/,
    );
  });
});

it('GENESIS_HASH is sha256: and 64 zeros', () => {
  expect(GENESIS_HASH).toBe(`sha256:${'0'.repeat(64)}`);
});
