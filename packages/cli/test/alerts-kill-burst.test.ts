import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  clusterAlertRules,
  makeAlertBurst,
  type PostOutcome,
  postWebhooks,
} from '@opsbook/testkit/alert-burst';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe } from './alerts-server.js';
import { runCli } from './run-cli.js';

/*
 * A burst of 2,000 alerts over 200 hosts in 4 clusters (one Alertmanager post of ten alerts per
 * host) into the real `opsbook alerts serve`, SIGKILLed mid-burst and started again on the same
 * state and address; then what Alertmanager does: every post not answered 200 is sent again
 * until it is, and some that were answered are sent again too (a 200 lost on the way, a repeat).
 */

const ALERTS = 2000;
const isOk = (o: PostOutcome | undefined) => o !== undefined && 'status' in o && o.status === 200;
const keyOf = (a: { fingerprint: string; startsAt: string; status: string }) =>
  `${a.fingerprint}|${a.startsAt}|${a.status}`;

/** Every JSON line of the intake files (a line a killed writer tore would not parse). */
async function intakeKeys(stateDir: string): Promise<string[]> {
  const dir = path.join(stateDir, 'alerts', 'intake');
  const keys: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort())
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n'))
      if (line !== '') keys.push(keyOf(JSON.parse(line)));
  return keys;
}

/** Each alert of the burst in the intake exactly once. */
async function expectStoredOnce(stateDir: string, expected: Set<string>): Promise<void> {
  const keys = await intakeKeys(stateDir);
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  expect(
    [...counts].filter(([, n]) => n > 1),
    'alerts stored more than once',
  ).toEqual([]);
  expect(new Set(counts.keys())).toEqual(expected);
  expect(keys).toHaveLength(ALERTS);
}

