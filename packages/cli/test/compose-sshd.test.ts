import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvedFile,
  envelopeText,
  readEnvelope,
  type Statement,
  signedEnvelope,
  statementOf,
} from './approval-craft.js';
import {
  createTicket,
  createWorld,
  type RunbookFixture,
  type Site,
  type World,
  writeRunbook,
} from './opsbook-world.js';
import { repoRoot, stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval, stepEndsOf } from './run-outcome.js';
import {
  dirParam,
  header,
  logTidy,
  maintenance,
  maintenanceStepsOk,
  shippedRunbook,
  TIDY_SCRIPT,
} from './runbook-fixtures.js';

/*
 * Issue 20 item 3: a runbook step `uses: runbook:NAME@RANGE` runs another runbook's phases inside
 * the composite's one approval. The attacks first: whatever changes what the composed runbook
 * would run after the senior signed (its files, the version its range resolves to, the composed
 * digests the approval names) is refused before any host is touched. Then a composed run over
 * real sshd, through the binary, with its plan showing the composed steps.
 */

/** A composed runbook with a secret param, and a composite that hands it its own secret. */
const pushToken: RunbookFixture = {
  version: '0.3.0',
  yaml: `${header('push-token', 'change', 'P3')}spec:
  params:
${dirParam}    api_token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: hash
      name: Hash the token, by script
      script: scripts/hash.sh
    - id: echo
      name: A careless command that prints the token
      run: echo token is {{ params.api_token }}
`,
  files: {
    'scripts/hash.sh': `#!/bin/sh
set -eu
printf %s "$OPSBOOK_PARAM_API_TOKEN" | sha256sum | cut -d' ' -f1 > "$OPSBOOK_PARAM_DIR/$OPSBOOK_HOST.token-sha256"
`,
  },
};

const release: RunbookFixture = {
  yaml: `${header('release', 'change', 'P3')}spec:
  params:
${dirParam}    token: {type: string, secret: true, description: The release token}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: push
      name: Push the token
      uses: runbook:push-token@~0.3.0
      with:
        dir: "{{ params.dir }}"
        api_token: "{{ params.token }}"
`,
};

/** The composite shipped in runbooks/ (docs/composition.md's example) and what it composes. */
const SHIPPED = ['disk-full-recovery', 'disk-cleanup', 'service-restart'];

let world: World;
beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: {
      maintenance,
      'log-tidy': logTidy('1.2.0'),
      'push-token': pushToken,
      release,
      ...Object.fromEntries(
        await Promise.all(SHIPPED.map(async (name) => [name, await shippedRunbook(name)])),
      ),
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

let count = 0;
/** A fresh approval of `maintenance` (signed by alice) on h1 and h2, leaving markers in `dir`. */
async function approveMaintenance(dir: string, params: Record<string, string> = {}) {
  await mkdir(dir, { recursive: true });
  count += 1;
  return approvedFile(world, 'maintenance', `compose-${count}.json`, [world.people.alice], {
    params: { dir, ...params },
    target: 'h1:h2',
  });
}

/** `opsbook run FILE` from `site` is refused with `code`, and nothing reached a host. */
async function expectRefused(site: Site, file: string, code: string, dir: string) {
  const logins = world.hosts.map((h) => h.countLogins());
  const r = await site.opsbook(['run', file]);
  expect(r.stderr).toMatch(new RegExp(`^refused \\(${code}\\): `));
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code).toBe(3);
  expect(await readdir(dir)).toEqual([]);
  expect(world.hosts.map((h) => h.countLogins())).toEqual(logins);
  return r;
}

/** The approval's statement with `change` applied, signed again by alice with ssh-keygen. */
async function resigned(file: string, change: (s: Statement) => Statement): Promise<string> {
  const s = change(statementOf(await readEnvelope(file)));
  const out = `${file}.resigned.json`;
  await writeFile(out, envelopeText(await signedEnvelope(world.dir, s, [world.people.alice])));
  return out;
}

type ComposedEntry = { step: string; name: string; version: string; digest: string };

