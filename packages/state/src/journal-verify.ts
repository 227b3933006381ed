import { readFile } from 'node:fs/promises';
import { ValidationError } from '@opsbook/schema';
import { GENESIS_HASH, hashOfLine, type JournalLine } from './journal.js';

/** Why a journal cannot be trusted; `line` is 1-based, 0 for the file as a whole. */
export interface JournalProblem {
  line: number;
  message: string;
  rule: JournalRule;
}

export type JournalRule =
  | 'malformed'
  | 'edited'
  | 're-encoded'
  | 'duplicated'
  | 'dropped'
  | 'reordered'
  | 'chain-break'
  | 'after-end'
  | 'tail-cut'
  | 'regenerated'
  | 'not-in-ledger';

/** Something worth saying that is not tampering: an interrupted write, a run that never ended. */
export interface JournalNote {
  line: number;
  message: string;
}

export interface JournalVerification {
  /** No sign of tampering. An incomplete journal can be ok. */
  ok: boolean;
  /** `complete` when the last event is run-end. */
  status: 'complete' | 'incomplete';
  /** Every well-formed event, in file order. */
  events: JournalLine[];
  problems: JournalProblem[];
  notes: JournalNote[];
  /** The stored hash of the last event (GENESIS_HASH when there is none) and the event count. */
  head: string;
  count: number;
}

/** What the ledger recorded when the run ended; a journal that disagrees was cut or rebuilt. */
export interface JournalExpectation {
  expectedHead?: string | undefined;
  expectedCount?: number | undefined;
}

const HASH = /^sha256:[0-9a-f]{64}$/;

/** Reads and verifies one journal file. */
export async function verifyJournal(
  file: string,
  options: JournalExpectation = {},
): Promise<JournalVerification> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'there is no journal at this path' : `unreadable (${code})`;
    throw ValidationError.single(file, why, 'journal-unreadable');
  }
  return verifyJournalBytes(bytes, options);
}

interface Segment {
  line: number;
  text?: string;
  event?: JournalLine;
  malformed?: string;
  /** The final segment of a file that does not end with a newline. */
  isUnterminated: boolean;
}

/**
 * Verifies a journal's bytes: every hash matches its event, every event chains to the one
 * before with the next seq, nothing follows run-end, and (given the ledger's record) the last
 * hash and event count are the ones the runner wrote. Pure: the core of `verifyJournal`.
 */
export function verifyJournalBytes(
  bytes: Uint8Array,
  options: JournalExpectation = {},
): JournalVerification {
  // A view, not a copy: a 5,000-host journal is 7 MB, verified at every run's end.
  const view = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const problems: JournalProblem[] = [];
  const notes: JournalNote[] = [];
  const { events, endLine } = walkChain(view, problems, notes);
  const head = events.at(-1)?.hash ?? GENESIS_HASH;
  const isComplete = endLine !== undefined;
  if (!isComplete) {
    notes.push({
      line: 0,
      message:
        events.length === 0
          ? 'the journal holds no event: the runner stopped before the run started'
          : 'the journal has no run-end event: the run did not finish (the runner was killed, crashed or is still running)',
    });
  }
  problems.push(...compareWithLedger(events.length, head, options));
  problems.sort((a, b) => a.line - b.line);
  return {
    ok: problems.length === 0,
    status: isComplete ? 'complete' : 'incomplete',
    events,
    problems,
    notes,
    head,
    count: events.length,
  };
}

/**
 * The journal's lines, read one at a time: a line's text is kept only while it is checked, so a
 * journal is held once (its events), not twice (7 MB of text for 5,000 hosts). Only the last
 * line can be unterminated.
 */
function* segmentsOf(bytes: Buffer): Generator<Segment> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const isUnterminated = end === -1;
    const raw = bytes.subarray(start, isUnterminated ? bytes.length : end);
    start = isUnterminated ? bytes.length : end + 1;
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      yield { line, malformed: 'it is not valid UTF-8', isUnterminated };
      continue;
    }
    yield { line, text, isUnterminated, ...parseEvent(text) };
  }
}

function parseEvent(text: string): { event?: JournalLine; malformed?: string } {
  if (text === '') return { malformed: 'it is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { malformed: 'it is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { malformed: 'it is not a JSON object' };
  }
  const v = value as Record<string, unknown>;
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 1) return { malformed: 'bad `seq`' };
  if (typeof v.at !== 'string') return { malformed: 'bad `at`' };
  if (typeof v.type !== 'string' || v.type === '') return { malformed: 'bad `type`' };
  if (typeof v.prev !== 'string' || !HASH.test(v.prev)) return { malformed: 'bad `prev`' };
  if (typeof v.hash !== 'string' || !HASH.test(v.hash)) return { malformed: 'bad `hash`' };
  return { event: v as JournalLine };
}

interface ChainState {
  expectedSeq: number;
  expectedPrev: string;
  prevLine: number;
  endLine?: number;
  hashLines: Map<string, number>;
  /** The lines of each seq: read again from the bytes only when a gap must be explained. */
  seqLines: () => Map<number, number[]>;
}

