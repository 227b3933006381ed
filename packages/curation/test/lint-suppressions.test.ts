import { describe, expect, it } from 'vitest';
import { lintFixture } from './lint-fixture.js';

/*
 * `# opsbook-lint disable=RULE reason`: what each placement covers, that a reason is required,
 * that an unknown or unused one is reported, and that a suppressed finding stays in the report
 * with its reason (and no longer counts).
 */

const step = (id: string, body: string) =>
  `    - id: ${id}\n      name: Step ${id}\n${body.replace(/^/gm, '      ')}`;

describe('# opsbook-lint disable=', () => {
  it('at the end of a line covers that line, and keeps the finding with its reason', async () => {
    const r = await lintFixture({
      phases: `  steps:\n${step('usage', 'run: df -hP\nsudo: true  # opsbook-lint disable=sudo-unneeded reads a root-only mount')}`,
    });
    const f = r.findings.find((x) => x.rule === 'sudo-unneeded');
    expect(f?.suppressed).toEqual({
      reason: 'reads a root-only mount',
      file: 'runbook.yaml',
      line: Number(r.at('sudo: true').split(':')[0]),
    });
    expect(r.findings.filter((x) => !x.suppressed)).toEqual([]);
  });

  it('on a line of its own covers the whole step that follows, ShellCheck findings included', async () => {
    const r = await lintFixture({
      phases: `  steps:
    # opsbook-lint disable=SC2086,sudo-unneeded the folder name never has spaces; df reads a root-only mount
${step('usage', 'run: |\n  df -hP $LOG_DIR\nsudo: true')}
${step('other', 'run: |\n  df -hP $LOG_DIR')}`,
    });
    const [first, second] = r.all('$LOG_DIR');
    expect(r.of('SC2086')).toEqual([`${first} (suppressed)`, second]);
    expect(r.of('sudo-unneeded')).toEqual([`${r.at('sudo: true')} (suppressed)`]);
  });

  it('as a shell comment inside a run: block covers the step', async () => {
    const r = await lintFixture({
      phases: `  steps:\n${step('usage', 'run: |\n  # opsbook-lint disable=SC2086 the folder name never has spaces\n  df -hP $LOG_DIR')}`,
    });
    expect(r.of('SC2086')).toEqual([`${r.at('$LOG_DIR')} (suppressed)`]);
  });

  it('before anything else of a script covers the whole script; elsewhere the next line', async () => {
    const r = await lintFixture({
      phases: `  steps:\n${step('s', 'script: scripts/a.sh')}\n${step('t', 'script: scripts/b.sh')}`,
      files: {
        'scripts/a.sh':
          '#!/bin/bash\n# opsbook-lint disable=script-not-sh,SC3010 moved to sh in OPS-12; [[ ]] works in dash 0.5.12 here\nset -eu\n[[ -n "$HOME" ]] && echo ok\n',
        'scripts/b.sh':
          '#!/bin/sh\nset -eu\n# opsbook-lint disable=SC3010 checked on our hosts\n[[ -n "$HOME" ]] && echo one\n[[ -n "$HOME" ]] && echo two\n',
      },
    });
    expect(r.of('script-not-sh')).toEqual(['scripts/a.sh:1:1 (suppressed)']);
    expect(r.of('SC3010')).toEqual([
      'scripts/a.sh:4:1 (suppressed)',
      'scripts/b.sh:4:1 (suppressed)',
      'scripts/b.sh:5:1',
    ]);
  });

  it('before anything else of runbook.yaml covers the whole file', async () => {
    const fx = {
      description: null,
      params: '    days: {type: integer, default: 7}',
      phases: `  steps:\n${step('s', 'run: echo {{ params.days }}')}`,
    };
    const bare = await lintFixture(fx);
    expect(bare.of('description-missing')).toEqual([bare.at('metadata'), bare.at('days')]);
    const r = await lintFixture({
      ...fx,
      header:
        '# A fixture.\n# opsbook-lint disable=description-missing generated from the catalog, described there',
    });
    expect(r.of('description-missing')).toEqual([
      `${r.at('metadata')} (suppressed)`,
      `${r.at('days')} (suppressed)`,
    ]);
  });

  it('refuses a suppression without a reason, and one naming an unknown rule', async () => {
    const r = await lintFixture({
      phases: `  steps:\n${step('usage', 'run: df -hP\nsudo: true  # opsbook-lint disable=sudo-unneeded')}\n${step('x', 'run: echo ok  # opsbook-lint disable=sudo-unneded typo in the id')}`,
    });
    expect(r.of('sudo-unneeded')).toEqual([r.at('sudo: true')]);
    const invalid = r.findings.filter((f) => f.rule === 'suppression-invalid');
    expect(invalid.map((f) => [f.line, f.severity])).toEqual([
      [Number(r.at('sudo: true').split(':')[0]), 'error'],
      [Number(r.at('echo ok').split(':')[0]), 'error'],
    ]);
    expect(invalid[0]!.message).toMatch(/needs the rule and a reason/);
    expect(invalid[1]!.message).toMatch(/did you mean 'sudo-unneeded'\?/);
  });

  it('reports a suppression that covers nothing', async () => {
    const r = await lintFixture({
      phases: `  steps:\n${step('ok', 'run: echo ok  # opsbook-lint disable=SC2086 nothing to hide here')}`,
    });
    expect(r.of('suppression-unused')).toEqual([r.at('# opsbook-lint')]);
    expect(r.findings.find((f) => f.rule === 'suppression-unused')!.severity).toBe('warning');
  });
});
