import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseInventoryText } from '@opsbook/inventory';
import { digestRunbook, formatProblem, type LoadResult, type ParamValue } from '@opsbook/schema';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compositionsOf, loadCatalog, loadRunbookFor } from './catalog.js';
import { flattenCompositions, MAX_COMPOSE_DEPTH } from './compose.js';
import { renderPlan } from './plan.js';

/*
 * Composition (`uses: runbook:NAME@RANGE`) resolved in a real library folder: ranges, cycles,
 * depth, the composed runbook's params against the composing step's with:, and the params each
 * composed runbook is planned with. Every problem is checked at its runbook.yaml line:col.
 */

let tmp: { dir: string; remove(): Promise<void> };
let n = 0;
beforeAll(async () => {
  tmp = await makeTempDir('opsbook-compose-');
});
afterAll(() => tmp?.remove());

/** A fresh library folder holding these runbooks (name → [version, spec lines]). */
async function library(runbooks: Record<string, [string, string] | [string, string, string]>) {
  n += 1;
  const dir = path.join(tmp.dir, `lib-${n}`);
  for (const [folder, [version, spec, name = folder]] of Object.entries(runbooks)) {
    await mkdir(path.join(dir, folder), { recursive: true });
    await writeFile(
      path.join(dir, folder, 'package.json'),
      JSON.stringify({ name: `@runbooks/${name}`, version, private: true }),
    );
    await writeFile(
      path.join(dir, folder, 'runbook.yaml'),
      `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: ${name}
  category: change
  grade: P3
spec:
${spec}`,
    );
  }
  return dir;
}

/** The problems `opsbook validate` reports for the runbook in `folder`, as it prints them. */
async function problemsOf(dir: string, folder: string): Promise<string[]> {
  const r = await loadRunbookFor(path.join(dir, folder), dir);
  return r.problems.map(formatProblem);
}

/** A runbook spec whose only step composes `uses`, with `withLines` under with: (line 12 is uses:). */
function composing(uses: string, withLines = '', params = '  params:\n    dir: {type: string}\n') {
  return `${params}  steps:
    - id: inner
      name: Run it
      uses: ${uses}
${withLines ? `      with:\n${withLines}` : ''}`;
}

const leaf = `  params:
    dir: {type: string, pattern: "^/"}
    keep: {type: integer, default: 7, minimum: 1}
  steps:
    - id: tidy
      name: Tidy
      run: ls {{ params.dir }}
`;

describe('resolving runbook:NAME@RANGE', () => {
  it('resolves a range to the highest version of that name in the library', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.2.0', '        dir: "{{ params.dir }}"\n')],
      tidy: ['1.2.0', leaf],
      'tidy-newer': ['1.4.1', leaf, 'tidy'],
      'tidy-major': ['2.0.0', leaf, 'tidy'],
    });
    const r = await loadRunbookFor(path.join(dir, 'top'), dir);
    expect(r.problems).toEqual([]);
    if (!r.ok) return;
    const [c] = await compositionsOf(r.bundle);
    expect(c).toMatchObject({ path: 'inner', range: '^1.2.0', phase: 'steps' });
    expect([c?.bundle.version, c?.bundle.dir]).toEqual(['1.4.1', path.join(dir, 'tidy-newer')]);
    expect(c?.digest.digest).toBe((await digestRunbook(c!.bundle.dir, c!.bundle)).digest);
  });

  it('names the versions there are when the range matches none', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^3.0.0', '        dir: "{{ params.dir }}"\n')],
      tidy: ['1.2.0', leaf],
      'tidy-two': ['2.0.0', leaf, 'tidy'],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      'top/runbook.yaml:14:13: runbook:tidy@^3.0.0 matches no version of tidy in . (there are 1.2.0, 2.0.0): change the range, e.g. to ^2.0.0',
    ]);
  });

  it('refuses an unknown runbook, guessing the name', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidi@^1.0.0')],
      tidy: ['1.2.0', leaf],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:14:13: no runbook 'tidi' in .: did you mean 'tidy'?",
    ]);
  });

  it('refuses a range that is no range', async () => {
    const dir = await library({ top: ['1.0.0', composing('runbook:tidy@^1.x.y.z')] });
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:14:13: '^1.x.y.z' is not a version range: write one such as ^1.2.0 (same major), ~1.2.0 (same minor) or 1.2.0 (exactly)",
    ]);
  });

  it('refuses two folders holding the same name and version', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: /x\n')],
      tidy: ['1.2.0', leaf],
      'tidy-copy': ['1.2.0', leaf, 'tidy'],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      'top/runbook.yaml:14:13: tidy 1.2.0 is in 2 folders (tidy, tidy-copy): keep one, so that the range resolves to one bundle',
    ]);
  });

  it('names the first problem of a composed runbook that is not valid', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0')],
      tidy: ['1.2.0', leaf.replace('run: ls {{ params.dir }}', 'run: ls {{ params.dri }}')],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:14:13: runbook:tidy@^1.0.0 resolves to tidy 1.2.0, which is not valid: tidy/runbook.yaml:15:12: template '{{ params.dri }}' names param 'dri', which is not declared under spec.params: did you mean 'dir'?",
    ]);
  });
});

