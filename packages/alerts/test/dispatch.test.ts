import { parseInventoryText } from '@opsbook/inventory';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import {
  createJiraTracker,
  docText,
  type JiraSettings,
  LocalTracker,
  type Tracker,
} from '@opsbook/tracker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rulesOf } from '../src/__fixtures__/rules.js';
import { type FixtureAlert, webhookPayload } from '../src/__fixtures__/webhook.js';
import {
  AlertIntake,
  type AlertPipeline,
  AlertProcessor,
  type AlertStore,
  decideUncertain,
  filesAlertStore,
  type ProcessorEvent,
  parseWebhookBody,
  processAlerts,
  regradeIncident,
  topologyOf,
} from '../src/index.js';

/** alerts.yaml of these tests: one incident per cluster, DiskFull suggests disk-cleanup. */
function rulesYaml(owners: string[]): string {
  return `apiVersion: opsbook/v1
kind: AlertRules
version: 4
correlate:
  - {name: cluster, by: {labels: [cluster]}}
grading:
  rules:
    - {grade: P1, when: {minSeverity: critical, minHosts: 2}}
    - {grade: P3, when: {minSeverity: warning}}
runbooks:
  - {match: {alertname: DiskFull}, runbook: disk-cleanup}
ownership:
  default: {roundRobin: [${owners.join(', ')}]}
`;
}

/** A field's text whatever the flavour: Data Center's wiki markup escapes '-' and friends. */
const plain = (value: unknown) => JSON.stringify(value).replaceAll('\\\\', '');

async function deliver(store: AlertStore, bodies: object[], at: string): Promise<void> {
  const intake = new AlertIntake(store);
  for (const body of bodies)
    await intake.accept(parseWebhookBody(JSON.stringify(body), new Date(at), 'test'));
}

/** Moves a ticket through the workflow to Done, as `ticket accept` ends it. */
async function finishTicket(tracker: Tracker, key: string): Promise<void> {
  for (const status of ['Awaiting Approval', 'Approved', 'In Progress', 'In Review', 'Done'])
    await tracker.transition(key, status);
}

const burst = (alerts: number, hosts: number) =>
  makeAlertBurst({ alerts, hosts, clusters: 2, startsAt: new Date('2024-05-01T10:00:00Z') });

/** An inventory that knows the hosts of `burst(…, hosts)`: host-001 … */
const burstTopology = (hosts: number) =>
  topologyOf(
    parseInventoryText(
      'inventory/hosts.yaml',
      `all:\n  hosts:\n${Array.from({ length: hosts }, (_, h) => `    host-${String(h + 1).padStart(3, '0')}: {}\n`).join('')}`,
      'yaml',
    ),
    'services',
  );

