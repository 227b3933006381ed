import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKnownRule, lintRules, renderSarif } from '../src/index.js';
import { lintFixture } from './lint-fixture.js';

/*
 * What lint hands over: the SARIF 2.1.0 document CI code scanning reads, checked for the
 * structure the standard requires of it, and the errors when ShellCheck is missing or is not
 * ShellCheck.
 */

const bad = {
  params: '    token: {type: string, secret: true, description: Token}',
  phases: `  steps:
    - id: fetch
      name: Fetch and run
      run: |
        curl -fsSL -u {{ params.token }} https://get.example.com | sh
        echo $UNQUOTED
    - id: usage
      name: Usage
      run: df -hP
      sudo: true  # opsbook-lint disable=sudo-unneeded reads a root-only mount`,
};

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: string };
      region: { startLine: number; startColumn: number; endLine: number; endColumn: number };
    };
  }>;
  suppressions?: Array<{ kind: string; justification: string }>;
}

describe('SARIF output', () => {
  it('is a SARIF 2.1.0 log: rules, results pointing at them, regions, suppressions', async () => {
    const r = await lintFixture(bad);
    const root = path.dirname(path.resolve('x'));
    const report = {
      shellcheck: { program: 'shellcheck', version: '0.9.0' },
      runbooks: [{ name: 'fx', version: '1.0.0', file: 'runbook.yaml', findings: r.findings }],
      counts: { error: 0, warning: 0, info: 0, suppressed: 0 },
    };
    const sarif = JSON.parse(JSON.stringify(renderSarif(report, { root, cwd: root })));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
    expect(sarif.runs).toHaveLength(1);
    const [run] = sarif.runs;
    expect(run.tool.driver.name).toBe('opsbook lint');
    expect(run.tool.extensions).toEqual([
      { name: 'ShellCheck', version: '0.9.0', informationUri: 'https://www.shellcheck.net' },
    ]);
    expect(run.originalUriBaseIds.SRCROOT.uri).toMatch(/^file:\/\/\/.*\/$/);
    const rules: Array<{ id: string; helpUri?: string; defaultConfiguration?: unknown }> =
      run.tool.driver.rules;
    for (const rule of lintRules.values())
      expect(rules.find((x) => x.id === rule.id)?.defaultConfiguration).toEqual({
        level: rule.severity === 'info' ? 'note' : rule.severity,
      });
    expect(rules.find((x) => x.id === 'SC2086')?.helpUri).toBe(
      'https://www.shellcheck.net/wiki/SC2086',
    );
    const results: SarifResult[] = run.results;
    expect(results.map((x) => x.ruleId).sort()).toEqual(
      ['SC2086', 'secret-in-command', 'sudo-unneeded', 'unpinned-download'].sort(),
    );
    for (const x of results) {
      expect(rules[x.ruleIndex]!.id).toBe(x.ruleId);
      expect(['error', 'warning', 'note']).toContain(x.level);
      expect(x.message.text.length).toBeGreaterThan(10);
      const { artifactLocation, region } = x.locations[0]!.physicalLocation;
      expect(artifactLocation).toEqual({ uri: 'runbook.yaml', uriBaseId: 'SRCROOT' });
      expect(region.startLine).toBeGreaterThanOrEqual(1);
      expect(region.startColumn).toBeGreaterThanOrEqual(1);
      expect(region.endLine).toBeGreaterThanOrEqual(region.startLine);
      if (region.endLine === region.startLine)
        expect(region.endColumn).toBeGreaterThan(region.startColumn);
    }
    const secret = results.find((x) => x.ruleId === 'secret-in-command')!;
    expect(secret.locations[0]!.physicalLocation.region).toEqual({
      startLine: Number(r.at('{{ params.token }}').split(':')[0]),
      startColumn: Number(r.at('{{ params.token }}').split(':')[1]),
      endLine: Number(r.at('{{ params.token }}').split(':')[0]),
      endColumn: Number(r.at('{{ params.token }}').split(':')[1]) + '{{ params.token }}'.length,
    });
    expect(results.find((x) => x.ruleId === 'sudo-unneeded')!.suppressions).toEqual([
      { kind: 'inSource', justification: 'reads a root-only mount' },
    ]);
    expect(results.filter((x) => x.suppressions).length).toBe(1);
  });

  it('names every rule id a suppression accepts', () => {
    for (const id of lintRules.keys()) expect(isKnownRule(id)).toBe(true);
    expect(isKnownRule('SC2086')).toBe(true);
    expect(isKnownRule('SC208')).toBe(false);
    expect(isKnownRule('sudo')).toBe(false);
  });
});

describe('ShellCheck itself', () => {
  it('is required: a missing program is SHELLCHECK_MISSING (exit 1), saying how to install it', async () => {
    const error = await lintFixture(bad, { shellcheck: '/nonexistent/shellcheck' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'SHELLCHECK_MISSING', kind: 'failed' });
    expect((error as Error).message).toMatch(/apt-get install shellcheck/);
    expect((error as Error).message).toMatch(/OPSBOOK_SHELLCHECK/);
  });

  it('must be ShellCheck: another program is SHELLCHECK_FAILED', async () => {
    const error = await lintFixture(bad, { shellcheck: '/bin/echo' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SHELLCHECK_FAILED', kind: 'failed' });
  });
});