describe('opsbook alerts serve killed mid-burst', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(dir: string, listen: string, env: NodeJS.ProcessEnv) {
    const serve = await startServe(['--listen', listen], { cwd: dir, env });
    cleanups.push(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null)
        await serve.stop('SIGKILL');
    });
    return serve;
  }

  /**
   * Posts the burst, SIGKILLs the receiver once `killAfter` posts were answered 200, starts it
   * again on the same address, and re-sends as Alertmanager would until every post got its 200.
   */
  async function burstKillResend(
    dir: string,
    bodies: string[],
    options: { killAfter: number; env?: NodeJS.ProcessEnv; beforeKill?: () => Promise<void> },
  ) {
    const env = options.env ?? {};
    const first = await start(dir, '127.0.0.1:0', env);
    const head = bodies.slice(0, options.killAfter / 2);
    const headOutcomes = await postWebhooks(first.url, head, { concurrency: 8 });
    await options.beforeKill?.();
    let answered = headOutcomes.filter(isOk).length;
    let killed: Promise<number | null> | undefined;
    const tail = await postWebhooks(first.url, bodies.slice(head.length), {
      concurrency: 8,
      onOutcome: (_, outcome) => {
        if (isOk(outcome) && ++answered === options.killAfter) killed = first.stop('SIGKILL');
      },
    });
    expect(await killed).toBeNull();
    expect(first.child.signalCode).toBe('SIGKILL');
    const burst = [...headOutcomes, ...tail];
    const answeredFirst = burst.flatMap((o, i) => (isOk(o) ? [i] : []));
    const unanswered = burst.flatMap((o, i) => (isOk(o) ? [] : [i]));
    // The kill fell mid-burst: some posts answered, the rest refused or cut off.
    expect(answeredFirst.length).toBeGreaterThanOrEqual(options.killAfter);
    expect(unanswered.length).toBeGreaterThan(0);
    for (const i of unanswered) expect(burst[i]).toHaveProperty('error');
    const acceptedFirst = answeredFirst.reduce(
      (n, i) => n + JSON.parse((burst[i] as { body: string }).body).accepted,
      0,
    );

    // Alertmanager posts to one URL: the receiver comes back on the same address.
    const second = await start(dir, new URL(first.url).host, env);
    const resentAnswered = answeredFirst.filter((_, k) => k % 5 === 0);
    let pending = [...unanswered, ...resentAnswered];
    const answers = new Map<number, { accepted: number; duplicates: number }>();
    for (let round = 0; pending.length > 0; round++) {
      expect(round, `posts still not answered 200: ${pending.length}`).toBeLessThan(5);
      const outcomes = await postWebhooks(
        second.url,
        pending.map((i) => bodies[i]!),
        { concurrency: 8 },
      );
      outcomes.forEach((o, k) => {
        if (isOk(o)) answers.set(pending[k]!, JSON.parse((o as { body: string }).body));
      });
      pending = pending.filter((_, k) => !isOk(outcomes[k]));
    }
    // A post answered before the kill, sent again, is all duplicates.
    for (const i of resentAnswered) expect(answers.get(i)).toEqual({ accepted: 0, duplicates: 10 });
    const acceptedAfter = [...answers.values()].reduce((n, a) => n + a.accepted, 0);
    // Alerts of the cut-off posts that the killed receiver had written count as duplicates now.
    expect(acceptedFirst + acceptedAfter).toBeLessThanOrEqual(ALERTS);
    return second;
  }

  const burst = () => {
    const payloads = makeAlertBurst({ alerts: ALERTS, hosts: 200 });
    const keys = new Set(payloads.flatMap((p) => p.alerts.map(keyOf)));
    expect(keys.size).toBe(ALERTS);
    return { bodies: payloads.map((p) => JSON.stringify(p)), keys };
  };

  it('loses no alert and stores none twice (no alerts.yaml: the intake alone)', async () => {
    const temp = await makeTempDir('opsbook-alerts-kill-');
    cleanups.push(temp.remove);
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: local}\n',
    );
    const { bodies, keys } = burst();
    const second = await burstKillResend(temp.dir, bodies, { killAfter: 60 });
    expect(await second.stop('SIGTERM')).toBe(0);
    await expectStoredOnce(path.join(temp.dir, 'state'), keys);
  });

  describe('with alerts.yaml, into Jira Data Center (the spec-validating fake)', () => {
    let jira: JiraFake;
    afterEach(async () => {
      await jira.closeExpectingNone();
    });

    it('converges the 2,000 alerts into one ticket per cluster, each alert on its ticket once, no ticket or comment doubled', async () => {
      const temp = await makeTempDir('opsbook-alerts-kill-jira-');
      cleanups.push(temp.remove);
      jira = await startJiraFake({ flavour: 'datacenter', basePath: '/jira' });
      await writeFile(
        path.join(temp.dir, 'opsbook.yaml'),
        'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntracker: {kind: jira, jira: {project: OPS, flavour: datacenter}}\n',
      );
      await writeFile(
        path.join(temp.dir, 'alerts.yaml'),
        clusterAlertRules({ owners: jira.users.map((u) => u.name), p1MinHosts: 10 }),
      );
      const { bodies, keys } = burst();
      // The kill comes once tickets exist and more alerts are on their way to them as comments.
      const second = await burstKillResend(temp.dir, bodies, {
        killAfter: 100,
        env: jira.env,
        beforeKill: async () => {
          for (let i = 0; i < 600 && jira.issues().length === 0; i++)
            await new Promise((r) => setTimeout(r, 100));
        },
      });

      type Listed = { id: string; alerts: number; firing: number; ticket: string | null };
      const show = async (id: string) => {
        const r = await runCli(['alerts', 'show', id, '--json'], { cwd: temp.dir, env: jira.env });
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout).incident as {
          id: string;
          keys: string[];
          grade: { grade: string };
          ticket: { key?: string };
          comments: Array<{ n: number; commentId?: string }>;
        };
      };
      // The restarted receiver converges and dispatches what is left: wait until it is all out.
      // Bounded below the test's timeout, so that a stuck dispatch says where it stands.
      let listed: Listed[] = [];
      let done = false;
      for (const until = Date.now() + 90_000; !done && Date.now() < until; ) {
        const r = await runCli(['alerts', 'list', '--json'], { cwd: temp.dir, env: jira.env });
        listed = r.code === 0 ? JSON.parse(r.stdout).incidents : [];
        const full = listed.length === 4 && listed.every((l) => l.alerts === 500 && l.ticket);
        if (full) {
          const all = await Promise.all(listed.map((l) => show(l.id)));
          done = all.every((inc) => inc.comments.every((c) => c.commentId !== undefined));
        }
        if (!done) await new Promise((r) => setTimeout(r, 200));
      }
      expect(
        done,
        `not all dispatched after 90 s: ${JSON.stringify(listed)}\n` +
          `receiver stdout (tail): ${second.stdout().slice(-2000)}\n` +
          `receiver stderr (tail): ${second.stderr().slice(-2000)}`,
      ).toBe(true);
      expect(await second.stop('SIGTERM')).toBe(0);
      await expectStoredOnce(path.join(temp.dir, 'state'), keys);

      expect(listed.map((l) => [l.alerts, l.firing])).toEqual([
        [500, 500],
        [500, 500],
        [500, 500],
        [500, 500],
      ]);
      const issues = jira.issues();
      expect(issues).toHaveLength(4);
      expect(new Set(listed.map((l) => l.ticket))).toEqual(new Set(issues.map((i) => i.key)));
      const plain = (v: unknown) => JSON.stringify(v).replaceAll('\\\\', '');
      for (const l of listed) {
        const incident = await show(l.id);
        expect(incident.grade.grade).toBe('P1');
        const issue = jira.issue(incident.ticket.key!)!;
        expect(issue.summary).toContain(`(${incident.keys[0]})`);
        // Each comment of the incident posted exactly once, and nothing else on the ticket.
        expect(issue.comments.map((c) => c.id).sort()).toEqual(
          incident.comments.map((c) => c.commentId).sort(),
        );
        // Every alert on the ticket once: the description's count plus each comment's new ones.
        const opened = /: (\d+) alerts? on \d+ hosts?/.exec(plain(issue.description));
        expect(opened, plain(issue.description).slice(0, 300)).not.toBeNull();
        const added = issue.comments.map((c) => {
          const m = /(\d+) new alerts?/.exec(plain(c.body));
          return m ? Number(m[1]) : 0;
        });
        expect(Number(opened![1]) + added.reduce((a, b) => a + b, 0)).toBe(500);
        const last = plain(issue.comments.at(-1)?.body ?? issue.description);
        expect(last).toMatch(/500 alerts( firing of 500)?/);
      }
    });
  });
});