describe.each([
  { flavour: 'cloud' as const, basePath: '/ex/jira/cloud-1234' },
  { flavour: 'datacenter' as const, basePath: '/jira' },
])('dispatch into Jira $flavour (the spec-validating fake)', ({ flavour, basePath }) => {
  let fake: JiraFake;
  let jira: Tracker;
  let temp: { dir: string; remove: () => Promise<void> };
  let store: AlertStore;
  let pipeline: AlertPipeline;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour, basePath });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      effects: { sleep: async () => undefined },
      timeoutMs: 2000,
    });
    temp = await makeTempDir('opsbook-dispatch-');
    store = filesAlertStore(temp.dir);
    const owners = fake.users.map((u) => (flavour === 'cloud' ? u.accountId : u.name));
    pipeline = {
      store,
      rules: await rulesOf(rulesYaml(owners)),
      topology: topologyOf(undefined, 'services'),
      tracker: jira,
      now: () => new Date('2024-05-01T10:01:00Z'),
    };
  });

  /** Jira applies the next `times` matching writes, but their answers are lost (reset). */
  const loseAnswers = (method: string, path: string, times = 1) =>
    fake.inject({ fault: { kind: 'reset' }, method, path, afterHandling: true, times });

  afterEach(async () => {
    await store.close();
    await temp.remove();
    await fake.closeExpectingNone();
  });

  it('opens one graded, assigned ticket per incident with the alerts as a table, sources, hosts and runbooks', async () => {
    await deliver(store, burst(20, 4), '2024-05-01T10:00:05Z');
    const { converged, dispatched } = await processAlerts(pipeline);
    expect(converged.opened).toEqual(['INC-1', 'INC-2']);
    expect(dispatched).toMatchObject({
      created: [{ key: 'OPS-1' }, { key: 'OPS-2' }],
      waiting: [],
    });
    const issue = fake.issue('OPS-1')!;
    expect(issue.summary).toMatch(
      /^\[P1\] DiskFull, HighLoad, MemoryPressure \+2 on 2 hosts \(cluster=cluster-1\) — INC-1$/,
    );
    expect(issue.priority).toBe('Highest');
    expect(issue.labels).toEqual(['opsbook', 'alerts', 'inc-1']);
    expect(issue.assignee?.displayName).toBe(fake.users[0]!.displayName);
    expect(fake.issue('OPS-2')!.assignee?.displayName).toBe(fake.users[1]!.displayName);
    const text = plain(issue.description);
    expect(text).toContain(
      'P1 by grading rule 1: severity critical (at least critical), 2 hosts (at least 2)',
    );
    expect(text).toContain('host-001');
    expect(text).toContain('http://127.0.0.1:9090/graph?g0.expr=DiskFull');
    expect(text).toContain('disk-cleanup');
    expect(issue.status).toBe('open');
    // Nothing new: a second pass writes nothing.
    const before = fake.requests().length;
    expect(await processAlerts(pipeline)).toMatchObject({
      dispatched: { created: [], comments: 0 },
    });
    expect(fake.requests().filter((r) => r.method !== 'GET').length).toBe(
      fake
        .requests()
        .slice(0, before)
        .filter((r) => r.method !== 'GET').length,
    );
  });

  it("names the ticket's own key in the command that proposes a suggested runbook, posted once the key is known, never a placeholder", async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    // The tracker goes away once the ticket is made: the command waits in the store, not lost.
    fake.inject({ fault: { kind: 'reset' }, method: 'post', path: '/comment', times: 20 });
    // The inventory knows the alerts' host: it is named as the --target.
    pipeline = { ...pipeline, topology: burstTopology(1) };
    const first = await processAlerts(pipeline);
    expect(first.dispatched).toMatchObject({ created: [{ key: 'OPS-1' }], waiting: ['INC-1'] });
    expect(fake.issue('OPS-1')!.comments).toHaveLength(0);
    fake.clearFaults();
    await processAlerts(pipeline);
    const issue = fake.issue('OPS-1')!;
    const everything = plain([issue.description, issue.comments]);
    expect(everything).not.toContain('THIS-TICKET');
    expect(plain(issue.description)).toContain('disk-cleanup');
    expect(issue.comments).toHaveLength(1);
    expect(plain(issue.comments[0])).toMatch(
      /opsbook ticket propose OPS-1 --runbook disk-cleanup --target host-\d+ …/,
    );
    // Sent once: a further pass adds nothing.
    await processAlerts(pipeline);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1);
  });

  it("keeps a sender's label and link harmless: a line break never reaches the summary, a javascript: source is no link", async () => {
    const alert: FixtureAlert = {
      labels: {
        alertname: 'DiskFull\r\nfake: line',
        severity: 'warning',
        cluster: 'c9',
        host: 'h9',
      },
      generatorURL: 'javascript:alert(document.cookie)',
    };
    await deliver(store, [webhookPayload([alert])], '2024-05-01T10:00:05Z');
    const created = (await processAlerts(pipeline)).dispatched?.created ?? [];
    expect(created).toHaveLength(1);
    const issue = fake.issue(created[0]!.key)!;
    expect(issue.summary).toMatch(/^\[P3\] DiskFull fake: line on h9/);
    expect(issue.summary).not.toMatch(/[\r\n]/);
    const description = JSON.stringify(issue.description);
    expect(description).toContain('javascript:alert(document.cookie)');
    expect(description).not.toMatch(/"href":"javascript:|\|javascript:/);
  });

  it('adds the new alerts of an open incident as one comment per batch, and resolutions never close the ticket', async () => {
    await deliver(store, burst(4, 2), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    const more: FixtureAlert[] = ['host-009', 'host-011', 'host-013'].map((host) => ({
      labels: { alertname: 'NodeDown', cluster: 'cluster-1', host, severity: 'critical' },
      startsAt: '2024-05-01T10:02:00Z',
    }));
    await deliver(store, [webhookPayload(more)], '2024-05-01T10:02:05Z');
    const { dispatched } = await processAlerts(pipeline);
    expect(dispatched).toMatchObject({ created: [], comments: 1 });
    // The first comment proposes the suggested runbook (with the ticket's key); then the batch.
    const comments = fake.issue('OPS-1')!.comments;
    expect(comments).toHaveLength(2);
    expect(plain(comments[0])).toContain('opsbook ticket propose OPS-1 --runbook disk-cleanup');
    for (const host of ['host-009', 'host-011', 'host-013'])
      expect(plain(comments[1])).toContain(host);

    const [first] = burst(4, 2);
    const resolved = {
      ...first,
      status: 'resolved',
      alerts: (first as { alerts: object[] }).alerts.map((a) => ({
        ...a,
        status: 'resolved',
        endsAt: '2024-05-01T10:05:00Z',
      })),
    };
    await deliver(store, [resolved], '2024-05-01T10:05:05Z');
    await processAlerts(pipeline);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(3);
    expect(plain(fake.issue('OPS-1')!.comments[2])).toContain('2 resolved');
    expect(fake.issue('OPS-1')!.status).toBe('open');
  });

  it('opens a new incident and ticket for an alert that comes after the ticket is Done, and posts nothing on the Done ticket', async () => {
    await deliver(store, burst(20, 4), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    await finishTicket(jira, 'OPS-1');
    const before = fake.issue('OPS-1')!.comments.length;
    const late = {
      alertname: 'HighLoad',
      severity: 'critical',
      cluster: 'cluster-1',
      host: 'host-009',
    };
    await deliver(store, [webhookPayload([{ labels: late }])], '2024-05-01T10:00:40Z');
    const pass = await processAlerts(pipeline);
    expect(pass.dispatched).toMatchObject({
      closed: [{ incident: 'INC-1', key: 'OPS-1', status: 'Done', opened: ['INC-3'] }],
      created: [{ incident: 'INC-3', key: 'OPS-3' }],
      comments: 0,
      waiting: [],
    });
    expect(fake.issue('OPS-1')!.comments).toHaveLength(before);
    expect(plain(fake.issue('OPS-3')!.description)).toContain('Follows INC-1 (ticket OPS-1, Done)');
    expect(await store.incident('INC-1')).toMatchObject({
      open: false,
      ticket: { key: 'OPS-1', closed: { status: 'Done' } },
    });
    expect(await store.incident('INC-3')).toMatchObject({
      open: true,
      follows: { incident: 'INC-1', ticket: 'OPS-1', status: 'Done' },
      alerts: [{ labels: late, status: 'firing' }],
    });
    expect((await store.incident('INC-1'))!.alerts.map((a) => a.labels.host)).not.toContain(
      'host-009',
    );
    // The next alert of the group joins the new incident: one comment on OPS-3, none on OPS-1.
    await deliver(
      store,
      [webhookPayload([{ labels: { ...late, host: 'host-011' } }])],
      '2024-05-01T10:00:50Z',
    );
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({ closed: [], comments: 1 });
    expect(fake.issue('OPS-3')!.comments).toHaveLength(1);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(before);
  });

  it('opens the new ticket once when the answer to its create is lost after the Done ticket closed its incident', async () => {
    await deliver(store, burst(20, 4), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    await finishTicket(jira, 'OPS-1');
    await deliver(
      store,
      [webhookPayload([{ labels: { alertname: 'X', cluster: 'cluster-1', host: 'host-009' } }])],
      '2024-05-01T10:00:40Z',
    );
    loseAnswers('POST', '/issue');
    const lost = await processAlerts(pipeline);
    expect(lost.dispatched?.closed).toMatchObject([{ incident: 'INC-1', opened: ['INC-3'] }]);
    expect(lost.dispatched?.waiting).toEqual(['INC-3']);
    const found = await processAlerts(pipeline);
    expect(found.dispatched).toMatchObject({
      closed: [],
      created: [{ incident: 'INC-3', key: 'OPS-3' }],
    });
    expect(fake.issue('OPS-4')).toBeUndefined();
  });

  it('never doubles a ticket or a comment when Jira applied the write but the answer was lost', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    loseAnswers('post', '/issue');
    const lost = await processAlerts(pipeline);
    expect(lost.dispatched).toMatchObject({ created: [], waiting: ['INC-1'] });
    expect(lost.dispatched?.unreachable).toBeDefined();
    expect(fake.issues()).toHaveLength(1);
    const found = await processAlerts(pipeline);
    expect(found.dispatched).toMatchObject({ created: [{ incident: 'INC-1', key: 'OPS-1' }] });
    expect(fake.issues()).toHaveLength(1);
    // The ticket found made gets the command naming its key, as one made in this pass would.
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1);

    await deliver(
      store,
      [webhookPayload([{ labels: { alertname: 'X', cluster: 'cluster-1', host: 'host-003' } }])],
      '2024-05-01T10:03:00Z',
    );
    loseAnswers('post', '/comment');
    expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual(['INC-1']);
    expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual([]);
    expect(fake.issue('OPS-1')!.comments).toHaveLength(2);
  });

  it('posts a batch whose first send did not reach a ticket past 5,000 comments, once, where the comments read go back to when it was queued', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    const issue = fake.issue('OPS-1')!;
    // A month of comments before the batch below is queued: more than the 5,000 opsbook reads.
    fake.seedComments('OPS-1', 5150, { from: new Date('2024-04-01T00:00:00Z'), firstId: 40000 });
    await deliver(
      store,
      [webhookPayload([{ labels: { alertname: 'X', cluster: 'cluster-1', host: 'host-003' } }])],
      '2024-05-01T10:03:00Z',
    );
    fake.inject({ fault: { kind: 'reset' }, method: 'post', path: '/comment' });
    expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual(['INC-1']);
    expect(issue.comments).toHaveLength(5151);
    expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual([]);
    expect(issue.comments).toHaveLength(5152);
  });

  describe('a batch the delivery check cannot tell sent or not (TRACKER_DELIVERY_UNCERTAIN)', () => {
    /**
     * OPS-1 with a batch whose send was cut (`applied`: Jira took it, the answer was lost), then
     * 5,150 comments more: the send may be among the older ones opsbook does not read.
     */
    const uncertainBatch = async (applied: boolean) => {
      await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
      await processAlerts(pipeline);
      await deliver(
        store,
        [webhookPayload([{ labels: { alertname: 'X', cluster: 'cluster-1', host: 'host-003' } }])],
        '2024-05-01T10:03:00Z',
      );
      fake.inject({
        fault: { kind: 'reset' },
        method: 'post',
        path: '/comment',
        afterHandling: applied,
      });
      expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual(['INC-1']);
      fake.seedComments('OPS-1', 5150, { from: new Date('2024-05-01T11:00:00Z'), firstId: 40000 });
      const issue = fake.issue('OPS-1')!;
      const before = issue.comments.length;
      // Every later pass is refused the same way: the person must look on the ticket. Only the
      // first reads the ticket's comments: more comments never make an older one readable, so
      // the later passes do not page through 5,000 comments again to say the same.
      const commentReads = () =>
        fake.requests().filter((r) => r.method === 'get' && r.path.endsWith('/comment')).length;
      for (let pass = 0; pass < 2; pass++) {
        const reads = commentReads();
        const { dispatched } = await processAlerts(pipeline);
        if (pass === 0) expect(commentReads()).toBeGreaterThan(reads);
        else expect(commentReads()).toBe(reads);
        expect(dispatched?.refused).toMatchObject([
          { incident: 'INC-1', code: 'TRACKER_DELIVERY_UNCERTAIN' },
        ]);
        // It says what to run for an alert incident, not the outbox's commands.
        const message = dispatched?.refused[0]?.message ?? '';
        expect(message).toContain('opsbook alerts dispatch --resend-uncertain INC-1');
        expect(message).toContain('opsbook alerts dispatch --uncertain-posted INC-1');
        expect(message).not.toContain('outbox');
      }
      expect(issue.comments).toHaveLength(before);
      return issue;
    };

    it('posts it once, without looking again, when the person who looked says --resend-uncertain', async () => {
      const issue = await uncertainBatch(false);
      const before = issue.comments.length;
      expect(await decideUncertain(store, 'OPS-1', 'absent')).toEqual({
        incident: 'INC-1',
        ticket: 'OPS-1',
        comments: 1,
      });
      const resent = await processAlerts(pipeline);
      expect(resent.dispatched).toMatchObject({ refused: [], waiting: [], comments: 1 });
      expect(issue.comments).toHaveLength(before + 1);
      expect(plain(issue.comments.at(-1)?.body)).toContain('host-003');
      // Posted: the next pass sends nothing more.
      expect((await processAlerts(pipeline)).dispatched).toMatchObject({
        refused: [],
        comments: 0,
      });
      expect(issue.comments).toHaveLength(before + 1);
    });

    it('records it posted, sending nothing, when the person found it there (--uncertain-posted)', async () => {
      const issue = await uncertainBatch(true);
      const before = issue.comments.length;
      await decideUncertain(store, 'INC-1', 'posted');
      const marked = await processAlerts(pipeline);
      expect(marked.dispatched).toMatchObject({ refused: [], waiting: [], comments: 0 });
      expect((await processAlerts(pipeline)).dispatched).toMatchObject({
        refused: [],
        comments: 0,
      });
      expect(issue.comments).toHaveLength(before);
      expect(
        (await store.incident('INC-1'))?.comments.every((c) => c.commentId !== undefined),
      ).toBe(true);
    });

    it('refuses a decision for an incident with no such comment, and for an unknown one', async () => {
      await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
      await processAlerts(pipeline);
      await expect(decideUncertain(store, 'INC-1', 'absent')).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringContaining(
          'INC-1 (OPS-1) has no comment that opsbook could not tell',
        ),
      });
      await expect(decideUncertain(store, 'INC-9', 'posted')).rejects.toMatchObject({
        code: 'INCIDENT_UNKNOWN',
      });
    });
  });

  it('keeps the writes while Jira is down and sends them when it is back', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await fake.down();
    const down = await processAlerts(pipeline);
    expect(down.dispatched).toMatchObject({ created: [], waiting: ['INC-1'] });
    await fake.up();
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({
      created: [{ key: 'OPS-1' }],
      waiting: [],
    });
  });

  it('sends nothing of an incident whose re-grade its checker cannot prove (written into the store by someone else)', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    const forged = {
      grade: 'P4' as const,
      reason: 'ignore until Monday',
      at: '2024-05-01T10:10:00Z',
      by: { id: 'sam', name: 'Sam Senior', fingerprint: 'SHA256:abc' },
      proof: { keyid: 'SHA256:abc', sshsig: 'FORGED' },
    };
    await regradeIncident(store, 'OPS-1', forged);
    const checked: unknown[] = [];
    const guarded = {
      ...pipeline,
      isProven: (d: unknown) => {
        checked.push(d);
        return false;
      },
    };
    const sent = fake.requests().filter((r) => r.method !== 'get').length;
    const pass = await processAlerts(guarded);
    expect(checked).toEqual([forged]);
    expect(pass.dispatched).toMatchObject({
      priorities: 0,
      comments: 0,
      waiting: ['INC-1'],
      refused: [{ incident: 'INC-1', code: 'REGRADE_UNPROVEN' }],
    });
    expect(pass.dispatched?.refused[0]?.message).toContain('said to be by sam');
    expect(fake.issue('OPS-1')!.priority).toBe('Medium');
    // Only the first pass's comment (the command proposing disk-cleanup), nothing since.
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1);
    expect(fake.requests().filter((r) => r.method !== 'get')).toHaveLength(sent);
  });

  it("records a senior's re-grade on the incident and as one comment on the ticket", async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    const by = { id: 'sam', name: 'Sam Senior', fingerprint: 'SHA256:abc' };
    const { from } = await regradeIncident(store, 'OPS-1', {
      grade: 'P2',
      reason: 'one host, redundant',
      at: '2024-05-01T10:10:00Z',
      by,
    });
    expect(from).toBe('P3');
    expect(fake.issue('OPS-1')!.priority).toBe('Medium');
    const sent = fake.requests().length;
    const pass = await processAlerts(pipeline);
    expect(pass.dispatched).toMatchObject({ priorities: 1, comments: 1, waiting: [] });
    expect(fake.issue('OPS-1')!.priority).toBe('High');
    // The priority first, then the comment that says so.
    expect(
      fake
        .requests()
        .slice(sent)
        .filter((r) => r.method !== 'get')
        .map((r) => `${r.method} ${r.path.slice(basePath.length).replace(/^\/rest\/api\/\d/, '')}`),
    ).toEqual(['put /issue/OPS-1', 'post /issue/OPS-1/comment']);
    expect((await store.incident('INC-1'))?.ticket).toMatchObject({ priority: 'P2' });
    const comments = fake.issue('OPS-1')!.comments;
    expect(comments).toHaveLength(2);
    expect(plain(comments[1])).toContain('Re-graded P3 → P2');
    expect(JSON.stringify(comments[1])).toContain('Sam Senior (sam, key SHA256:abc)');
    const incident = await store.incident('INC-1');
    expect(incident?.grade).toMatchObject({ grade: 'P2', by });
    expect(incident?.regrades).toHaveLength(1);
    // More alerts later: the rules do not override the senior's grade, and no grade comment repeats.
    await deliver(
      store,
      [
        webhookPayload([
          { labels: { alertname: 'Y', cluster: 'cluster-1', host: 'h2', severity: 'critical' } },
        ]),
      ],
      '2024-05-01T10:12:00Z',
    );
    await processAlerts(pipeline);
    expect((await store.incident('INC-1'))?.grade.grade).toBe('P2');
    expect(JSON.stringify(fake.issue('OPS-1')!.comments[2])).not.toContain('Grade P');
  });

  it('sets the priority and posts the re-grade comment once when answers are lost or the pass dies between them', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    await regradeIncident(store, 'INC-1', { grade: 'P1', reason: 'customer-facing', at: 'now' });
    // Jira applies the edit but the answer is lost, four times: the pass stops before the comment.
    loseAnswers('put', '/issue/OPS-1', 4);
    const lost = await processAlerts(pipeline);
    expect(lost.dispatched).toMatchObject({ comments: 0, waiting: ['INC-1'] });
    expect(fake.issue('OPS-1')!.priority).toBe('Highest');
    expect(fake.issue('OPS-1')!.comments).toHaveLength(1); // the first pass's only
    // Next pass: the edit again (harmless), then the comment; its answer is lost too.
    loseAnswers('post', '/comment');
    expect((await processAlerts(pipeline)).dispatched?.waiting).toEqual(['INC-1']);
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({ comments: 0, waiting: [] });
    expect(fake.issue('OPS-1')!.comments).toHaveLength(2);
    expect(plain(fake.issue('OPS-1')!.comments[1])).toContain('Re-graded P3 → P1');
    expect(fake.issue('OPS-1')!.priority).toBe('Highest');
    // Nothing left: no more writes.
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({
      priorities: 0,
      comments: 0,
    });
  });

  /** Jira whose project's priority scheme lacks Jira's default names (Highest, High, Medium, Low). */
  const customScheme = async (priorities?: JiraSettings['priorities']) => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorities: ['Critical', 'Major', 'Minor'] });
    pipeline.tracker = createJiraTracker(
      { project: 'OPS', flavour, ...(priorities ? { priorities } : {}) },
      fake.env,
      { effects: { sleep: async () => undefined } },
    );
  };
  const creates = () =>
    fake
      .requests()
      .filter((r) => r.method === 'post' && r.path.endsWith('/issue'))
      .map((r) => r.status);

  it("opens the ticket without a priority when the scheme lacks the grade's, and says which setting maps it", async () => {
    await customScheme();
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    const pass = await processAlerts(pipeline);
    expect(pass.dispatched).toMatchObject({
      created: [{ incident: 'INC-1', key: 'OPS-1' }],
      waiting: [],
      refused: [],
      priorityRefused: [{ incident: 'INC-1', key: 'OPS-1', grade: 'P3', created: true }],
    });
    const message = pass.dispatched!.priorityRefused[0]!.message;
    expect(message).toContain('refused the priority "Medium" for P3');
    expect(message).toContain('set tracker.jira.priorities.P3 in opsbook.yaml');
    expect(creates()).toEqual([400, 201]);
    expect(fake.issues()).toHaveLength(1);
    // The grade shows in the ticket's text all the same.
    const issue = fake.issue('OPS-1')!;
    expect(issue.priority).toBeUndefined();
    expect(issue.summary).toMatch(/^\[P3\] /);
    expect(plain(issue.description)).toContain('Grade P3');
    expect(issue.comments.map(plain)).toEqual([
      expect.stringContaining('opsbook ticket propose OPS-1'),
    ]);
    expect((await store.incident('INC-1'))?.ticket).toMatchObject({
      key: 'OPS-1',
      priorityError: { grade: 'P3', message },
    });
    expect((await store.incident('INC-1'))?.ticket.priority).toBeUndefined();
    // Not retried for that grade: the next pass writes nothing.
    const writes = fake.requests().filter((r) => r.method !== 'get').length;
    expect((await processAlerts(pipeline)).dispatched?.priorityRefused).toEqual([]);
    expect(fake.requests().filter((r) => r.method !== 'get')).toHaveLength(writes);
    // Once tracker.jira.priorities maps the grades, a re-grade sets the mapped priority.
    pipeline.tracker = createJiraTracker(
      { project: 'OPS', flavour, priorities: { P1: 'Critical', P2: { id: '2' }, P3: 'Minor' } },
      fake.env,
    );
    await regradeIncident(store, 'INC-1', { grade: 'P2', reason: 'two replicas left', at: 'now' });
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({
      priorities: 1,
      comments: 1,
      priorityRefused: [],
    });
    expect(fake.issue('OPS-1')!.priority).toBe('Major');
    expect((await store.incident('INC-1'))?.ticket).toMatchObject({ priority: 'P2' });
    expect((await store.incident('INC-1'))?.ticket.priorityError).toBeUndefined();
  });

  it('finds the ticket made without a priority when that answer was lost, and opens no second one', async () => {
    await customScheme({ P1: 'Critical' });
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    // The create with the priority is refused; the one without is applied but its answer lost.
    fake.inject({
      fault: { kind: 'reset' },
      method: 'post',
      path: '/issue',
      skip: 1,
      afterHandling: true,
    });
    const lost = await processAlerts(pipeline);
    expect(lost.dispatched).toMatchObject({ created: [], waiting: ['INC-1'] });
    expect(creates()).toEqual([400, 'reset']);
    expect(fake.issues()).toHaveLength(1);
    // The next pass finds it by its delivery id, then learns by setting it that the priority
    // is refused.
    const found = await processAlerts(pipeline);
    expect(found.dispatched).toMatchObject({
      created: [{ incident: 'INC-1', key: 'OPS-1' }],
      waiting: [],
      priorityRefused: [{ incident: 'INC-1', key: 'OPS-1', grade: 'P3', created: false }],
    });
    expect(found.dispatched!.priorityRefused[0]!.message).toContain(
      'set tracker.jira.priorities.P3',
    );
    expect(creates()).toEqual([400, 'reset']);
    expect(fake.issues()).toHaveLength(1);
    expect(fake.issue('OPS-1')!.priority).toBeUndefined();
    expect((await store.incident('INC-1'))?.ticket).toMatchObject({
      key: 'OPS-1',
      priorityError: { grade: 'P3' },
    });
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({
      created: [],
      priorities: 0,
      priorityRefused: [],
    });
    expect(fake.issues()).toHaveLength(1);
  });

  it("still posts the re-grade comment, saying so, when the project's priority scheme lacks the name", async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorities: ['Highest', 'Medium', 'Low'] });
    pipeline.tracker = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      effects: { sleep: async () => undefined },
    });
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    await processAlerts(pipeline);
    await regradeIncident(store, 'INC-1', { grade: 'P2', reason: 'one host', at: 'now' });
    const pass = await processAlerts(pipeline);
    expect(pass.dispatched).toMatchObject({ priorities: 0, comments: 1, waiting: [], refused: [] });
    expect(fake.issue('OPS-1')!.priority).toBe('Medium');
    const comments = fake.issue('OPS-1')!.comments;
    expect(comments).toHaveLength(2);
    expect(plain(comments[1])).toContain('Re-graded P3 → P2');
    expect(plain(comments[1])).toContain(
      "The ticket's priority still shows the earlier grade: the tracker refused to set it for P2",
    );
    expect(plain(comments[1])).toContain('The priority selected is invalid.');
    const incident = await store.incident('INC-1');
    expect(incident?.grade.grade).toBe('P2');
    expect(incident?.ticket).toMatchObject({
      priority: 'P3',
      priorityError: { grade: 'P2', message: expect.stringContaining('(400)') },
    });
    // Not retried for that grade: the next pass writes nothing.
    const writes = fake.requests().filter((r) => r.method !== 'get').length;
    await processAlerts(pipeline);
    expect(fake.requests().filter((r) => r.method !== 'get')).toHaveLength(writes);
    // A later re-grade to a priority the scheme has is set, and the refusal is forgotten.
    await regradeIncident(store, 'INC-1', { grade: 'P1', reason: 'spreading', at: 'now' });
    expect((await processAlerts(pipeline)).dispatched).toMatchObject({
      priorities: 1,
      comments: 1,
    });
    expect(fake.issue('OPS-1')!.priority).toBe('Highest');
    expect(plain(fake.issue('OPS-1')!.comments[2])).not.toContain('refused');
    expect((await store.incident('INC-1'))?.ticket.priorityError).toBeUndefined();
  });
});

