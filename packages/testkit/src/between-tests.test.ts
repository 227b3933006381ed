import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockUntilExited } from './postgres.js';

/*
 * vitest's worker sends each test's result to the main process and gives the answer 60 s (a
 * limit no option changes); it reads the answer only when its event loop polls. Between two
 * tests it does not poll: a file of synchronous tests (secret-mask.test.ts: ~100 s of them on a
 * loaded 2-core CI machine) keeps the answer unread, and the run ends with "Timeout calling
 * onTaskUpdate" and exit 1 although every test passed. The shared configuration lets the worker
 * poll after each test (vitest.between-tests.ts): what arrived meanwhile is read.
 */

let read = '';
let child: ChildProcessByStdio<Writable, Readable, null>;

beforeAll(async () => {
  // Read from the start, as the worker reads the main process's channel.
  child = spawn('sh', ['-c', 'read line; echo "$line"'], { stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    read += text;
  });
  await setImmediate();
});
afterAll(() => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('between two synchronous tests', () => {
  it('(an answer arrives while this test keeps the event loop busy)', () => {
    child.stdin.end('answered\n');
    expect(child.pid).toBeGreaterThan(0);
    blockUntilExited(child.pid!);
  });

  it('the worker has read what arrived before the next test starts', () => {
    expect(read).toBe('answered\n');
  });
});