function walkChain(
  bytes: Buffer,
  problems: JournalProblem[],
  notes: JournalNote[],
): { events: JournalLine[]; endLine?: number | undefined } {
  let seqLines: Map<number, number[]> | undefined;
  const state: ChainState = {
    expectedSeq: 1,
    expectedPrev: GENESIS_HASH,
    prevLine: 0,
    hashLines: new Map(),
    seqLines: () => {
      seqLines ??= seqIndex(segmentsOf(bytes));
      return seqLines;
    },
  };
  const events: JournalLine[] = [];
  const problem = (line: number, rule: JournalRule, message: string) =>
    problems.push({ line, rule, message: `line ${line}: ${message}` });
  for (const segment of segmentsOf(bytes)) {
    const { line, event } = segment;
    if (state.endLine !== undefined) {
      problem(
        line,
        'after-end',
        `comes after the run-end event on line ${state.endLine}: events were appended after the run ended`,
      );
    }
    if (!event) {
      if (isInterruptedWrite(segment, state)) {
        notes.push({
          line,
          message: `line ${line}: an incomplete write (the runner stopped while writing it); the ${line - 1} events before it are intact`,
        });
      } else if (state.endLine === undefined) {
        problem(line, 'malformed', `is not a journal event: ${segment.malformed}`);
      }
      continue;
    }
    events.push(event);
    if (segment.isUnterminated) {
      notes.push({
        line,
        message: `line ${line}: has no final newline (the write stopped just before it)`,
      });
    }
    checkEvent(segment, event, state, problem);
  }
  return { events, endLine: state.endLine };
}

// Only the last line of a journal without a final newline (the only line that can be
// unterminated) can be a write the runner did not finish; a broken line anywhere else, or after
// run-end, was not made by the runner.
function isInterruptedWrite(segment: Segment, state: ChainState): boolean {
  return segment.isUnterminated && state.endLine === undefined;
}

function checkEvent(
  segment: Segment,
  event: JournalLine,
  state: ChainState,
  problem: (line: number, rule: JournalRule, message: string) => void,
): void {
  const { line } = segment;
  const seenOn = state.hashLines.get(event.hash);
  if (hashOfLine(event) !== event.hash) {
    problem(
      line,
      'edited',
      `event seq ${event.seq} was edited: its content does not match its hash`,
    );
  } else if (JSON.stringify(event) !== segment.text) {
    problem(
      line,
      're-encoded',
      'was rewritten: its bytes differ from what the journal writes (spacing, escapes or repeated keys)',
    );
  }
  if (seenOn !== undefined) {
    problem(line, 'duplicated', `repeats the event on line ${seenOn}`);
    return;
  }
  state.hashLines.set(event.hash, line);
  if (event.seq === state.expectedSeq && event.prev !== state.expectedPrev) {
    problem(
      line,
      'chain-break',
      state.prevLine === 0
        ? 'the first event does not start the chain: events before it were dropped'
        : `its prev is not the hash of the event on line ${state.prevLine}: an event between them was dropped or replaced, or line ${state.prevLine} was edited`,
    );
  } else if (event.seq > state.expectedSeq) {
    const later = (state.seqLines().get(state.expectedSeq) ?? []).find((l) => l > line);
    problem(
      line,
      later ? 'reordered' : 'dropped',
      later
        ? `seq ${event.seq} comes before seq ${state.expectedSeq} (line ${later}): events were reordered`
        : `${describeGap(state.expectedSeq, event.seq - 1)} missing before it: events were dropped`,
    );
  } else if (event.seq < state.expectedSeq) {
    problem(
      line,
      'reordered',
      `seq ${event.seq} comes after seq ${state.expectedSeq - 1}: events were reordered`,
    );
    return; // keep following the chain from the later event
  }
  state.expectedSeq = event.seq + 1;
  state.expectedPrev = event.hash;
  state.prevLine = line;
  if (event.type === 'run-end') state.endLine = line;
}

function describeGap(from: number, to: number): string {
  return from === to ? `seq ${from} is` : `seq ${from} to ${to} are`;
}

function seqIndex(segments: Iterable<Segment>): Map<number, number[]> {
  const index = new Map<number, number[]>();
  for (const { event, line } of segments) {
    if (event) index.set(event.seq, [...(index.get(event.seq) ?? []), line]);
  }
  return index;
}

function compareWithLedger(
  count: number,
  head: string,
  { expectedCount, expectedHead }: JournalExpectation,
): JournalProblem[] {
  const problems: JournalProblem[] = [];
  if (expectedCount !== undefined && count !== expectedCount) {
    problems.push({
      line: 0,
      rule: count < expectedCount ? 'tail-cut' : 'after-end',
      message:
        count < expectedCount
          ? `the journal holds ${count} events but the ledger recorded ${expectedCount} when the run ended: its tail was cut off`
          : `the journal holds ${count} events but the ledger recorded ${expectedCount} when the run ended: events were added after it ended`,
    });
  }
  if (expectedHead !== undefined && head !== expectedHead) {
    problems.push({
      line: 0,
      rule: 'regenerated',
      message: `the journal's last hash ${head} is not the ${expectedHead} the ledger recorded when the run ended: the journal was regenerated or its end was changed`,
    });
  }
  return problems;
}