describe('a composed runbook changed after approval is refused', () => {
  it('refuses when a file of the composed runbook changed (COMPOSED_MISMATCH), nothing runs', async () => {
    const dir = path.join(world.markerDir, 'edited');
    const file = await approveMaintenance(dir);
    const site = await world.createSite('edited');
    await writeFile(
      path.join(site.runbooksDir, 'log-tidy/scripts/tidy.sh'),
      `${TIDY_SCRIPT}touch "$OPSBOOK_PARAM_DIR/pwned"\n`,
    );
    const r = await expectRefused(site, file, 'COMPOSED_MISMATCH', dir);
    expect(r.stderr).toContain("step 'tidy'");
    expect(r.stderr).toContain('log-tidy');
  });

  it('refuses when the composed runbook is bumped within the range (another version resolves)', async () => {
    const dir = path.join(world.markerDir, 'bumped');
    const file = await approveMaintenance(dir);
    const site = await world.createSite('bumped');
    await writeRunbook(site.runbooksDir, 'log-tidy', logTidy('1.3.0'));
    const r = await expectRefused(site, file, 'COMPOSED_MISMATCH', dir);
    expect(r.stderr).toContain('1.2.0');
    expect(r.stderr).toContain('1.3.0');
  });

  it('refuses when another folder brings a higher version of the composed runbook into the range', async () => {
    const dir = path.join(world.markerDir, 'newer-folder');
    const file = await approveMaintenance(dir);
    const site = await world.createSite('newer-folder');
    // The original folder is untouched: only which version ^1.2.0 resolves to has changed.
    const next = await writeRunbook(site.runbooksDir, 'log-tidy-next', logTidy('1.4.0'));
    await writeFile(
      path.join(next, 'package.json'),
      `${JSON.stringify({ name: '@runbooks/log-tidy', version: '1.4.0', private: true })}\n`,
    );
    const r = await expectRefused(site, file, 'COMPOSED_MISMATCH', dir);
    expect(r.stderr).toContain('1.4.0');
  });

  it('refuses when the range no longer resolves (PLAN_MISMATCH naming the versions there are)', async () => {
    const dir = path.join(world.markerDir, 'out-of-range');
    const file = await approveMaintenance(dir);
    const site = await world.createSite('out-of-range');
    await writeRunbook(site.runbooksDir, 'log-tidy', logTidy('2.0.0'));
    const r = await expectRefused(site, file, 'PLAN_MISMATCH', dir);
    expect(r.stderr).toContain('^1.2.0');
    expect(r.stderr).toContain('2.0.0');
  });

  it('refuses an approval that names another digest for the composed runbook, though signed', async () => {
    const dir = path.join(world.markerDir, 'other-digest');
    const file = await approveMaintenance(dir);
    const forged = await resigned(file, (s) => ({
      ...s,
      composed: (s.composed as ComposedEntry[]).map((c) => ({
        ...c,
        digest: `sha256:${'0'.repeat(64)}`,
      })),
    }));
    const r = await expectRefused(world, forged, 'COMPOSED_MISMATCH', dir);
    expect(r.stderr).toContain('sha256:000000');
  });

  it('refuses an approval of the composite that does not cover its composed runbooks', async () => {
    const dir = path.join(world.markerDir, 'uncovered');
    const file = await approveMaintenance(dir);
    const forged = await resigned(file, ({ composed: _left, ...s }) => s as Statement);
    const r = await expectRefused(world, forged, 'COMPOSED_MISMATCH', dir);
    expect(r.stderr).toContain('does not cover');
  });
});

