import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, stackTrace } from './run-cli.js';

/*
 * A Jira project whose priority scheme is not Jira's default (Critical, Major, Minor): opsbook.yaml's
 * tracker.jira.priorities maps the grades to it; a grade it leaves out still gets its ticket, without
 * a priority, and the output says which priority was refused and which key to set.
 */

const RULES = `apiVersion: opsbook/v1
kind: AlertRules
version: 1
correlate:
  - {name: cluster, by: {labels: [cluster]}}
grading:
  rules:
    - {grade: P1, when: {labels: {cluster: cluster-1}}}
    - {grade: P2, when: {minSeverity: warning}}
`;

const config = (flavour: string, priorities: string) => `apiVersion: opsbook/v1
kind: Config
stateDir: state
tracker:
  kind: jira
  jira:
    project: OPS
    flavour: ${flavour}
    priorities: ${priorities}
`;

describe.each([['cloud'], ['datacenter']] as const)(
  'alerts into %s Jira with its own priority scheme',
  (flavour) => {
    let fake: JiraFake;
    let tmp: Awaited<ReturnType<typeof makeTempDir>>;

    beforeEach(async () => {
      fake = await startJiraFake({ flavour, priorities: ['Critical', 'Major', 'Minor'] });
      tmp = await makeTempDir('opsbook-alerts-priorities-');
      await writeFile(path.join(tmp.dir, 'alerts.yaml'), RULES);
      const bodies = makeAlertBurst({ alerts: 8, hosts: 4, clusters: 2 });
      for (const [i, b] of bodies.entries())
        await writeFile(path.join(tmp.dir, `body-${i}.json`), JSON.stringify(b));
    });

    afterEach(async () => {
      await tmp.remove();
      await fake.closeExpectingNone();
    });

    const opsbook = (args: string[]) =>
      runCli(args, { cwd: tmp.dir, env: { HOME: tmp.dir, ...fake.env } });
    const ingest = () =>
      opsbook(['alerts', 'ingest', ...[0, 1, 2, 3].map((i) => `body-${i}.json`)]);

    it('sets the priorities tracker.jira.priorities names, and opens a ticket without one for a grade it leaves out, saying which key to set', async () => {
      await writeFile(
        path.join(tmp.dir, 'opsbook.yaml'),
        config(flavour, '{P1: {id: 1}, P3: Minor}'),
      );
      const r = await ingest();
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('tickets: OPS-1 for INC-1, OPS-2 for INC-2');
      expect(fake.issues()).toHaveLength(2);
      const [p1, p2] = [fake.issue('OPS-1')!, fake.issue('OPS-2')!];
      expect(p1.summary).toMatch(/^\[P1\] /);
      expect(p1.priority).toBe('Critical');
      expect(p2.summary).toMatch(/^\[P2\] /);
      expect(p2.priority).toBeUndefined();
      expect(r.stdout).toContain(
        `warning: OPS-2 (INC-2) was created without a priority; its summary and description say P2: Jira at ${fake.baseUrl}/rest/api/${flavour === 'cloud' ? 3 : 2}/issue refused the priority "High" for P2 when trying to create a ticket in project OPS (400)`,
      );
      expect(r.stdout).toContain('set tracker.jira.priorities.P2 in opsbook.yaml');
      const show = await opsbook(['alerts', 'show', 'INC-2']);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toContain('priority for P2 refused by the tracker: Jira at');
      // Ingesting the same bodies again opens nothing and sends nothing.
      const writes = fake.requests().filter((q) => q.method !== 'get').length;
      expect((await ingest()).code).toBe(0);
      expect(fake.requests().filter((q) => q.method !== 'get')).toHaveLength(writes);
    });

    it('refuses an unknown grade or priority key with its place in opsbook.yaml, exit 2', async () => {
      await writeFile(
        path.join(tmp.dir, 'opsbook.yaml'),
        config(flavour, '{P1: {name: Critical}, P5: Minor}'),
      );
      const r = await opsbook(['alerts', 'list']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "opsbook.yaml:9:40: unknown key 'P5' in tracker.jira.priorities: did you mean 'P1'?",
      );
      expect(r.stderr).toContain(
        "opsbook.yaml:9:23: unknown key 'name' in tracker.jira.priorities.P1: allowed keys: id",
      );
      expect(fake.requests()).toEqual([]);
    });
  },
);