describe('a catalog of several composites', () => {
  it('reads the library once for all of them and gives each the problems it has alone', async () => {
    const dir = await library({
      a: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      b: ['1.0.0', composing('runbook:tidy@^2.0.0', '        dir: "{{ params.dir }}"\n')],
      c: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: relative\n')],
      d: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      tidy: ['1.2.0', leaf],
    });
    const config = { runbooksDir: dir } as Parameters<typeof loadCatalog>[0];
    const catalog = await loadCatalog(config, [], dir);
    const alone = await Promise.all(['a', 'b', 'c', 'd', 'tidy'].map((f) => problemsOf(dir, f)));
    expect(catalog.map((r) => r.problems.map(formatProblem))).toEqual(alone);
    expect(alone.map((p) => p.length)).toEqual([0, 1, 1, 0, 0]);
    // The composed runbook is the same one, loaded once, for every composite that resolved it.
    const [a, , , d] = catalog;
    if (!a?.ok || !d?.ok) throw new Error('a and d should load');
    const [fromA] = await compositionsOf(a.bundle, dir);
    const [fromD] = await compositionsOf(d.bundle, dir);
    expect(fromA?.bundle).toBe(fromD?.bundle);
  });

  it('gives each the same problems when only problems are wanted, and refuses what a digest refuses', async () => {
    const dir = await library({
      a: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      b: ['1.0.0', composing('runbook:tidy@^2.0.0', '        dir: "{{ params.dir }}"\n')],
      c: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: relative\n')],
      tidy: ['1.2.0', leaf],
    });
    const config = { runbooksDir: dir } as Parameters<typeof loadCatalog>[0];
    const problems = (rs: LoadResult[]) => rs.map((r) => r.problems.map(formatProblem));
    const checked = await loadCatalog(config, [], dir, { checkOnly: true });
    expect(problems(checked)).toEqual(problems(await loadCatalog(config, [], dir)));
    expect(checked.map((r) => r.ok)).toEqual([true, false, false, true]);
    // No composition kept: compositionsOf resolves it again, digest included.
    const [a] = checked;
    if (!a?.ok) throw new Error('a should load');
    const [composed] = await compositionsOf(a.bundle, dir);
    expect(composed?.digest.digest).toBe(
      (await digestRunbook(path.join(dir, 'tidy'), composed!.bundle)).digest,
    );
    // What its digest refuses, the composed runbook's load refuses: it does not load, and the
    // composites that resolve it say so, checked or digested alike, the catalog loading as a whole.
    await symlink(path.join(dir, 'tidy', 'runbook.yaml'), path.join(dir, 'tidy', 'copy.yaml'));
    const refusal = /runbook folder contains a symlink \(copy\.yaml\)/;
    for (const options of [{}, { checkOnly: true }]) {
      const rs = await loadCatalog(config, [], dir, options);
      expect(rs.map((r) => r.ok)).toEqual([false, false, false, false]);
      const [ofA, , ofC, ofTidy] = problems(rs);
      expect(ofTidy).toEqual([expect.stringMatching(refusal)]);
      expect(ofA).toEqual([expect.stringMatching(refusal)]);
      expect(ofC?.join('\n')).toMatch(refusal);
    }
  });
});