describe('a composed runbook over real sshd', () => {
  it('plans the composed steps under the composing step, and binds the composed bundle', async () => {
    const dir = path.join(world.markerDir, 'planned');
    await mkdir(dir);
    const r = await world.opsbook([
      'plan',
      'maintenance',
      '--ticket',
      await createTicket(world),
      '--param',
      `dir=${dir}`,
      '--target',
      'h1',
      '-o',
      path.join(world.dir, 'planned.json'),
      '--force',
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    const digest = await world.opsbook(['digest', 'log-tidy']);
    const tidyDigest = digest.stdout.trim();
    expect(r.stdout).toContain(`composed tidy: log-tidy 1.2.0 (^1.2.0) ${tidyDigest}`);
    // The composing step, then its runbook's phases indented under it, with composed ids.
    expect(r.stdout).toMatch(
      /\n {6}tidy {2}runbook log-tidy@1\.2\.0\n {8}prechecks\n {12}tidy\/pre\n {14}\$ touch /,
    );
    expect(r.stdout).toMatch(/\n {12}tidy\/tidy\n {14}script scripts\/tidy\.sh \(sha256 /);
    expect(r.stdout).toContain(`tidy/label\n              $ printf %s 'note: routine' > `);
    expect(r.stdout).toMatch(/\n {8}rollback\n {12}tidy\/undo\n/);
    expect(r.stdout).toMatch(/\n {6}after\n/);
    // What the senior reviews before signing shows the same, from the file, re-rendered.
    const show = await world.opsbook(['plan', '--show', path.join(world.dir, 'planned.json')]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`composed tidy: log-tidy 1.2.0 (^1.2.0) ${tidyDigest}`);
    expect(show.stdout).toContain('params dir="');
    expect(show.stdout).toMatch(/\n {6}tidy {2}runbook log-tidy@1\.2\.0\n {8}prechecks\n/);
  });

  it('shows and digests the composite with its composed runbook', async () => {
    const show = await world.opsbook(['show', 'maintenance']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('uses: runbook:log-tidy@^1.2.0 → log-tidy 1.2.0');
    expect(show.stdout).toMatch(/\n {8}steps\n {10}tidy — Keep the days, by script\n/);
    const digest = await world.opsbook(['digest', 'maintenance', '--json']);
    const doc = JSON.parse(digest.stdout) as { composed: ComposedEntry[] };
    expect(doc.composed).toEqual([
      {
        step: 'tidy',
        name: 'log-tidy',
        version: '1.2.0',
        range: '^1.2.0',
        digest: (await world.opsbook(['digest', 'log-tidy'])).stdout.trim(),
      },
    ]);
  });

  it('runs the composed phases in place of the step, journaled as step/composed-step; with: values stay quoted', async () => {
    const dir = path.join(world.markerDir, 'ran');
    const pwned = path.join(dir, 'pwned');
    const note = `x' $(touch ${pwned}) \`touch ${pwned}\`; touch ${pwned} #`;
    const file = await approveMaintenance(dir, { days: '30', note });
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    for (const h of ['h1', 'h2']) {
      expect(await readFile(path.join(dir, `${h}.tidy-keep`), 'utf8')).toBe('30\n');
      expect(await readFile(path.join(dir, `${h}.label`), 'utf8')).toBe(`note: ${note}`);
    }
    expect((await readdir(dir)).sort()).toEqual(
      ['h1', 'h2'].flatMap((h) =>
        ['after', 'before', 'label', 'tidy-keep', 'tidy-pre'].map((m) => `${h}.${m}`),
      ),
    );
    const journal = await readJournal(r.doc!.journal.path);
    expect(stepEndsOf(journal, 'h1')).toEqual(maintenanceStepsOk);
    const start = journal.find((e) => e.type === 'run-start');
    expect(start?.composed).toEqual([
      expect.objectContaining({ step: 'tidy', name: 'log-tidy', version: '1.2.0' }),
    ]);
    expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
  });

  it('rolls back the composed runbook where its step failed, then the composite', async () => {
    const dir = path.join(world.markerDir, 'failed');
    const file = await approveMaintenance(dir, { fail: 'true' });
    const r = await runApproval(world, file);
    expect(r.code).toBe(1);
    const h1 = hostOf(r.doc, 'h1');
    expect(h1).toMatchObject({
      status: 'failed',
      failedStep: { phase: 'steps', id: 'tidy/maybe-fail' },
      rolledBack: true,
    });
    const markers = (await readdir(dir)).filter((m) => m.startsWith('h1.')).sort();
    // No postcheck and no 'after' once the tidy failed; both rollbacks ran.
    expect(markers).toEqual([
      'h1.before',
      'h1.label',
      'h1.maintenance-undo',
      'h1.tidy-keep',
      'h1.tidy-pre',
      'h1.tidy-undo',
    ]);
    const journal = await readJournal(r.doc!.journal.path);
    expect(stepEndsOf(journal, 'h1')).toEqual([
      'steps:before:ok',
      'prechecks:tidy/pre:ok',
      'steps:tidy/tidy:ok',
      'steps:tidy/label:ok',
      'steps:tidy/maybe-fail:failed',
      'rollback:tidy/undo:ok',
      'evidence:tidy/list:ok',
      'steps:tidy:failed',
      'rollback:undo-all:ok',
    ]);
  });
});

describe('a composed runbook with a secret param', () => {
  it("gets the composite's secret from the environment, never in the plan, approval or journal", async () => {
    const dir = path.join(world.markerDir, 'secret');
    await mkdir(dir);
    const token = 'tok-3f9a1c77e2';
    const file = await approvedFile(world, 'release', 'release.json', [world.people.alice], {
      params: { dir },
      target: 'h1',
    });
    const approval = await readFile(file, 'utf8');
    const statement = statementOf(await readEnvelope(file));
    expect(statement.secretParams).toEqual(['token']);
    const r = await runApproval(world, file, [], { OPSBOOK_PARAM_TOKEN: token });
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    expect(await readFile(path.join(dir, 'h1.token-sha256'), 'utf8')).toBe(
      `${createHash('sha256').update(token).digest('hex')}\n`,
    );
    const journal = await readFile(r.doc!.journal.path, 'utf8');
    expect(journal).toContain('"step":"push/echo"');
    expect(journal).toContain('token is ***');
    for (const text of [approval, journal, r.stdout, r.stderr]) expect(text).not.toContain(token);
  });
});

describe('composition problems through the binary', () => {
  it('validate names the composing step, the versions there are and the fix', async () => {
    const site = await world.createSite('invalid');
    await writeRunbook(site.runbooksDir, 'maintenance', {
      yaml: maintenance.yaml.replace('runbook:log-tidy@^1.2.0', 'runbook:log-tidy@^3.0.0'),
    });
    const r = await site.opsbook(['validate', 'maintenance']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(
      'runbooks/maintenance/runbook.yaml:22:13: runbook:log-tidy@^3.0.0 matches no version of log-tidy in runbooks (there is 1.2.0): change the range, e.g. to ^1.2.0',
    );
    await rm(path.join(site.runbooksDir, 'log-tidy'), { recursive: true });
    const gone = await site.opsbook(['plan', 'maintenance', '--ticket', 'OPS-1']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain("no runbook 'log-tidy' in runbooks");
  });
});

describe('the shipped composite, disk-full-recovery', () => {
  it('is the example docs/composition.md shows, byte for byte', async () => {
    const doc = await readFile(path.join(repoRoot, 'docs/composition.md'), 'utf8');
    const example = /```yaml\n# runbooks\/disk-full-recovery\/runbook\.yaml\n([\s\S]*?)```/.exec(
      doc,
    );
    expect(example?.[1]).toBe((await shippedRunbook('disk-full-recovery')).yaml);
  });

  it('plans disk-cleanup, then service-restart, as docs/composition.md shows, quoting the with: values', async () => {
    const file = path.join(world.dir, 'disk-full-recovery.json');
    const r = await world.opsbook([
      'plan',
      'disk-full-recovery',
      '--ticket',
      await createTicket(world),
      '--param',
      'unit=app.service',
      '--target',
      'h1',
      '-o',
      file,
    ]);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(0);
    const digestOf = async (name: string) => (await world.opsbook(['digest', name])).stdout.trim();
    expect(r.stdout).toContain(
      `composed cleanup: disk-cleanup 1.0.0 (^1.0.0) ${await digestOf('disk-cleanup')}\n         params path="/var/log/app" days=14 keep_days=30 max_used_percent=85\n`,
    );
    expect(r.stdout).toContain(
      `composed restart: service-restart 1.0.0 (^1.0.0) ${await digestOf('service-restart')}\n`,
    );
    expect(r.stdout).toMatch(
      /\n {6}cleanup {2}runbook disk-cleanup@1\.0\.0\n {8}prechecks\n {12}cleanup\/path-is-folder\n/,
    );
    expect(r.stdout).toMatch(
      /\n {12}cleanup\/compress-old-logs \[sudo\]\n {14}\$ find '\/var\/log\/app' -xdev -type f -name '\*\.log' -mtime \+'14' /,
    );
    expect(r.stdout).toMatch(/\n {6}restart {2}runbook service-restart@1\.0\.0\n/);
    expect(r.stdout).toContain(
      "restart/restart [sudo]\n              $ systemctl restart -- 'app.service'\n",
    );
    const statement = statementOf(await readEnvelope(file));
    expect(statement).toMatchObject({ category: 'incident', grade: 'P2' });
    expect((statement.composed as ComposedEntry[]).map((c) => [c.step, c.name, c.version])).toEqual(
      [
        ['cleanup', 'disk-cleanup', '1.0.0'],
        ['restart', 'service-restart', '1.0.0'],
      ],
    );
  });
});
