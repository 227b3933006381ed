import { setImmediate } from 'node:timers/promises';
import { afterEach } from 'vitest';

/*
 * A setup file of every package's tests (vitest.shared.ts). vitest's worker gives the main
 * process 60 s to answer each report of test results, and reads the answer only when its event
 * loop polls, which it does not do between two tests: a file of synchronous tests longer than that
 * (a loaded 2-core CI machine makes 30 s of them 100 s) ended the run with "[vitest-worker]:
 * Timeout calling onTaskUpdate" and exit 1 though every test passed. After each test the worker
 * polls (setImmediate runs after the poll phase), so an answer is read as soon as it is there.
 */
afterEach(() => setImmediate());
