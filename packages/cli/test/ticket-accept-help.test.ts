import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('ticket accept and ticket report --help', () => {
  it('names --accept-late-report, and says what a late report is and why accept refuses it', async () => {
    const accept = await runCli(['ticket', 'accept', '--help']);
    expect(accept.code, accept.stderr).toBe(0);
    expect(accept.stdout).toContain('--accept-late-report');
    expect(accept.stdout).toContain('RUN_REPORTED_LATE');
    expect(accept.stdout).toContain('Check the hosts yourself');
    const report = await runCli(['ticket', 'report', '--help']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('always counts against the');
    expect(report.stdout).toContain('--accept-late-report');
  });
});
