import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

const RULES = [
  'apiVersion: opsbook/v1',
  'kind: AlertRules',
  'version: 3',
  'severities: [critical, warning]',
  'correlate:',
  '  - {name: cluster, by: {labels: [cluster]}}',
];

describe('opsbook validate checks alerts.yaml beside the runbooks', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: temp.dir });
  const rules = (...extra: string[]) =>
    writeFile(path.join(temp.dir, 'alerts.yaml'), [...RULES, ...extra, ''].join('\n'));

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-validate-rules-');
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: local}\n',
    );
    await mkdir(path.join(temp.dir, 'runbooks'));
  });
  afterAll(() => temp.remove());

  it('names each problem of alerts.yaml at file:line:col, exit 2', async () => {
    await rules(
      'grading:',
      '  rules:',
      '    - { grade: P1, when: { minSeverity: critcal } }',
      '    - { grade: P2, when: { minSeverity: warnin } }',
    );
    const r = await cli(['validate']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^alerts\.yaml:9:\d+: .*critcal/m);
    expect(r.stdout).toMatch(/^alerts\.yaml:10:\d+: .*warnin/m);
    expect(r.stdout).toMatch(/✗ 2 problems in alerts\.yaml\n$/);
    const json = JSON.parse((await cli(['validate', '--json'])).stdout) as {
      ok: boolean;
      alertRules: { file: string; ok: boolean; problems: Array<{ line: number }> };
    };
    expect(json.ok).toBe(false);
    expect(json.alertRules.file).toBe('alerts.yaml');
    expect(json.alertRules.ok).toBe(false);
    expect(json.alertRules.problems.map((p) => p.line)).toEqual([9, 10]);
  });

  it('says alerts.yaml is valid when it is, exit 0', async () => {
    await rules('grading:', '  rules:', '    - { grade: P1, when: { minSeverity: critical } }');
    const r = await cli(['validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ alerts\.yaml valid\n$/);
    await rules('extra: 1');
    const schema = await cli(['validate']);
    expect(schema.code).toBe(2);
    expect(schema.stdout).toMatch(/^alerts\.yaml:7:1: unknown key 'extra'/m);
  });

  it('checks the --rules FILE given instead of alerts.yaml', async () => {
    await rules('bogus: 1');
    await mkdir(path.join(temp.dir, 'elsewhere'), { recursive: true });
    await writeFile(
      path.join(temp.dir, 'elsewhere', 'rules.yaml'),
      [...RULES, 'quiet: 6x', ''].join('\n'),
    );
    const other = await cli(['validate', '--rules', 'elsewhere/rules.yaml']);
    expect(other.code).toBe(2);
    expect(other.stdout).toMatch(/^elsewhere\/rules\.yaml:7:\d+: /m);
    expect(other.stdout).not.toContain('bogus');
  });

  it('refuses a --rules file that is not there, with what to do', async () => {
    await rm(path.join(temp.dir, 'alerts.yaml'));
    const none = await cli(['validate']);
    expect(none.code).toBe(0);
    expect(none.stdout).not.toContain('alerts.yaml');
    const r = await cli(['validate', '--rules', 'nope.yaml']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('there is no nope.yaml');
    // A file outside the working folder is named by its absolute path, not '../…'.
    const outside = await cli(['validate', '--rules', path.dirname(temp.dir)]);
    expect(outside.code).toBe(2);
    expect(outside.stdout).toContain(
      `${path.dirname(temp.dir)}: cannot read the alert rules (EISDIR)`,
    );
  });
});
