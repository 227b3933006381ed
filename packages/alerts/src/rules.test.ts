import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { rulesOf } from './__fixtures__/rules.js';
import { type KnownPeople, loadAlertRules } from './rules.js';

const HEAD = 'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 2\n';

async function problemsOf(
  yaml: string,
  files: Record<string, string> = {},
  runbooks?: string[],
  people?: KnownPeople,
): Promise<{ code: string; lines: string[] }> {
  try {
    await rulesOf(yaml, files, {
      ...(runbooks ? { runbookNames: new Set(runbooks) } : {}),
      ...(people ? { people } : {}),
    });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return {
      code: e.code,
      lines: e.problems.map((p) => `${p.file.split('/').pop()}:${p.line}:${p.col}: ${p.message}`),
    };
  }
  throw new Error('the rules loaded');
}

describe('loadAlertRules', () => {
  it('fills in the defaults of a minimal file', async () => {
    const rules = await rulesOf(HEAD);
    expect(rules).toMatchObject({
      version: 2,
      severities: ['critical', 'warning', 'info'],
      windowMs: 15 * 60_000,
      quietMs: 6 * 3_600_000,
      hostLabels: ['host', 'instance'],
      fallback: ['alertname'],
      correlate: [],
      ownership: [],
    });
    expect(rules.grading.rules.map((r) => r.grade)).toEqual(['P2', 'P3']);
  });

  it('refuses an unknown key and a wrong type at their line and column, with the fix', async () => {
    const { code, lines } = await problemsOf(
      `${HEAD}windw: 10m\ncorrelate:\n  - name: c\n    by: {labels: cluster}\n`,
    );
    expect(code).toBe('ALERT_RULES_INVALID');
    expect(lines.join('\n')).toMatch(/^alerts\.yaml:4:1: .*windw.*window/m);
    expect(lines.join('\n')).toMatch(/^alerts\.yaml:7:\d+: /m);
  });

  it('says how to write a duration, not the regular expression it must match', async () => {
    const { lines } = await problemsOf(`${HEAD}window: 15x\nquiet: 6 hours\n`);
    expect(lines).toEqual([
      'alerts.yaml:4:9: window is the string "15x": write a duration such as 30s, 15m, 6h or 2d',
      'alerts.yaml:5:8: quiet is the string "6 hours": write a duration such as 30s, 15m, 6h or 2d',
    ]);
  });

  it("names the forms of a rule's by: and the key a typo meant, not 'a mapping, or a mapping'", async () => {
    const { code, lines } = await problemsOf(
      `${HEAD}correlate:\n  - name: zone\n    by: {hostvar: zone}\n  - name: two\n    by: {host: true, groups: [db]}\n`,
    );
    expect(code).toBe('ALERT_RULES_INVALID');
    expect(lines).toEqual([
      "alerts.yaml:6:9: correlate[0].by has a mapping, which fits none of the allowed forms: a mapping with 'labels', or a mapping with 'groups', or a mapping with 'hostVar', or a mapping with 'host': 'hostvar' is not one of their keys: did you mean 'hostVar'?",
      "alerts.yaml:8:9: correlate[1].by has a mapping, which fits none of the allowed forms: a mapping with 'labels', or a mapping with 'groups', or a mapping with 'hostVar', or a mapping with 'host': 'host' and 'groups' belong to different forms: give only one",
    ]);
  });

  it('refuses a repeated rule name, a severity not listed and a runbook the repository lacks', async () => {
    const { lines } = await problemsOf(
      `${HEAD}correlate:
  - {name: c, by: {labels: [cluster]}}
  - {name: c, by: {host: true}}
grading:
  rules:
    - {grade: P1, when: {minSeverity: page}}
runbooks:
  - {match: {alertname: DiskFull}, runbook: disk-clean}
`,
      {},
      ['disk-cleanup'],
    );
    expect(lines).toEqual([
      "alerts.yaml:6:12: the correlation rule 'c' is already rule 1: give each rule its own name (incidents name the rule that opened them)",
      "alerts.yaml:9:39: 'page' is not one of the severities (critical, warning, info): use one of them, or list it under severities:",
      "alerts.yaml:11:45: there is no runbook 'disk-clean' in this repository: did you mean disk-cleanup? (opsbook list shows them): fix the name, or add the runbook first",
    ]);
  });

  it('refuses YAML anchors, as every opsbook file does', async () => {
    const { lines } = await problemsOf(`${HEAD}fallback: &f [alertname]\nhostLabels: *f\n`);
    expect(lines.join('\n')).toMatch(/alerts\.yaml:\d+:\d+: .*(anchor|alias)/i);
  });

  it('reads the on-call file an ownership rule names, and places its problems in that file', async () => {
    const { lines } = await problemsOf(`${HEAD}ownership:\n  default: {onCall: oncall.yaml}\n`, {
      'oncall.yaml':
        'apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - {from: tomorrow, person: olga}\n',
    });
    expect(lines.join('\n')).toMatch(/^oncall\.yaml:4:\d+: .*from/m);
    const missing = await problemsOf(`${HEAD}ownership:\n  default: {onCall: nowhere.yaml}\n`);
    expect(missing.lines.join('\n')).toMatch(
      /^alerts\.yaml:5:\d+: cannot read the on-call file .*nowhere\.yaml \(ENOENT\): the path is relative to alerts\.yaml/m,
    );
  });

  it('reads no on-call file outside the folder of alerts.yaml (absolute, .., a symlink): its text would be in the error', async () => {
    // `opsbook validate` in CI and `alerts serve`'s reload log print what a file that is not an
    // on-call file holds ("not the string …"): a path to a token file would print the token.
    const top = await mkdtemp(path.join(tmpdir(), 'opsbook-oncall-escape-'));
    try {
      const secret = path.join(top, 'alerts.token');
      await writeFile(secret, 'tok-0123456789-SECRET\n');
      const dir = path.join(top, 'rules');
      await mkdir(path.join(dir, 'oncall'), { recursive: true });
      await symlink(secret, path.join(dir, 'oncall', 'link.yaml'));
      for (const onCall of ['../alerts.token', secret, 'oncall/link.yaml']) {
        await writeFile(
          path.join(dir, 'alerts.yaml'),
          `${HEAD}ownership:\n  default: {onCall: ${JSON.stringify(onCall)}}\n`,
        );
        const e = await loadAlertRules(path.join(dir, 'alerts.yaml')).catch((x: unknown) => x);
        expect(e, onCall).toBeInstanceOf(ValidationError);
        const problems = (e as ValidationError).problems;
        expect(problems.map((p) => p.message).join('\n')).not.toContain('SECRET');
        expect(problems, onCall).toEqual([
          expect.objectContaining({
            file: path.join(dir, 'alerts.yaml'),
            line: 5,
            rule: 'bad-on-call-path',
            message: expect.stringMatching(
              /^the on-call file '.+' (is an absolute path: give a path relative to the folder of alerts\.yaml|leaves the folder of alerts\.yaml|is, or is inside, a symlink)/,
            ),
          }),
        ]);
      }
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });

  it('refuses a shift whose from is not a time with its offset, saying how to write one', async () => {
    const yaml = `${HEAD}ownership:\n  rules:\n    - {match: {labels: {team: db}}, onCall: oncall.yaml}\n  default: { roundRobin: [val] }\n`;
    const oncall =
      'apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - {from: "2025-03-10", person: val}\n';
    const { code, lines } = await problemsOf(yaml, { 'oncall.yaml': oncall });
    expect(code).toBe('ALERT_RULES_INVALID');
    expect(lines).toEqual([
      'oncall.yaml:4:12: shifts[0].from is the string "2025-03-10": write a time with its day and offset, e.g. 2025-03-10T08:00:00Z (UTC) or 2025-03-10T09:00:00+01:00',
    ]);
  });

  it('refuses an ownership name that is nobody of approvers.yaml, at its line and column, with the nearest id', async () => {
    const people = {
      file: 'approvers.yaml',
      names: new Set(['erin', 'val', 'acc-557058']),
      ids: ['erin', 'val'],
    };
    const yaml = `${HEAD}ownership:\n  rules:\n    - {match: {labels: {team: db}}, onCall: oncall.yaml}\n  default: { roundRobin: [val, erinn, nobodyx] }\n`;
    const oncall =
      'apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - {from: 2025-03-03T08:00:00Z, person: erin}\n  - {from: 2025-03-10T08:00:00Z, person: vall}\n';
    const { code, lines } = await problemsOf(yaml, { 'oncall.yaml': oncall }, undefined, people);
    expect(code).toBe('ALERT_RULES_INVALID');
    expect(lines).toEqual([
      "alerts.yaml:7:32: 'erinn' is not a person of approvers.yaml: did you mean erin? Name people by their id there (erin, val), or add them to it first",
      "alerts.yaml:7:39: 'nobodyx' is not a person of approvers.yaml. Name people by their id there (erin, val), or add them to it first",
      "oncall.yaml:5:42: 'vall' is not a person of approvers.yaml: did you mean val? Name people by their id there (erin, val), or add them to it first",
    ]);
    // Tracker accounts listed there (approvers.yaml jira) are people too.
    await expect(
      rulesOf(`${HEAD}ownership:\n  default: { roundRobin: [acc-557058, erin] }\n`, {}, { people }),
    ).resolves.toMatchObject({ ownership: [{ owners: { roundRobin: ['acc-557058', 'erin'] } }] });
  });

  it('says ALERT_RULES_MISSING, and how to start, when there is no file', async () => {
    const { loadAlertRules } = await import('./rules.js');
    const e = await loadAlertRules('/nonexistent/alerts.yaml').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe('ALERT_RULES_MISSING');
    expect((e as ValidationError).message).toMatch(/docs\/alerts\.md/);
  });
});