describe('dispatch into the embedded local tracker', () => {
  it('opens the ticket and comments in the state dir, each once', async () => {
    const temp = await makeTempDir('opsbook-dispatch-local-');
    const store = filesAlertStore(temp.dir);
    const tracker = new LocalTracker({ stateDir: temp.dir, actor: 'alerts', project: 'OPS' });
    try {
      const pipeline: AlertPipeline = {
        store,
        rules: await rulesOf(rulesYaml(['eve', 'sam'])),
        topology: topologyOf(undefined, 'services'),
        tracker,
      };
      await deliver(store, burst(6, 2), '2024-05-01T10:00:05Z');
      expect((await processAlerts(pipeline)).dispatched?.created.map((c) => c.key)).toEqual([
        'OPS-1',
        'OPS-2',
      ]);
      const ticket = await tracker.get('OPS-1');
      expect(ticket).toMatchObject({ assignee: { id: 'eve' }, status: 'Open' });
      expect(ticket.summary).toMatch(/— INC-1$/);
      await deliver(
        store,
        [webhookPayload([{ labels: { alertname: 'Z', cluster: 'cluster-2', host: 'host-002' } }])],
        '2024-05-01T10:01:00Z',
      );
      await processAlerts(pipeline);
      await processAlerts(pipeline);
      const local = await tracker.read('OPS-2');
      expect(local.comments).toHaveLength(2);
      expect(docText(local.comments[0]!.body)).toMatch(/opsbook ticket propose OPS-2 --runbook/);
      expect(docText(local.comments[1]!.body)).toMatch(/1 new alert/);
      await regradeIncident(store, 'INC-2', { grade: 'P1', reason: 'paging', at: 'now' });
      await expect(
        regradeIncident(store, 'INC-2', { grade: 'P1', reason: 'again', at: 'now' }),
      ).rejects.toThrow(/^INC-2 \(OPS-2\) already is P1, by the rules: nothing to re-grade/);
      await processAlerts(pipeline);
      await processAlerts(pipeline);
      const regraded = await tracker.read('OPS-2');
      expect(regraded.grade).toBe('P1');
      expect(regraded.comments).toHaveLength(3);
      expect(docText(regraded.comments[2]!.body)).toMatch(/Re-graded P3 → P1/);
      expect(regraded.history.filter((h) => h.field === 'grade')).toMatchObject([
        { from: 'P3', to: 'P1' },
      ]);
    } finally {
      await store.close();
      await temp.remove();
    }
  });
  it("names the ticket's own key in the suggested propose command, in a comment once the key is known", async () => {
    const temp = await makeTempDir('opsbook-dispatch-local-propose-');
    const store = filesAlertStore(temp.dir);
    const tracker = new LocalTracker({ stateDir: temp.dir, actor: 'alerts', project: 'OPS' });
    try {
      await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
      await processAlerts({
        store,
        rules: await rulesOf(rulesYaml(['eve'])),
        topology: burstTopology(1),
        tracker,
      });
      const ticket = await tracker.read('OPS-1');
      expect(docText(ticket.description!)).not.toContain('THIS-TICKET');
      expect(ticket.comments.map((c) => docText(c.body))).toEqual([
        expect.stringMatching(
          /opsbook ticket propose OPS-1 --runbook disk-cleanup --target host-\d+ …/,
        ),
      ]);
    } finally {
      await store.close();
      await temp.remove();
    }
  });

  it('closes the incident of a Done ticket and opens a new one for its new alerts, without a comment', async () => {
    const temp = await makeTempDir('opsbook-dispatch-local-done-');
    const store = filesAlertStore(temp.dir);
    const tracker = new LocalTracker({ stateDir: temp.dir, actor: 'alerts', project: 'OPS' });
    try {
      const pipeline: AlertPipeline = {
        store,
        rules: await rulesOf(rulesYaml(['eve', 'sam'])),
        topology: topologyOf(undefined, 'services'),
        tracker,
      };
      await deliver(store, burst(6, 2), '2024-05-01T10:00:05Z');
      await processAlerts(pipeline);
      await finishTicket(tracker, 'OPS-1');
      const before = (await tracker.read('OPS-1')).comments.length;
      await deliver(
        store,
        [
          webhookPayload([
            {
              labels: {
                alertname: 'HighLoad',
                severity: 'critical',
                cluster: 'cluster-1',
                host: 'web-2',
              },
            },
          ]),
        ],
        '2024-05-01T10:01:00Z',
      );
      const pass = await processAlerts(pipeline);
      expect(pass.dispatched).toMatchObject({
        closed: [{ incident: 'INC-1', key: 'OPS-1', status: 'Done', opened: ['INC-3'] }],
        created: [{ incident: 'INC-3', key: 'OPS-3' }],
        comments: 0,
      });
      expect((await tracker.read('OPS-1')).comments).toHaveLength(before);
      expect(await tracker.get('OPS-1')).toMatchObject({ status: 'Done', statusCategory: 'done' });
      expect((await store.incidents({ open: true })).map((i) => i.id).sort()).toEqual([
        'INC-2',
        'INC-3',
      ]);
      expect(await store.incident('OPS-1')).toMatchObject({ id: 'INC-1', open: false });
    } finally {
      await store.close();
      await temp.remove();
    }
  });
});

