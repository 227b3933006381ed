import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validYaml, withLine, writeCase } from '../test/invalid-runbooks.js';
import { makeTempDir } from '../test/temp-dir.js';
import { loadRunbook } from './load-runbook.js';
import { formatProblem } from './problem.js';

let root: { dir: string; remove: () => Promise<void> };
beforeAll(async () => {
  root = await makeTempDir();
});
afterAll(() => root.remove());

async function problemsOf(name: string, yaml: string | Uint8Array) {
  const dir = await writeCase(root.dir, { name, yaml, expected: [] });
  return (await loadRunbook(dir, { cwd: dir })).problems.map(formatProblem);
}

describe('control characters in a runbook', () => {
  it('accepts tabs and line breaks in run:, description:, args:, with: and param values', async () => {
    const yaml = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: demo
  title: Demo
  description: |
    First line.
    \tIndented with a tab.
  category: incident
  grade: P3
spec:
  params:
    path: {type: string, default: "/var/log/app\\n", description: "one\\ttwo"}
    mode: {type: string, enum: ["a\\tb", "c\\nd"]}
  steps:
    - id: one
      name: One
      run: |
        for f in {{ params.path }}; do
        \techo "$f"
        done
    - id: two
      name: Two
      uses: health.report
      with: {note: "x\\ny", nested: ["a\\tb"]}
    - id: three
      name: Three
      script: scripts/x.sh
      args: ["a\\nb"]
`;
    const dir = await writeCase(root.dir, {
      name: 'tabs-and-line-breaks',
      yaml,
      files: { 'scripts/x.sh': 'true\n' },
      expected: [],
    });
    const problems = (await loadRunbook(dir, { cwd: dir })).problems.map(formatProblem);
    // The unknown action is the only complaint: `with:` itself went through the text rules.
    expect(problems).toEqual([
      "runbook.yaml:24:13: unknown action 'health.report': this opsbook has no built-in actions yet; use run: or script:",
    ]);
  });

  it('accepts a runbook saved with CRLF line endings', async () => {
    expect(await problemsOf('crlf', validYaml.replace(/\n/g, '\r\n'))).toEqual([]);
  });

  it('reports one control character per line, each where it is', async () => {
    const yaml = withLine(5, '  title: \u0007De\u0007mo').replace(
      '      name: One',
      '      name: O\u001bne',
    );
    expect(await problemsOf('several', yaml)).toEqual([
      'runbook.yaml:5:10: control character U+0007 (BEL) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
      'runbook.yaml:13:14: control character U+001B (ESC) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ]);
  });

  it('finds a control character in a comment', async () => {
    expect(await problemsOf('comment', withLine(2, 'kind: Runbook # \u001b[8m'))).toEqual([
      'runbook.yaml:2:17: control character U+001B (ESC) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ]);
  });

  it('refuses the bidirectional controls that make a reviewer read another order than runs', async () => {
    // "Trojan Source": an RLO in a command shows the reviewer its tail reversed.
    expect(
      await problemsOf(
        'bidi-raw',
        withLine(15, '      run: ls {{ params.path }} # \u202e;rm -rf /'),
      ),
    ).toEqual([
      'runbook.yaml:15:35: control character U+202E (RLO) in the file: it makes a terminal or editor show the text around it in another order than it runs, so a reviewer would not see what runs; delete it',
    ]);
    const [escaped] = await problemsOf('bidi-escaped', withLine(13, '      name: "One\\u2066"'));
    expect(escaped).toMatch(/^runbook\.yaml:13:17: .*U\+2066 \(LRI\), written as '\\u2066'/);
    // Marks that only set a direction (LRM, RLM) are ordinary text.
    expect(await problemsOf('bidi-marks', withLine(5, '  title: Demo \u200e\u200f'))).toEqual([]);
  });

  it.each([
    ['\\x1b', '"One\\x1b"'],
    ['\\u009b', '"One\\u009b"'],
    ['\\U0000007f', '"One\\U0000007f"'],
    ['\\N', '"One\\N"'],
    ['\\0', '"One\\0"'],
    ['\\r', '"One\\r"'],
  ])('names the escape %s where it is written', async (written, value) => {
    const [problem] = await problemsOf(
      `escape-${written.replace(/\W/g, '')}`,
      withLine(13, `      name: ${value}`),
    );
    expect(problem).toMatch(
      new RegExp(
        `^runbook\\.yaml:13:17: spec\\.steps\\[0\\]\\.name holds .*, written as '${written.replace(/\\/g, '\\\\')}'`,
      ),
    );
  });

  it('does not take an escaped backslash for an escape', async () => {
    const [problem] = await problemsOf(
      'escaped-backslash',
      withLine(13, '      name: "On\\\\e\\e"'),
    );
    expect(problem).toMatch(/^runbook\.yaml:13:19: .*U\+001B \(ESC\), written as '\\e'/);
  });
});
