import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadRunbook } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll } from 'vitest';
import { type LintFinding, type LintOptions, lintRunbooks } from '../src/index.js';

/*
 * A runbook written by a test into its own folder, loaded by @opsbook/schema as opsbook loads
 * any runbook, then linted with the real ShellCheck. Findings are compared by rule and by the
 * line:col of a piece of text the test names, so a test reads like the runbook it lints.
 */

export interface Fixture {
  /** metadata.category; default incident (the change rules stay quiet). */
  category?: 'routine' | 'incident' | 'change';
  /** metadata.description; null leaves it out. */
  description?: string | null;
  /** YAML under spec.params, indented 4 (e.g. `    path: {type: string, …}`). */
  params?: string;
  /** YAML of the phases, indented 2 (`  steps:\n    - id: …`). */
  phases: string;
  /** Comment lines before `apiVersion:`. */
  header?: string;
  /** Other files of the runbook folder (scripts/x.sh), by relative path. */
  files?: Record<string, string>;
}

export interface Linted {
  yaml: string;
  findings: LintFinding[];
  /** The findings of `rule` as `line:col` (suppressed ones marked `(suppressed)`). */
  of(rule: string): string[];
  /** `line:col` of the first occurrence of `needle` in runbook.yaml (or `file`), 1-based. */
  at(needle: string, file?: string): string;
  /** `line:col` of every occurrence of `needle` in runbook.yaml. */
  all(needle: string): string[];
}

const temp = await makeTempDir('opsbook-lint-test-');
afterAll(() => temp.remove());
let count = 0;

export function runbookYaml(fx: Fixture): string {
  const description =
    fx.description === null
      ? ''
      : `  description: ${fx.description ?? 'What the fixture is for.'}\n`;
  const params = fx.params ? `  params:\n${fx.params.replace(/\n?$/, '\n')}` : '';
  const header = fx.header ? fx.header.replace(/\n?$/, '\n') : '';
  return `${header}apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: fx
  title: Lint fixture
${description}  category: ${fx.category ?? 'incident'}
  grade: P3
  owners: [ops]
spec:
${params}${fx.phases.replace(/\n?$/, '\n')}`;
}

export async function lintFixture(fx: Fixture, options: LintOptions = {}): Promise<Linted> {
  const dir = path.join(temp.dir, `fx-${++count}`);
  await mkdir(dir, { recursive: true });
  const yaml = runbookYaml(fx);
  await writeFile(path.join(dir, 'runbook.yaml'), yaml);
  await writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: '@runbooks/fx', version: '1.0.0', private: true }),
  );
  const texts: Record<string, string> = { 'runbook.yaml': yaml };
  for (const [rel, text] of Object.entries(fx.files ?? {})) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
    texts[rel] = text;
  }
  const loaded = await loadRunbook(dir, { cwd: dir });
  if (!loaded.ok) throw new Error(`fixture does not load: ${JSON.stringify(loaded.problems)}`);
  const report = await lintRunbooks([loaded.bundle], options);
  const findings = report.runbooks[0]!.findings;
  return {
    yaml,
    findings,
    of: (rule) =>
      findings
        .filter((f) => f.rule === rule)
        .map(
          (f) =>
            `${f.file === 'runbook.yaml' ? '' : `${f.file}:`}${f.line}:${f.col}${f.suppressed ? ' (suppressed)' : ''}`,
        ),
    at: (needle, file = 'runbook.yaml') => {
      const text = texts[file] ?? '';
      const offset = text.indexOf(needle);
      if (offset < 0) throw new Error(`${needle} is not in ${file}`);
      const place = placeOf(text, offset);
      return file === 'runbook.yaml' ? place : `${file}:${place}`;
    },
    all: (needle) => {
      const places: string[] = [];
      for (let i = yaml.indexOf(needle); i >= 0; i = yaml.indexOf(needle, i + 1))
        places.push(placeOf(yaml, i));
      return places;
    },
  };
}

function placeOf(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}
