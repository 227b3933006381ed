import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

/*
 * runCli writes `input` to the command's stdin. A command that exits without reading it (most do)
 * closes the pipe, and a write still going then fails with EPIPE: that error had no listener, and
 * vitest reported it as an unhandled error of whichever test ran then (a green suite exiting 1).
 */
describe('runCli', () => {
  it('gives the result of a command that exits without reading a stdin larger than a pipe holds', async () => {
    const r = await runCli(['--version'], { input: 'x'.repeat(4 << 20) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
