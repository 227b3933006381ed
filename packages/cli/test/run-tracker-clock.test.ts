import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planApproval } from './approval-craft.js';
import { createWorld, expectOk, type Site, useJiraTracker, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The runner machine's clock is the engineer's to set (`date -s`, faketime): set back, an expired
 * approval looks valid to it; set forward, one not valid yet. Jira dates every answer, and its
 * clock is not theirs: `run` checks the approval's window against it too. The Jira fake's answers
 * are dated ahead of or behind this machine's clock, as if this machine's had been moved the
 * other way; the binary, the host (a real sshd) and the signatures are real.
 */

const DAY = 24 * 3600_000;
let world: World;
const fakes: JiraFake[] = [];

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { marker: markerRunbook() } });
  await mkdir(world.stateDir, { recursive: true });
});
afterAll(async () => {
  await world?.remove();
  for (const fake of fakes) await fake.closeExpectingNone();
});

/**
 * A site whose tracker is a Jira fake whose clock is `offsetMs` from this machine's; with
 * `undated`, its answers carry no `Date` header.
 */
async function siteWithJiraClock(name: string, offsetMs: number, undated = false) {
  const fake = await startJiraFake({
    flavour: 'cloud',
    clockOffsetMs: offsetMs,
    ...(undated ? { datesAnswers: false } : {}),
  });
  fakes.push(fake);
  const site: Site = await world.createSite(name);
  await useJiraTracker(world, site);
  const issue = fake.seed({ summary: name, status: 'approved' });
  const dir = path.join(world.markerDir, name);
  await mkdir(dir, { recursive: true });
  const env = fake.env;
  const file = await planApproval(site, 'marker', `${name}.json`, {
    ticket: issue.key,
    params: { dir },
    target: 'h1',
    env,
  });
  await expectOk(
    site.opsbook(['approve', file, '--key', world.people.alice.keyFile], { env }),
    'approve',
  );
  return { site, file, dir, env };
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
/** Whether the runbook's step ran on h1. */
const ran = (dir: string) => exists(path.join(dir, 'h1.ran'));
/** Whether anything ran on h1: its precheck leaves a marker before the step. */
const touched = async (dir: string) => (await exists(path.join(dir, 'h1.pre'))) || (await ran(dir));

describe("an approval's validity window, by the tracker's clock", () => {
  it("refuses an approval that expired by Jira's clock though this machine's says it is valid (a clock set back), and touches no host", async () => {
    // Valid 24 h (the default) from this machine's now; Jira's clock is 2 days on.
    const { site, file, dir, env } = await siteWithJiraClock('clock-set-back', 2 * DAY);
    const run = await site.opsbook(['run', file], { env });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/EXPIRED/);
    expect(run.stderr).toMatch(/expired at .* by the tracker's clock/);
    expect(run.stderr).toMatch(/this machine's clock right/);
    expect(run.stderr).not.toMatch(stackTrace);
    expect(await touched(dir)).toBe(false);
    // verify checks what run checks, the tracker's clock included.
    const verify = await site.opsbook(['verify', file], { env });
    expect(verify.code).toBe(3);
    expect(verify.stderr).toMatch(/EXPIRED/);
  });

  it("refuses an approval not valid yet by Jira's clock (this machine's set forward)", async () => {
    const { site, file, dir, env } = await siteWithJiraClock('clock-set-forward', -2 * DAY);
    const run = await site.opsbook(['run', file], { env });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/NOT_YET_VALID/);
    expect(run.stderr).toMatch(/not yet by the tracker's clock/);
    expect(await touched(dir)).toBe(false);
  });

  it("refuses, and touches no host, where Jira's answers carry no Date: its clock is unknown, and this machine's is the engineer's", async () => {
    // This machine's clock says the approval is valid; Jira's is not known (a proxy strips Date).
    const { site, file, dir, env } = await siteWithJiraClock('clock-undated', 0, true);
    const run = await site.opsbook(['run', file], { env });
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/TRACKER_CLOCK_UNKNOWN/);
    expect(run.stderr).toMatch(/without a Date header/);
    expect(run.stderr).toMatch(/JIRA_BASE_URL/);
    expect(run.stderr).not.toMatch(stackTrace);
    expect(await touched(dir)).toBe(false);
  });

  it('runs when the clocks agree within minutes', async () => {
    const { site, file, dir, env } = await siteWithJiraClock('clocks-agree', -60_000);
    const run = await site.opsbook(['run', file], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(await ran(dir)).toBe(true);
  });
});