describe('AlertProcessor (the passes of `alerts serve`) into Jira Data Center', () => {
  let fake: JiraFake;
  let temp: { dir: string; remove: () => Promise<void> };
  let store: AlertStore;
  let processor: AlertProcessor | undefined;
  const events: ProcessorEvent[] = [];

  beforeEach(async () => {
    fake = await startJiraFake({ flavour: 'datacenter', basePath: '/jira' });
    temp = await makeTempDir('opsbook-processor-');
    store = filesAlertStore(temp.dir);
    events.length = 0;
    const pipeline: AlertPipeline = {
      store,
      rules: await rulesOf(rulesYaml(fake.users.map((u) => u.name))),
      topology: topologyOf(undefined, 'services'),
      tracker: createJiraTracker({ project: 'OPS', flavour: 'datacenter' }, fake.env, {
        effects: { sleep: async () => undefined },
        timeoutMs: 2000,
      }),
      now: () => new Date('2024-05-01T10:01:00Z'),
    };
    processor = new AlertProcessor(pipeline, {
      debounceMs: 0,
      retryMs: 20,
      onEvent: (e) => events.push(e),
    });
  });

  afterEach(async () => {
    await processor?.close();
    await store.close();
    await temp.remove();
    await fake.closeExpectingNone();
  });

  const passes = async (n: number) => {
    for (let i = 0; i < 500 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events.length, JSON.stringify(events)).toBeGreaterThanOrEqual(n);
    return events.slice(0, n);
  };
  const retries = (list: ProcessorEvent[]) => list.map((e) => e.retryInMs);

  it('while another process dispatches, looks again after the first delay each time, not an outage backoff', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    let release!: () => void;
    const held = store.dispatchLock(() => new Promise<void>((r) => (release = r)));
    processor!.schedule();
    const busy = await passes(5);
    expect(busy.map((e) => e.type === 'processed' && e.dispatched?.busy)).toEqual(
      Array(5).fill(true),
    );
    expect(retries(busy)).toEqual([20, 20, 20, 20, 20]);
    release();
    await held;
    const created = (e: ProcessorEvent) => e.type === 'processed' && !!e.dispatched?.created.length;
    for (let i = 0; i < 500 && !events.some(created); i++)
      await new Promise((r) => setTimeout(r, 10));
    const after = events.find(created);
    expect(
      events.filter((e) => e !== after).every((e) => e.type === 'processed' && e.dispatched?.busy),
    ).toBe(true);
    expect(after).toMatchObject({ type: 'processed', dispatched: { created: [{ key: 'OPS-1' }] } });
    expect(after?.retryInMs).toBeUndefined();
  });

  it('while Jira is down, backs off: each delay twice the one before', async () => {
    await deliver(store, burst(2, 1), '2024-05-01T10:00:05Z');
    fake.inject({ fault: { kind: 'reset' }, method: 'post', path: '/issue', times: 3 });
    processor!.schedule();
    const list = await passes(4);
    expect(list.slice(0, 3).map((e) => e.type === 'processed' && e.dispatched?.waiting)).toEqual(
      Array(3).fill(['INC-1']),
    );
    expect(retries(list)).toEqual([20, 40, 80, undefined]);
    expect(list[3]).toMatchObject({ dispatched: { created: [{ key: 'OPS-1' }] } });
  });
});
