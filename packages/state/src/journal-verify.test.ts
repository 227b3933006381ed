import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOfLine, Journal, type JournalEvent, type JournalLine } from './journal.js';
import { type JournalRule, verifyJournal, verifyJournalBytes } from './journal-verify.js';

let root: string;
let n = 0;
let clockTick = 0;
const clock = () => new Date(Date.UTC(2025, 0, 1, 0, 0, clockTick++));

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'opsbook-verify-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const runEvents: JournalEvent[] = [
  { type: 'run-start', ticket: 'OPS-9', hosts: ['web-01'] },
  { type: 'host-start', host: 'web-01' },
  { type: 'step-start', host: 'web-01', step: 'rotate' },
  { type: 'step-end', host: 'web-01', step: 'rotate', exitCode: 0, stdout: 'rotated 3 files' },
  { type: 'host-end', host: 'web-01', status: 'ok' },
  { type: 'run-end', status: 'ok', hosts: { 'web-01': 'ok' } },
];

/** A real journal written by Journal; returns its file and lines (without the final newline). */
async function writeRun(events = runEvents): Promise<{ file: string; lines: string[] }> {
  const journal = await Journal.create(path.join(root, `s${++n}`), `run-${n}`, { clock });
  for (const event of events) await journal.append(event);
  await journal.close();
  const text = await readFile(journal.location, 'utf8');
  return { file: journal.location, lines: text.split('\n').slice(0, -1) };
}

const verifyLines = (lines: string[], options = {}) =>
  verifyJournalBytes(Buffer.from(lines.map((l) => `${l}\n`).join('')), options);

/** A line forged the way an attacker who knows the format would: with a correct own hash. */
function forge(fields: Omit<JournalLine, 'hash'>): string {
  return JSON.stringify({ ...fields, hash: hashOfLine(fields) });
}

function rules(result: { problems: Array<{ rule: JournalRule; line: number }> }) {
  return result.problems.map((p) => `${p.line}:${p.rule}`);
}