describe('a named runbook with the composites that no longer resolve it', () => {
  it('adds, after the named one, each composite of it (directly or through another) that fails, as the whole catalog does', async () => {
    const dir = await library({
      // a composes tidy@^1 (broken by tidy 2.0.0); outer composes a (broken through it);
      // fine composes tidy@^2; other composes nothing of tidy.
      a: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      outer: ['1.0.0', composing('runbook:a@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      fine: ['1.0.0', composing('runbook:tidy@^2.0.0', '        dir: "{{ params.dir }}"\n')],
      other: ['1.0.0', leaf],
      tidy: ['2.0.0', leaf],
    });
    const config = { runbooksDir: dir } as Parameters<typeof loadCatalog>[0];
    const problems = (rs: LoadResult[]) => rs.map((r) => r.problems.map(formatProblem));
    const whole = await loadCatalog(config, [], dir, { checkOnly: true });
    const named = await loadCatalog(config, ['tidy'], dir, { brokenComposers: true });
    const folder = (r: LoadResult) => path.basename(r.ok ? r.bundle.dir : r.dir);
    expect(whole.map(folder)).toEqual(['a', 'fine', 'other', 'outer', 'tidy']);
    expect(named.map(folder)).toEqual(['tidy', 'a', 'outer']);
    expect(problems(named)).toEqual([[], ...problems([whole[0]!, whole[3]!])]);
    expect(named[1]!.problems[0]!.message).toMatch(/matches no version of tidy/);
    // Without the option, only what was named.
    expect((await loadCatalog(config, ['tidy'], dir)).map((r) => r.ok)).toEqual([true]);
  });
});

describe('categories', () => {
  it("refuses to compose a runbook of another category than the composite's, routine ones aside", async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: /x\n')],
      tidy: ['1.2.0', leaf],
    });
    const set = async (folder: string, category: string) => {
      const file = path.join(dir, folder, 'runbook.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(/category: \w+/, `category: ${category}`));
    };
    await set('top', 'routine');
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:14:13: top is a routine runbook but tidy is a change one: one approval covers both, under routine's policy (a standing approval); compose routine runbooks only, or make top a change runbook",
    ]);
    await set('top', 'incident');
    expect((await problemsOf(dir, 'top'))[0]).toContain(
      "top is an incident runbook but tidy is a change one: one approval covers both, under incident's policy; compose incident or routine runbooks, or make top a change runbook",
    );
    await set('tidy', 'routine');
    expect(await problemsOf(dir, 'top')).toEqual([]);
  });
});

describe('grades', () => {
  it('refuses to compose a runbook more urgent than the composite, routine ones aside', async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: /x\n')],
      tidy: ['1.2.0', leaf],
    });
    const set = async (folder: string, from: RegExp, to: string) => {
      const file = path.join(dir, folder, 'runbook.yaml');
      await writeFile(file, (await readFile(file, 'utf8')).replace(from, to));
    };
    await set('tidy', /grade: P3/, 'grade: P1');
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:14:13: top is graded P3 but tidy is P1: one approval covers both, under P3's policy; grade top P1 (or more urgent), or compose a runbook graded P3 or less urgent",
    ]);
    await set('top', /grade: P3/, 'grade: P1');
    expect(await problemsOf(dir, 'top')).toEqual([]);
    await set('top', /grade: P1/, 'grade: P4');
    await set('tidy', /category: change/, 'category: routine');
    expect(await problemsOf(dir, 'top')).toEqual([]);
  });
});