describe('verifyJournal', () => {
  it('accepts a journal as the runner wrote it', async () => {
    const { file } = await writeRun();
    const result = await verifyJournal(file);
    expect(result).toMatchObject({ ok: true, status: 'complete', count: 6, problems: [] });
    expect(result.events.map((e) => e.type)).toEqual(runEvents.map((e) => e.type));
    expect(result.head).toBe(result.events[5]?.hash);
  });

  it('verifies bytes given as a Uint8Array view into a larger buffer, reading only the view', async () => {
    const { lines } = await writeRun();
    const text = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    const larger = new Uint8Array(text.length + 10).fill(0x41);
    larger.set(text, 5);
    const result = verifyJournalBytes(new Uint8Array(larger.buffer, 5, text.length));
    expect(result).toMatchObject({ ok: true, status: 'complete', count: 6, problems: [] });
  });

  it('names the line of an edited event', async () => {
    const { lines } = await writeRun();
    lines[3] = (lines[3] ?? '').replace('rotated 3 files', 'rotated 0 files');
    const result = verifyLines(lines);
    expect(result.ok).toBe(false);
    expect(rules(result)).toEqual(['4:edited']);
    expect(result.problems[0]?.message).toMatch(/^line 4: event seq 4 was edited/);
  });

  it('catches an edited event whose hash was recomputed at the next line', async () => {
    const { lines } = await writeRun();
    const edited = JSON.parse(lines[3] ?? '') as JournalLine;
    lines[3] = forge({ ...edited, exitCode: 1 });
    expect(rules(verifyLines(lines))).toEqual(['5:chain-break']);
  });

  it('catches a dropped event', async () => {
    const { lines } = await writeRun();
    lines.splice(2, 1);
    const result = verifyLines(lines);
    expect(rules(result)).toEqual(['3:dropped']);
    expect(result.problems[0]?.message).toMatch(/seq 3 is missing before it: events were dropped/);
  });

  it('catches a dropped first event', async () => {
    const { lines } = await writeRun();
    expect(rules(verifyLines(lines.slice(1)))).toEqual(['1:dropped']);
  });

  it('catches reordered events', async () => {
    const { lines } = await writeRun();
    [lines[2], lines[3]] = [lines[3] ?? '', lines[2] ?? ''];
    const result = verifyLines(lines);
    expect(rules(result)).toEqual(['3:reordered', '4:reordered']);
    expect(result.problems[0]?.message).toMatch(/seq 4 comes before seq 3 \(line 4\)/);
  });

  it('catches a duplicated line', async () => {
    const { lines } = await writeRun();
    lines.splice(3, 0, lines[2] ?? '');
    expect(rules(verifyLines(lines))).toEqual(['4:duplicated']);
  });

  it('catches an event appended after run-end, even one chained correctly', async () => {
    const { lines } = await writeRun();
    const end = JSON.parse(lines[5] ?? '') as JournalLine;
    lines.push(
      forge({ seq: 7, at: end.at, prev: end.hash, type: 'step-end', host: 'web-01', stdout: 'x' }),
    );
    const result = verifyLines(lines);
    expect(rules(result)).toEqual(['7:after-end']);
    expect(result.status).toBe('complete');
  });

  it('catches a garbage line after run-end, even without a final newline', async () => {
    const { lines } = await writeRun();
    const bytes = Buffer.from(`${lines.join('\n')}\n{"seq":7,"at`);
    expect(rules(verifyJournalBytes(bytes))).toEqual(['7:after-end']);
  });

  it('catches a malformed line in the middle', async () => {
    const { lines } = await writeRun();
    lines[2] = '{"seq":3, this is not json';
    const result = verifyLines(lines);
    expect(rules(result)).toContain('3:malformed');
    expect(result.problems.find((p) => p.line === 3)?.message).toMatch(/not valid JSON/);
  });

  it('catches a line that is JSON but not an event, an empty line and invalid UTF-8', async () => {
    const { lines } = await writeRun();
    expect(rules(verifyLines([lines[0] ?? '', '[1,2]', ...lines.slice(1)]))).toContain(
      '2:malformed',
    );
    expect(rules(verifyLines([lines[0] ?? '', '', ...lines.slice(1)]))).toContain('2:malformed');
    const bytes = Buffer.concat([
      Buffer.from(`${lines[0]}\n`),
      Buffer.from([0xff, 0xfe, 0x0a]),
      Buffer.from(`${lines.slice(1).join('\n')}\n`),
    ]);
    expect(rules(verifyJournalBytes(bytes))).toContain('2:malformed');
  });

  it('catches a line re-encoded with the same content (spacing or a repeated key)', async () => {
    const { lines } = await writeRun();
    lines[1] = JSON.stringify(JSON.parse(lines[1] ?? ''), null, 1).replace(/\n/g, '');
    lines[2] = (lines[2] ?? '').replace('{"seq":3,', '{"seq":3,"step":"other",');
    expect(rules(verifyLines(lines))).toEqual(['2:re-encoded', '3:re-encoded']);
  });

  it('reports a run without run-end as incomplete, not tampered', async () => {
    const { lines } = await writeRun(runEvents.slice(0, 4));
    const result = verifyLines(lines);
    expect(result).toMatchObject({ ok: true, status: 'incomplete', count: 4, problems: [] });
    expect(result.notes[0]?.message).toMatch(/no run-end event: the run did not finish/);
  });

  it('reports an empty journal as incomplete', () => {
    const result = verifyJournalBytes(Buffer.alloc(0));
    expect(result).toMatchObject({ ok: true, status: 'incomplete', count: 0, events: [] });
  });

  it('accepts a last line that lost only its newline, saying so', async () => {
    const { lines } = await writeRun(runEvents.slice(0, 3));
    const result = verifyJournalBytes(Buffer.from(lines.join('\n')));
    expect(result).toMatchObject({ ok: true, count: 3 });
    expect(result.notes.map((x) => x.message).join()).toMatch(/line 3: has no final newline/);
  });

  it('an unfinished write is only innocent on the last line', async () => {
    const { lines } = await writeRun(runEvents.slice(0, 3));
    const bytes = Buffer.from(`${lines[0]}\n{"seq":2,"at":"20\n${lines.slice(1).join('\n')}\n`);
    expect(verifyJournalBytes(bytes).ok).toBe(false);
  });

  describe('against the ledger', () => {
    it('catches a tail cut off at a line boundary, which alone looks like a killed run', async () => {
      const { lines } = await writeRun();
      const whole = verifyLines(lines);
      const cut = lines.slice(0, 4);
      expect(verifyLines(cut).ok).toBe(true); // indistinguishable from a kill without the ledger
      const result = verifyLines(cut, { expectedHead: whole.head, expectedCount: whole.count });
      expect(rules(result)).toEqual(['0:tail-cut', '0:regenerated']);
      expect(result.problems[0]?.message).toMatch(/holds 4 events but the ledger recorded 6/);
    });

    it('catches a journal regenerated with a valid chain from scratch', async () => {
      const { lines } = await writeRun();
      const original = verifyLines(lines);
      const events = original.events.map(({ seq, at, prev, hash, ...event }) => event);
      const step = events[3] as JournalEvent;
      step.exitCode = 0;
      step.stdout = 'nothing to see here';
      const forged: string[] = [];
      let prev = `sha256:${'0'.repeat(64)}`;
      for (const [i, event] of events.entries()) {
        const line = forge({ seq: i + 1, at: '2025-01-01T00:00:00.000Z', prev, ...event });
        forged.push(line);
        prev = (JSON.parse(line) as JournalLine).hash;
      }
      expect(verifyLines(forged).ok).toBe(true); // a valid chain on its own
      const result = verifyLines(forged, {
        expectedHead: original.head,
        expectedCount: original.count,
      });
      expect(rules(result)).toEqual(['0:regenerated']);
      expect(result.problems[0]?.message).toMatch(/regenerated/);
    });

    it('agrees with a ledger that recorded this very journal', async () => {
      const { file } = await writeRun();
      const first = await verifyJournal(file);
      const again = await verifyJournal(file, {
        expectedHead: first.head,
        expectedCount: first.count,
      });
      expect(again).toMatchObject({ ok: true, status: 'complete', problems: [] });
    });
  });

  it('throws a ValidationError for a journal that does not exist', async () => {
    await expect(verifyJournal(path.join(root, 'nope.jsonl'))).rejects.toMatchObject({
      kind: 'invalid',
      problems: [expect.objectContaining({ rule: 'journal-unreadable' })],
    });
  });

  it('verifies the file on disk, not a cached copy', async () => {
    const { file, lines } = await writeRun();
    await writeFile(file, `${lines.slice(0, 2).join('\n')}\n${lines.slice(3).join('\n')}\n`);
    expect(rules(await verifyJournal(file))).toEqual(['3:dropped']);
  });
});