describe('cycles and depth', () => {
  it('refuses a runbook that composes itself', async () => {
    const dir = await library({ top: ['1.0.0', composing('runbook:top@^1.0.0')] });
    expect(await problemsOf(dir, 'top')).toEqual([
      'top/runbook.yaml:14:13: runbook:top@^1.0.0 closes a cycle (top → top): a runbook cannot run itself, directly or through the runbooks it composes; remove this step, or the one that composes top',
    ]);
  });

  it('refuses a uses b uses a, from either end, at its own composing step', async () => {
    const dir = await library({
      a: ['1.0.0', composing('runbook:b@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      b: ['1.0.0', composing('runbook:a@^1.0.0', '        dir: "{{ params.dir }}"\n')],
    });
    expect(await problemsOf(dir, 'a')).toEqual([
      'a/runbook.yaml:14:13: runbook:b@^1.0.0 (b 1.0.0) cannot be composed: b/runbook.yaml:14:13: runbook:a@^1.0.0 closes a cycle (a → b → a): a runbook cannot run itself, directly or through the runbooks it composes; remove this step, or the one that composes b',
    ]);
    expect((await problemsOf(dir, 'b'))[0]).toContain('closes a cycle (b → a → b)');
  });

  it(`allows ${MAX_COMPOSE_DEPTH} levels of composition and refuses one more`, async () => {
    const chain = (levels: number) => {
      const books: Record<string, [string, string]> = {};
      for (let i = 0; i < levels; i++)
        books[`r${i}`] = ['1.0.0', composing(`runbook:r${i + 1}@^1.0.0`, '        dir: /x\n')];
      books[`r${levels}`] = ['1.0.0', leaf];
      return books;
    };
    const ok = await library(chain(MAX_COMPOSE_DEPTH));
    const r = await loadRunbookFor(path.join(ok, 'r0'), ok);
    expect(r.problems).toEqual([]);
    if (r.ok)
      expect(flattenCompositions(await compositionsOf(r.bundle)).map((c) => c.path)).toEqual([
        'inner',
        'inner/inner',
        'inner/inner/inner',
        'inner/inner/inner/inner',
      ]);
    const deep = await library(chain(MAX_COMPOSE_DEPTH + 1));
    const [problem] = await problemsOf(deep, 'r0');
    expect(problem).toContain(
      'r4/runbook.yaml:14:13: runbook:r5@^1.0.0 would compose 5 levels deep (r0 → r1 → r2 → r3 → r4 → r5), more than 4',
    );
    expect(problem).toMatch(
      /^r0\/runbook\.yaml:14:13: runbook:r1@\^1\.0\.0 \(r1 1\.0\.0\) cannot be composed: /,
    );
  });
});

describe("the composed runbook's params against with:", () => {
  const top = (withLines: string, params?: string) =>
    composing('runbook:tidy@^1.0.0', withLines, params);

  it('refuses an unknown param, a missing required one and a literal outside the rules', async () => {
    const dir = await library({
      top: ['1.0.0', top('        dri: /var/x\n        keep: 0\n')],
      tidy: ['1.2.0', leaf],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:16:9: tidy 1.2.0 has no param 'dri': did you mean 'dir'?",
      "top/runbook.yaml:17:15: the value for tidy's param keep is 0, below the minimum 1",
      'top/runbook.yaml:15:7: tidy\'s param dir is required: give it under with: (dir: a value, or "{{ params.<param of top> }}")',
    ]);
  });

  it('refuses a param of another type, and text where a number is wanted', async () => {
    const dir = await library({
      top: [
        '1.0.0',
        top(
          '        dir: "{{ params.dir }}"\n        keep: "{{ params.dir }}"\n',
          '  params:\n    dir: {type: string}\n',
        ),
      ],
      other: [
        '1.0.0',
        top(
          '        dir: /x\n        keep: "{{ params.days }}d"\n',
          '  params:\n    days: {type: integer, default: 1}\n',
        ),
      ],
      tidy: ['1.2.0', leaf],
    });
    expect(await problemsOf(dir, 'top')).toEqual([
      "top/runbook.yaml:17:15: tidy's param keep is an integer, but top's param dir is a string: declare dir as integer, or map another param",
    ]);
    expect(await problemsOf(dir, 'other')).toEqual([
      'other/runbook.yaml:17:15: tidy\'s param keep is an integer, but text around a template makes a string: map one param alone ("{{ params.<param> }}"), or a literal',
    ]);
  });

  it('keeps secrets secret: from a secret param, whole, to a secret param only', async () => {
    const secretLeaf = `  params:
    token: {type: string, secret: true}
    note: {type: string, default: x}
  steps:
    - id: use
      name: Use
      run: echo {{ params.note }}
`;
    const params =
      '  params:\n    key: {type: string, secret: true}\n    plain: {type: string, default: p}\n';
    const dir = await library({
      literal: ['1.0.0', top('        token: hunter2\n', params)],
      plain: ['1.0.0', top('        token: "{{ params.plain }}"\n', params)],
      leak: [
        '1.0.0',
        top('        token: "{{ params.key }}"\n        note: "{{ params.key }}"\n', params),
      ],
      text: [
        '1.0.0',
        top('        token: "{{ params.key }}"\n        note: "k={{ params.key }}"\n', params),
      ],
      none: ['1.0.0', top('', params)],
      tidy: ['1.0.0', secretLeaf],
    });
    expect(await problemsOf(dir, 'literal')).toEqual([
      'literal/runbook.yaml:17:16: tidy\'s param token is secret: a value written here would be in the runbook, the plan and the approval; map it from a secret param of literal ("{{ params.<secret param> }}")',
    ]);
    expect((await problemsOf(dir, 'plain'))[0]).toContain(
      "tidy's param token is secret, but plain's param plain is not",
    );
    expect(await problemsOf(dir, 'leak')).toEqual([
      "leak/runbook.yaml:18:15: leak's param key is secret, but tidy's param note is not: the secret would be written into the plan and the approval; make tidy's param note secret too, or map a plain param",
    ]);
    expect((await problemsOf(dir, 'text'))[0]).toContain(
      "text's secret param key is inside text here",
    );
    expect(await problemsOf(dir, 'none')).toEqual([
      'none/runbook.yaml:15:13: tidy\'s param token is secret and required: map it from a secret param of none under with: (token: "{{ params.<secret param> }}")',
    ]);
  });
});

describe('planning a composed runbook', () => {
  const inventory = parseInventoryText('hosts.ini', 'web-01 ansible_host=10.0.0.1\n', 'ini');

  async function planOf(
    dir: string,
    params: Record<string, ParamValue>,
    secretParams: string[] = [],
  ) {
    const r = await loadRunbookFor(path.join(dir, 'top'), dir);
    if (!r.ok) throw new Error(r.problems.map(formatProblem).join('\n'));
    return renderPlan({
      bundle: r.bundle,
      digest: await digestRunbook(r.bundle.dir, r.bundle),
      ticket: 'OPS-1',
      params,
      secretParams,
      hosts: inventory.hosts,
      compositions: await compositionsOf(r.bundle),
    });
  }

  it('gives the composed runbook typed values, its defaults, and secrets by the name they come from', async () => {
    const dir = await library({
      top: [
        '1.0.0',
        composing(
          'runbook:tidy@^1.0.0',
          '        dir: "{{ params.root }}/app"\n        keep: "{{ params.days }}"\n        token: "{{ params.key }}"\n',
          '  params:\n    root: {type: string}\n    days: {type: integer}\n    key: {type: string, secret: true}\n',
        ),
      ],
      tidy: [
        '1.2.0',
        `${leaf.replace('  steps:', '    token: {type: string, secret: true}\n    pw: {type: string, secret: true, required: false}\n  steps:')}`,
      ],
    });
    const plan = await planOf(dir, { root: "/var/it's", days: 30 }, ['key']);
    expect(plan.composed).toEqual([
      {
        step: 'inner',
        runbook: { name: 'tidy', version: '1.2.0', digest: expect.stringMatching(/^sha256:/) },
        range: '^1.0.0',
        params: { dir: "/var/it's/app", keep: 30 },
        secrets: { pw: null, token: 'key' },
      },
    ]);
    const host = plan.hosts[0]!;
    expect(host.phases.steps[0]).toMatchObject({ id: 'inner', kind: 'runbook' });
    // Rendered with the composed runbook's own values, quoted as every value is.
    expect(host.composed?.inner?.steps[0]).toMatchObject({
      id: 'inner/tidy',
      command: "ls '/var/it'\\''s/app'",
    });
  });

  it("refuses a value outside the composed runbook's rules, naming the composing step", async () => {
    const dir = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}"\n')],
      tidy: ['1.2.0', leaf],
    });
    // Named by the param the engineer gave, with the composed runbook, its param and its rule.
    await expect(planOf(dir, { dir: 'relative' })).rejects.toThrow(
      `--param dir=relative: step 'inner' passes it to tidy as its param dir, where the value "relative" does not match the pattern ^/: give dir a value tidy accepts`,
    );
    // A value the composing runbook builds (a template, not one param) is its with: to fix.
    const built = await library({
      top: ['1.0.0', composing('runbook:tidy@^1.0.0', '        dir: "{{ params.dir }}/app"\n')],
      tidy: ['1.2.0', leaf],
    });
    await expect(planOf(built, { dir: 'relative' })).rejects.toThrow(
      `step 'inner' gives tidy's param dir a value it refuses: the value "relative/app" does not match the pattern ^/; fix the with: of step 'inner'`,
    );
  });
});
