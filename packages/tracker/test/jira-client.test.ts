import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, type Doc, type JiraTracker, jqlString, textDoc } from '../src/index.js';

const report: Doc = {
  blocks: [
    { type: 'heading', level: 2, text: 'Run 42 finished' },
    {
      type: 'paragraph',
      content: [
        { type: 'text', text: '3/3 hosts ok, see ' },
        { type: 'link', text: 'the journal', href: 'https://ops.example/runs/42' },
      ],
    },
    {
      type: 'table',
      header: ['host', 'result'],
      rows: [
        ['web-01', 'ok'],
        ['web-02', 'ok'],
      ],
    },
    { type: 'code', text: 'df -h /var\n/dev/sda1 91%', language: 'shell' },
  ],
};

describe.each([
  { flavour: 'cloud' as const, basePath: '/ex/jira/cloud-1234' },
  { flavour: 'datacenter' as const, basePath: '/jira' },
])('Jira $flavour client against the spec-validated fake', ({ flavour, basePath }) => {
  // A property value as stored by Jira: Data Center's are sent as JSON strings of their JSON.
  const wire = (value: unknown) => (flavour === 'cloud' ? value : JSON.stringify(value));
  const unwire = (value: unknown) =>
    flavour === 'cloud' ? value : (JSON.parse(value as string) as unknown);
  let fake: JiraFake;
  let jira: JiraTracker;

  beforeEach(async () => {
    fake = await startJiraFake({ flavour, basePath });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
  });

  afterEach(async () => {
    await fake.closeExpectingNone();
  });

  it('creates a ticket and reads back its summary, status, labels and assignee', async () => {
    const ref = await jira.create({
      summary: 'Disk 91% on db-3',
      description: report,
      labels: ['opsbook', 'disk'],
      grade: 'P2',
    });
    expect(ref).toEqual({ key: 'OPS-1', url: `${fake.siteUrl}/browse/OPS-1` });
    const bot = fake.users[0]!;
    expect(await jira.get('OPS-1')).toEqual({
      key: 'OPS-1',
      summary: 'Disk 91% on db-3',
      status: 'Open',
      statusCategory: 'new',
      assignee: null,
      reporter: {
        id: flavour === 'cloud' ? bot.accountId : bot.name,
        displayName: bot.displayName,
      },
      labels: ['opsbook', 'disk'],
    });
    expect(fake.issue('OPS-1')?.priority).toBe('High');
  });

  it('reads the description as text, apart from get, and an empty one as nothing', async () => {
    await jira.create({ summary: 'Disk 91% on db-3', description: report });
    await jira.create({ summary: 'no words' });
    const text = await jira.description('OPS-1');
    expect(text).toContain('Run 42 finished');
    expect(text).toContain('3/3 hosts ok, see');
    // Text, not the ADF document (Cloud); Data Center's wiki markup is read as it is written.
    expect(text).not.toMatch(/"type"|\{"/);
    expect(await jira.description('OPS-2')).toBe('');
    const reads = fake.requests().filter((q) => q.method === 'get' && q.path.endsWith('/OPS-1'));
    expect(new URLSearchParams(reads.at(-1)?.query).get('fields')).toBe('description');
  });

  it('links tickets at the site people browse: behind the API gateway, the server info\u2019s baseUrl, read once', async () => {
    const a = await jira.create({ summary: 'one' });
    const b = await jira.create({ summary: 'two' });
    expect([a.url, b.url]).toEqual([
      `${fake.siteUrl}/browse/OPS-1`,
      `${fake.siteUrl}/browse/OPS-2`,
    ]);
    const infos = fake.requests().filter((r) => r.path.endsWith('/serverInfo'));
    // Only the gateway (`/ex/jira/<cloudId>`) serves no pages: elsewhere the base is the site.
    expect(infos).toHaveLength(basePath.startsWith('/ex/jira/') ? 1 : 0);
    if (basePath.startsWith('/ex/jira/')) expect(fake.siteUrl).not.toBe(fake.baseUrl);
    const configured = createJiraTracker(
      { project: 'OPS', flavour, siteUrl: 'https://ops.example.net/' },
      fake.env,
    );
    expect((await configured.create({ summary: 'three' })).url).toBe(
      'https://ops.example.net/browse/OPS-3',
    );
  });

  it('sets the priority a grade maps to with an edit, harmlessly twice, and the summary with it when given', async () => {
    await jira.create({ summary: 're-graded', grade: 'P3' });
    await jira.setPriority('OPS-1', 'P1');
    await jira.setPriority('OPS-1', 'P1');
    expect(fake.issue('OPS-1')?.priority).toBe('Highest');
    await jira.setPriority('OPS-1', 'P2', { summary: `[P2] ${'x'.repeat(300)}` });
    expect(fake.issue('OPS-1')).toMatchObject({ priority: 'High' });
    expect(fake.issue('OPS-1')?.summary).toHaveLength(254);
    expect(fake.issue('OPS-1')?.summary.startsWith('[P2] xxx')).toBe(true);
    const edits = fake.requests().filter((r) => r.method === 'put');
    expect(edits.map((r) => [r.path, r.status])).toEqual([
      [`${basePath}${jira.issuePath('OPS-1')}`, 204],
      [`${basePath}${jira.issuePath('OPS-1')}`, 204],
      [`${basePath}${jira.issuePath('OPS-1')}`, 204],
    ]);
  });

  it("names the field when the project's priority scheme lacks the grade's priority", async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorities: ['Critical', 'Major', 'Minor'] });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    fake.seed({ summary: 'custom scheme' });
    const error = await jira.setPriority('OPS-1', 'P2').catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'refused',
      code: 'TRACKER_PRIORITY_UNKNOWN',
      details: { fields: ['priority'], ticket: 'OPS-1', status: 400, grade: 'P2' },
    });
    expect((error as Error).message).toBe(
      `Jira at ${fake.baseUrl}${jira.issuePath('OPS-1')} refused the priority "High" for P2 when trying to set the priority of OPS-1 to "High" (P2) (400) (Jira says: priority: The priority selected is invalid.): the project's priority scheme lacks it; set tracker.jira.priorities.P2 in opsbook.yaml to a priority of the scheme (its name, or {id: …}).`,
    );
    expect(fake.issue('OPS-1')?.priority).toBeUndefined();
    expect(fake.requests().filter((r) => r.method === 'put')).toHaveLength(1);
  });

  it("maps grades to the project's priorities as tracker.jira.priorities says, by name or id", async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorities: ['Critical', 'Major', 'Minor'] });
    jira = createJiraTracker(
      { project: 'OPS', flavour, priorities: { P1: 'Critical', P2: { id: '2' }, P3: 'Minor' } },
      fake.env,
    );
    const ref = await jira.create({ summary: 'custom scheme', grade: 'P2' });
    expect(ref.priorityRefused).toBeUndefined();
    expect(fake.issue(ref.key)?.priority).toBe('Major');
    await jira.setPriority(ref.key, 'P1');
    expect(fake.issue(ref.key)?.priority).toBe('Critical');
    await jira.setPriority(ref.key, 'P3');
    expect(fake.issue(ref.key)?.priority).toBe('Minor');
    // P4 is left at Jira's default name, which this scheme lacks.
    await expect(jira.setPriority(ref.key, 'P4')).rejects.toMatchObject({
      code: 'TRACKER_PRIORITY_UNKNOWN',
      message: expect.stringContaining('set tracker.jira.priorities.P4 in opsbook.yaml'),
    });
    expect(fake.issue(ref.key)?.priority).toBe('Minor');
  });

  it("creates the ticket without a priority, once, when the project's scheme lacks the grade's", async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorities: ['Critical', 'Major', 'Minor'] });
    jira = createJiraTracker(
      { project: 'OPS', flavour, priorities: { P1: { id: '9' } } },
      fake.env,
    );
    const ref = await jira.create(
      { summary: '[P1] disk full', labels: ['opsbook'], grade: 'P1' },
      { deliveryId: 'd-priority' },
    );
    expect(ref.key).toBe('OPS-1');
    expect(ref.priorityRefused).toBe(
      `Jira at ${fake.baseUrl}/rest/api/${flavour === 'cloud' ? 3 : 2}/issue refused the priority id 9 for P1 when trying to create a ticket in project OPS (400) (Jira says: priority: The priority selected is invalid.): the project's priority scheme lacks it; set tracker.jira.priorities.P1 in opsbook.yaml to a priority of the scheme (its name, or {id: …}).`,
    );
    expect(fake.issues()).toHaveLength(1);
    const issue = fake.issue('OPS-1')!;
    expect(issue).toMatchObject({ summary: '[P1] disk full', labels: ['opsbook'] });
    expect(issue.priority).toBeUndefined();
    // The create that went through carries the delivery id: a retry of the whole finds it.
    expect(
      await jira.findDelivered({
        kind: 'create',
        deliveryId: 'd-priority',
        summary: '[P1] disk full',
      }),
    ).toBe('OPS-1');
    const creates = fake.requests().filter((r) => r.method === 'post' && r.path.endsWith('/issue'));
    expect(creates.map((r) => r.status)).toEqual([400, 201]);
  });

  it('leaves out the reporter and the priority both when Jira refuses each, and nothing else', async () => {
    await fake.close();
    fake = await startJiraFake({
      flavour,
      basePath,
      priorities: ['Critical', 'Major', 'Minor'],
      canSetReporter: false,
    });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const senior = fake.users[1]!;
    const ref = await jira.create({
      summary: 'both refused',
      grade: 'P3',
      reporter: flavour === 'cloud' ? senior.accountId : senior.name,
    });
    expect(ref).toMatchObject({ key: 'OPS-1', reporterSet: false });
    expect(ref.priorityRefused).toContain('set tracker.jira.priorities.P3');
    expect(fake.issue('OPS-1')?.reporter?.name).toBe(fake.users[0]!.name);
    // A refusal naming a field the ticket cannot go without fails the create as a whole.
    await expect(jira.create({ summary: ' ', grade: 'P3' })).rejects.toMatchObject({
      code: 'TRACKER_REQUEST_REJECTED',
      details: { fields: ['summary'] },
    });
    expect(fake.issues()).toHaveLength(1);
    const creates = fake.requests().filter((r) => r.method === 'post' && r.path.endsWith('/issue'));
    expect(creates.map((r) => r.status)).toEqual([400, 400, 201, 400]);
  });

  it('says a priority refused as not on the create or edit screen is the screen, not the scheme', async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, priorityOnScreen: false });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const ref = await jira.create({ summary: '[P2] team-managed', grade: 'P2' });
    const said =
      "(Jira says: priority: Field 'priority' cannot be set. It is not on the appropriate screen, or unknown.)";
    const api = `/rest/api/${flavour === 'cloud' ? 3 : 2}`;
    expect(ref.priorityRefused).toBe(
      `Jira at ${fake.baseUrl}${api}/issue refused the priority "High" for P2 when trying to create a ticket in project OPS (400) ${said}: the project's create screen has no Priority field (a team-managed project may have none), so no tracker.jira.priorities setting helps; ask a Jira admin to add Priority to the project's create and edit screens.`,
    );
    expect(fake.issue(ref.key)?.priority).toBeUndefined();
    const creates = fake.requests().filter((r) => r.method === 'post' && r.path.endsWith('/issue'));
    expect(creates.map((r) => r.status)).toEqual([400, 201]);
    const error = await jira.setPriority(ref.key, 'P1').catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'refused',
      code: 'TRACKER_PRIORITY_NOT_ON_SCREEN',
      details: { fields: ['priority'], ticket: 'OPS-1', status: 400, grade: 'P1' },
    });
    expect((error as Error).message).toBe(
      `Jira at ${fake.baseUrl}${jira.issuePath('OPS-1')} refused the priority "Highest" for P1 when trying to set the priority of OPS-1 to "Highest" (P1) (400) ${said}: the project's edit screen has no Priority field (a team-managed project may have none), so no tracker.jira.priorities setting helps; ask a Jira admin to add Priority to the project's create and edit screens.`,
    );
  });

  it('edits again when Jira answers 409 (a conflicting update), and says so when it keeps conflicting', async () => {
    await jira.create({ summary: 'conflict' });
    const quick = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    fake.inject({ fault: { kind: 'status', status: 409 }, method: 'put', path: '/issue/OPS-1' });
    await quick.setPriority('OPS-1', 'P4');
    expect(fake.issue('OPS-1')?.priority).toBe('Low');
    fake.inject({
      fault: { kind: 'status', status: 409 },
      method: 'put',
      path: '/issue/OPS-1',
      times: 10,
    });
    const error = await quick.setPriority('OPS-1', 'P1').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'TRACKER_REQUEST_REJECTED',
      details: { ticket: 'OPS-1', status: 409 },
    });
    expect((error as Error).message).toContain(
      'another update of OPS-1 went in at the same time (409) after 4 attempt(s)',
    );
    expect(fake.issue('OPS-1')?.priority).toBe('Low');
  });

  it('retries a priority edit whose answer was lost: the edit applies once, the client succeeds', async () => {
    await jira.create({ summary: 'lost answer' });
    fake.inject({
      fault: { kind: 'reset' },
      method: 'put',
      path: '/issue/OPS-1',
      afterHandling: true,
    });
    const quick = createJiraTracker({ project: 'OPS', flavour }, fake.env, {
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    await quick.setPriority('OPS-1', 'P4');
    expect(fake.issue('OPS-1')?.priority).toBe('Low');
    expect(
      fake
        .requests()
        .filter((r) => r.method === 'put')
        .map((r) => r.status),
    ).toEqual(['reset', 204]);
  });

  it('posts a comment rendered as ADF on Cloud and as wiki markup on Data Center', async () => {
    await jira.create({ summary: 'comment target' });
    const { id } = await jira.comment('OPS-1', report);
    const stored = fake.issue('OPS-1')?.comments[0];
    expect(stored?.id).toBe(id);
    if (flavour === 'cloud') {
      expect(stored?.body).toMatchObject({ type: 'doc', version: 1 });
      expect(JSON.stringify(stored?.body)).toContain('"type":"table"');
    } else {
      expect(stored?.body).toContain('h2. Run 42 finished');
      expect(stored?.body).toContain('||host||result||');
      expect(stored?.body).toContain('{code:shell}');
    }
  });

  it('posts text marked both bold and code as code, which Jira takes (ADF allows code beside a link only)', async () => {
    await jira.create({ summary: 'comment target' });
    const digest = { type: 'text' as const, text: 'sha256:9f2c', bold: true, code: true };
    await jira.comment('OPS-1', { blocks: [{ type: 'paragraph', content: [digest] }] });
    const stored = fake.issue('OPS-1')?.comments[0]?.body;
    if (flavour === 'cloud')
      expect(JSON.stringify(stored)).toContain('"text":"sha256:9f2c","marks":[{"type":"code"}]');
    else expect(stored).toBe('{{sha256:9f2c}}');
  });

  it('reads every comment, oldest first, where Jira pages them short, ignores orderBy or refuses -created', async () => {
    const paged = await startJiraFake({
      flavour,
      basePath,
      commentsPageSize: 2,
      ordersComments: false,
      commentOrderCreatedOnly: true,
    });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, paged.env);
      await client.create({ summary: 'many comments' });
      const words = ['one', 'two', 'three', 'four', 'five'];
      for (const w of words) await client.comment('OPS-1', textDoc(w));
      const comments = await client.comments('OPS-1');
      expect(comments.map((c) => c.text)).toEqual(words);
      const bot = paged.users[0]!;
      expect(comments[0]?.author).toBe(flavour === 'cloud' ? bot.accountId : bot.name);
      const id = (await client.comment('OPS-1', textDoc('six'), { deliveryId: 'd-6' })).id;
      expect(await client.findDelivered({ kind: 'comment', deliveryId: 'd-6', key: 'OPS-1' })).toBe(
        id,
      );
      expect(paged.violations()).toEqual([]);
    } finally {
      await paged.close();
    }
  });

  it('reads every page of comments and of search results where Jira answers without total', async () => {
    const paged = await startJiraFake({
      flavour,
      basePath,
      commentsPageSize: 2,
      searchPageSize: 2,
      omitsTotal: true,
    });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, paged.env);
      for (const n of [1, 2, 3, 4, 5]) await client.create({ summary: `ticket ${n}` });
      const found = await client.search('project = OPS ORDER BY key', { limit: 100 });
      expect(found.map((t) => t.key)).toEqual(['OPS-1', 'OPS-2', 'OPS-3', 'OPS-4', 'OPS-5']);
      const words = ['one', 'two', 'three', 'four', 'five'];
      for (const w of words) await client.comment('OPS-1', textDoc(w));
      expect((await client.comments('OPS-1')).map((c) => c.text)).toEqual(words);
      expect(paged.violations()).toEqual([]);
    } finally {
      await paged.close();
    }
  });

  it('attaches a file as multipart with the file part and the XSRF header', async () => {
    await jira.create({ summary: 'attach target' });
    const bytes = new TextEncoder().encode('{"event":"run.finished"}\n');
    const att = await jira.attach('OPS-1', {
      filename: 'journal.jsonl',
      bytes,
      contentType: 'application/jsonl',
    });
    expect(att).toMatchObject({ filename: 'journal.jsonl', size: bytes.byteLength });
    expect(Buffer.from(fake.issue('OPS-1')!.attachments[0]!.bytes).toString()).toBe(
      '{"event":"run.finished"}\n',
    );
  });

  it('walks the workflow by status name and treats the current status as done', async () => {
    await jira.create({ summary: 'workflow' });
    expect((await jira.transitions('OPS-1')).map((t) => t.to)).toEqual(['Awaiting Approval']);
    for (const s of ['Awaiting Approval', 'Approved', 'In Progress', 'In Review', 'Done'])
      await jira.transition('OPS-1', s);
    await jira.transition('OPS-1', 'done');
    expect((await jira.get('OPS-1')).status).toBe('Done');
    expect(fake.issue('OPS-1')?.history.map((h) => h.to)).toEqual([
      'awaitingApproval',
      'approved',
      'inProgress',
      'review',
      'done',
    ]);
  });

  it('leaves out a transition Jira lists without an id (the spec allows it): it cannot be taken', async () => {
    await jira.create({ summary: 'no id' });
    fake.inject({
      method: 'get',
      path: '/transitions',
      fault: {
        kind: 'status',
        status: 200,
        contentType: 'application/json',
        raw: JSON.stringify({
          transitions: [
            { name: 'Ghost', to: { name: 'Done' } },
            { id: '11', name: 'Submit', to: { name: 'Awaiting Approval' } },
          ],
        }),
      },
    });
    expect(await jira.transitions('OPS-1')).toMatchObject([{ id: '11', to: 'Awaiting Approval' }]);
  });

  const walkToDone = async (client: JiraTracker) => {
    const { key } = await client.create({ summary: 'to be done' });
    for (const s of ['Awaiting Approval', 'Approved', 'In Progress', 'In Review', 'Done'])
      await client.transition(key, s);
    return key;
  };
  const transitionPosts = (f: JiraFake) =>
    f
      .requests()
      .filter((r) => r.method === 'post' && r.path.endsWith('/transitions'))
      .map((r) => r.status);

  it('sends no transition fields to a move without a screen, where a post-function sets the resolution', async () => {
    const configured = createJiraTracker(
      { project: 'OPS', flavour, transitionFields: { done: { resolution: { name: 'Done' } } } },
      fake.env,
    );
    const key = await walkToDone(configured);
    const issue = fake.issue(key)!;
    expect(issue.status).toBe('done');
    expect(issue.transitionFields.every((t) => Object.keys(t.fields).length === 0)).toBe(true);
    expect(transitionPosts(fake)).toEqual([204, 204, 204, 204, 204]);
    // The screens are read with the list of transitions, not with a request of their own.
    const lists = fake
      .requests()
      .filter((r) => r.method === 'get' && r.path.endsWith('/transitions'));
    expect(lists.map((r) => r.query)).toEqual(Array(5).fill('?expand=transitions.fields'));
  });

  it("carries the configured fields a transition's screen has, and refuses before the move a required one not configured", async () => {
    const strict = await startJiraFake({
      flavour,
      basePath,
      transitionRequires: { done: ['resolution'] },
      transitionScreens: { done: ['comment'] },
    });
    try {
      const error = await walkToDone(
        createJiraTracker({ project: 'OPS', flavour }, strict.env),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'refused',
        code: 'TRACKER_REQUEST_REJECTED',
        details: { ticket: 'OPS-1', fields: ['resolution'], retryable: false },
      });
      expect((error as Error).message).toBe(
        `${strict.siteUrl}/browse/OPS-1: the transition "Accept" that moves OPS-1 to "Done" requires Resolution (resolution) on its screen, and opsbook.yaml gives no value: set tracker.jira.transitionFields.done.resolution (a resolution is e.g. {name: Done}); the move was not sent.`,
      );
      expect(strict.issue('OPS-1')?.status).toBe('review');
      expect(transitionPosts(strict)).toEqual([204, 204, 204, 204]);
      const configured = createJiraTracker(
        {
          project: 'OPS',
          flavour,
          transitionFields: {
            done: { resolution: { name: 'Done' }, customfield_10099: 'not on the screen' },
            review: { resolution: { name: 'Done' } },
          },
        },
        strict.env,
      );
      const key = await walkToDone(configured);
      const issue = strict.issue(key)!;
      expect(issue.status).toBe('done');
      expect(issue.transitionFields.at(-1)).toEqual({
        to: 'done',
        fields: { resolution: { name: 'Done' } },
      });
      // Only the move to Done carries them: the move to In Review has no screen.
      expect(
        issue.transitionFields.slice(0, -1).every((t) => Object.keys(t.fields).length === 0),
      ).toBe(true);
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('sends the configured fields where Jira ignores expand=transitions.fields, and says where to set one its refusal names', async () => {
    const strict = await startJiraFake({
      flavour,
      basePath,
      transitionRequires: { done: ['resolution'] },
      expandsTransitionFields: false,
    });
    try {
      const bare = createJiraTracker({ project: 'OPS', flavour }, strict.env);
      const error = await walkToDone(bare).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TRACKER_REQUEST_REJECTED',
        details: { fields: ['resolution'], retryable: false },
      });
      expect((error as Error).message).toBe(
        `Jira at ${strict.baseUrl}${bare.issuePath('OPS-1', '/transitions')} rejected the request to move OPS-1 to "Done" (400) (Jira says: resolution: resolution is required.): the move needs resolution on the transition's screen: set it in opsbook.yaml under tracker.jira.transitionFields.done (e.g. resolution: {name: Done}).`,
      );
      const configured = createJiraTracker(
        { project: 'OPS', flavour, transitionFields: { done: { resolution: { name: 'Done' } } } },
        strict.env,
      );
      const key = await walkToDone(configured);
      expect(strict.issue(key)?.transitionFields.at(-1)).toEqual({
        to: 'done',
        fields: { resolution: { name: 'Done' } },
      });
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('moves a ticket where Jira refuses expand=transitions.fields (undeclared in the DC spec): lists again without it, once per client', async () => {
    const strict = await startJiraFake({
      flavour,
      basePath,
      queryAsPublished: true,
      transitionRequires: { done: ['resolution'] },
    });
    try {
      const configured = createJiraTracker(
        { project: 'OPS', flavour, transitionFields: { done: { resolution: { name: 'Done' } } } },
        strict.env,
      );
      const key = await walkToDone(configured);
      expect(strict.issue(key)?.status).toBe('done');
      expect(strict.issue(key)?.transitionFields.at(-1)).toEqual({
        to: 'done',
        fields: { resolution: { name: 'Done' } },
      });
      const lists = strict
        .requests()
        .filter((r) => r.method === 'get' && r.path.endsWith('/transitions'))
        .map((r) => `${r.status} ${r.query}`);
      const expand = '?expand=transitions.fields';
      expect(lists).toEqual(
        flavour === 'cloud'
          ? Array(5).fill(`200 ${expand}`)
          : [`400 ${expand}`, '200 ', ...Array(4).fill('200 ')],
      );
      expect(strict.violations().flatMap((v) => v.problems)).toEqual(
        flavour === 'cloud' ? [] : ['query parameter "expand" is not in the spec'],
      );
    } finally {
      await strict.close();
    }
  });

  it('names the configured transition field whose value Jira refuses, and the key to fix', async () => {
    const strict = await startJiraFake({
      flavour,
      basePath,
      transitionRequires: { done: ['resolution'] },
    });
    try {
      const client = createJiraTracker(
        { project: 'OPS', flavour, transitionFields: { done: { resolution: { name: 'Fixed' } } } },
        strict.env,
      );
      const error = await walkToDone(client).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TRACKER_REQUEST_REJECTED',
        details: { fields: ['resolution'] },
      });
      expect((error as Error).message).toBe(
        `Jira at ${strict.baseUrl}${client.issuePath('OPS-1', '/transitions')} rejected the request to move OPS-1 to "Done" (400) (Jira says: resolution: Could not find valid 'id' or 'name' in resolution object.): Jira refused the value opsbook sent for resolution: fix tracker.jira.transitionFields.done.resolution in opsbook.yaml.`,
      );
      expect(strict.issue('OPS-1')?.status).toBe('review');
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('says an empty list of transitions is the account (permission, workflow condition), not the status names', async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, transitionsOfferedTo: 'assignee' });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    await jira.create({ summary: 'assignee only' });
    const error = await jira.transition('OPS-1', 'Awaiting Approval').catch((e: unknown) => e);
    expect(error).toMatchObject({
      kind: 'refused',
      code: 'TICKET_TRANSITION_UNAVAILABLE',
      details: { ticket: 'OPS-1', offered: [], retryable: false },
    });
    const account =
      flavour === 'cloud' ? `the account ${fake.env.JIRA_EMAIL}` : 'the account of JIRA_PAT';
    expect((error as Error).message).toBe(
      `${fake.siteUrl}/browse/OPS-1 offers no transition of OPS-1 at all to ${account} (it is "Open", opsbook is moving it to "Awaiting Approval"): Jira lists none when the account lacks the Transition Issues permission in the project, or when the workflow's conditions leave it out (e.g. only the assignee may transition); ask a Jira admin to check both for this account.`,
    );
    const bot = fake.users[0]!;
    await jira.assign('OPS-1', flavour === 'cloud' ? bot.accountId : bot.name);
    await jira.transition('OPS-1', 'Awaiting Approval');
    expect(fake.issue('OPS-1')?.status).toBe('awaitingApproval');
  });

  it('moves a ticket again once when Jira answers 409 (another update went in first)', async () => {
    await jira.create({ summary: 'conflict' });
    fake.inject({ fault: { kind: 'status', status: 409 }, method: 'post', path: '/transitions' });
    await jira.transition('OPS-1', 'Awaiting Approval');
    expect((await jira.get('OPS-1')).status).toBe('Awaiting Approval');
    // A second conflict in a row is reported, not retried without end.
    fake.inject({
      fault: { kind: 'status', status: 409 },
      method: 'post',
      path: '/transitions',
      times: 2,
    });
    await expect(jira.transition('OPS-1', 'Approved')).rejects.toMatchObject({
      details: { status: 409 },
    });
    expect((await jira.get('OPS-1')).status).toBe('Awaiting Approval');
  });

  it('refuses a transition the workflow does not offer, naming the URL, the ticket and the fix', async () => {
    await jira.create({ summary: 'wrong move' });
    const error = await jira.transition('OPS-1', 'Done').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'refused', code: 'TICKET_TRANSITION_UNAVAILABLE' });
    expect((error as Error).message).toBe(
      `${fake.siteUrl}/browse/OPS-1 offers no transition of OPS-1 from "Open" to "Done" (offered: "Awaiting Approval"): move the ticket along its workflow first, or set tracker.jira.statuses to the status names your workflow uses.`,
    );
  });

  it('does not take a transition named like the status that leads to another one, and moves nothing', async () => {
    await jira.create({ summary: 'named like a status' });
    // "Propose" is a transition of the workflow (to Awaiting Approval), not a status.
    const error = await jira.transition('OPS-1', 'Propose').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'refused', code: 'TICKET_TRANSITION_UNAVAILABLE' });
    expect((await jira.get('OPS-1')).status).toBe('Open');
    expect(
      fake.requests().filter((r) => r.method === 'post' && r.path.endsWith('/transitions')),
    ).toEqual([]);
  });

  it('sets the reporter by account id (Cloud) or user name (Data Center)', async () => {
    const senior = fake.users[1]!;
    const id = flavour === 'cloud' ? senior.accountId : senior.name;
    const ref = await jira.create({ summary: 'reported by the senior', reporter: id });
    expect(ref.reporterSet).toBe(true);
    expect(fake.issue(ref.key)?.reporter?.name).toBe(senior.name);
    expect((await jira.get(ref.key)).reporter).toEqual({ id, displayName: 'Sam Senior' });
  });

  it('creates the ticket without the reporter when Jira refuses the field (no Modify Reporter)', async () => {
    await fake.close();
    fake = await startJiraFake({ flavour, basePath, canSetReporter: false });
    jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
    const senior = fake.users[1]!;
    const ref = await jira.create(
      {
        summary: 'reporter refused',
        reporter: flavour === 'cloud' ? senior.accountId : senior.name,
      },
      { deliveryId: 'd-reporter' },
    );
    expect(ref.reporterSet).toBe(false);
    expect(fake.issues()).toHaveLength(1);
    expect(fake.issue(ref.key)?.reporter?.name).toBe(fake.users[0]!.name);
    const creates = fake.requests().filter((r) => r.method === 'post' && r.path.endsWith('/issue'));
    expect(creates.map((r) => r.status)).toEqual([400, 201]);
  });

  it('mentions a person as an ADF mention node (Cloud) or [~name] (Data Center)', async () => {
    await jira.create({ summary: 'mention' });
    const senior = fake.users[1]!;
    const id = flavour === 'cloud' ? senior.accountId : senior.name;
    await jira.comment('OPS-1', {
      blocks: [
        {
          type: 'paragraph',
          content: [
            { type: 'mention', id, text: 'Sam Senior' },
            { type: 'text', text: ' please look' },
          ],
        },
      ],
    });
    const body = fake.issue('OPS-1')?.comments[0]?.body;
    if (flavour === 'cloud')
      expect(body).toMatchObject({
        content: [
          {
            type: 'paragraph',
            content: [{ type: 'mention', attrs: { id, text: '@Sam Senior' } }, { type: 'text' }],
          },
        ],
      });
    else expect(body).toBe('[~senior] please look');
  });

  it('flags a mention of someone the Jira does not know', async () => {
    await jira.create({ summary: 'mention nobody' });
    await jira.comment('OPS-1', {
      blocks: [{ type: 'paragraph', content: [{ type: 'mention', id: 'nobody', text: 'N' }] }],
    });
    expect(fake.violations().map((v) => v.problems.join())).toEqual([
      'body mentions nobody, who is not a user of this Jira',
    ]);
    fake.clearViolations();
  });

  it('assigns by account id (Cloud) or user name (Data Center)', async () => {
    await jira.create({ summary: 'assign' });
    const senior = fake.users[1]!;
    await jira.assign('OPS-1', flavour === 'cloud' ? senior.accountId : senior.name);
    expect((await jira.get('OPS-1')).assignee).toEqual({
      id: flavour === 'cloud' ? senior.accountId : senior.name,
      displayName: 'Sam Senior',
    });
    // Unassigned through an edit of the field (the assignee operation takes a string).
    await jira.assign('OPS-1', null);
    expect((await jira.get('OPS-1')).assignee).toBeNull();
  });

  it('searches with JQL across pages until the limit', async () => {
    for (let i = 1; i <= 130; i++)
      fake.seed({ summary: `alert ${i}`, labels: i % 2 ? ['odd'] : [] });
    const found = await jira.search('project = OPS AND labels = odd ORDER BY key', { limit: 60 });
    expect(found).toHaveLength(60);
    expect(found[0]).toMatchObject({ key: 'OPS-1', summary: 'alert 1' });
    expect(found[59]?.key).toBe('OPS-119');
    const all = await jira.search('project = OPS', { limit: 500 });
    expect(all).toHaveLength(130);
    const searchPath = flavour === 'cloud' ? '/rest/api/3/search/jql' : '/rest/api/2/search';
    expect(fake.requests().filter((r) => r.path.endsWith(searchPath)).length).toBe(3);
  });

  it('sends a JQL value holding control characters as escapes Jira reads, never raw (a 400)', async () => {
    fake.seed({ summary: 'tab', labels: ['odd'] });
    // What a --label or a project key may hold: ESC, a line break, a tab, a C1 control.
    for (const value of ['odd\u001b[2J', 'odd\nAND project = X', 'o\tdd', 'odd\u0085'])
      expect(
        await jira.search(`project = ${jqlString('OPS')} AND labels = ${jqlString(value)}`),
      ).toEqual([]);
    expect(
      (await jira.search(`project = ${jqlString('OPS')} AND labels = ${jqlString('odd')}`)).map(
        (t) => t.key,
      ),
    ).toEqual(['OPS-1']);
  });

  it('searches where query parameters are checked as the spec publishes them (DC types fields as an object)', async () => {
    const strict = await startJiraFake({ flavour, basePath, queryAsPublished: true });
    try {
      for (let i = 1; i <= 3; i++) strict.seed({ summary: `alert ${i}`, labels: ['odd'] });
      const client = createJiraTracker({ project: 'OPS', flavour }, strict.env);
      const found = await client.search('project = OPS AND labels = odd ORDER BY key', {
        limit: 2,
      });
      expect(found.map((t) => [t.key, t.summary, t.status, t.labels])).toEqual([
        ['OPS-1', 'alert 1', 'Open', ['odd']],
        ['OPS-2', 'alert 2', 'Open', ['odd']],
      ]);
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('reads and writes issue properties (approval uses across machines)', async () => {
    await jira.create({ summary: 'properties' });
    expect(await jira.getProperty('OPS-1', 'opsbook.approval-uses')).toBeUndefined();
    await jira.setProperty('OPS-1', 'opsbook.approval-uses', { 'sha256:abc': 1 });
    await jira.setProperty('OPS-1', 'opsbook.approval-uses', { 'sha256:abc': 2 });
    expect(await jira.getProperty('OPS-1', 'opsbook.approval-uses')).toEqual({ 'sha256:abc': 2 });
    await expect(jira.getProperty('OPS-9', 'x')).rejects.toMatchObject({
      code: 'TRACKER_TICKET_NOT_FOUND',
    });
  });

  it("keeps a property past Jira's 32 KB in parts: read back whole, listed once, replaced and deleted with its parts", async () => {
    await jira.create({ summary: 'large property' });
    const hosts = Array.from({ length: 3000 }, (_, i) => `web-${i}.eu-west.example.com`);
    const big = { statement: { hosts }, note: 'ü"\\\n' };
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(32_768 * 2);
    await jira.setProperty('OPS-1', 'opsbook.approval', big);
    expect(await jira.getProperty('OPS-1', 'opsbook.approval')).toEqual(big);
    expect(await jira.propertyKeys('OPS-1')).toEqual(['opsbook.approval']);
    const stored = fake.issue('OPS-1')!.properties;
    const parts = () => [...stored.keys()].filter((k) => k.includes('.part.'));
    expect(parts().length).toBeGreaterThan(2);
    // Replaced by another large value: the first value's parts are gone.
    const other = { statement: { hosts: hosts.slice(1) } };
    await jira.setProperty('OPS-1', 'opsbook.approval', other);
    expect(await jira.getProperty('OPS-1', 'opsbook.approval')).toEqual(other);
    expect(parts().every((k) => k.includes(parts()[0]!.split('.part.')[1]!.split('.')[0]!))).toBe(
      true,
    );
    // Data Center's values are JSON strings holding their JSON text, as its spec types them.
    for (const value of stored.values())
      expect(typeof value).toBe(flavour === 'cloud' ? 'object' : 'string');
    // A part changed by someone: refused, never half a value.
    const first = parts()[0]!;
    stored.set(first, wire({ text: 'x' }));
    await expect(jira.getProperty('OPS-1', 'opsbook.approval')).rejects.toMatchObject({
      code: 'TRACKER_PROPERTY_INCOMPLETE',
    });
    await jira.deleteProperty('OPS-1', 'opsbook.approval');
    expect([...stored.keys()]).toEqual([]);
  });

  it('keeps a property whole while the body it is sent as holds 32,000 bytes, in parts past that', async () => {
    await jira.create({ summary: 'property at the limit' });
    // Quotes and backslashes: Data Center's body, a JSON string holding the JSON text, escapes
    // them again, so the same value weighs more there than on Cloud.
    const bodyBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(wire(v)));
    const sized = (bytes: number) => {
      const v = { s: '"\\ü'.repeat(2000), pad: '' };
      v.pad = 'a'.repeat(bytes - bodyBytes(v));
      expect(bodyBytes(v)).toBe(bytes);
      return v;
    };
    const stored = fake.issue('OPS-1')!.properties;
    const parts = () => [...stored.keys()].filter((k) => k.includes('.part.'));
    const whole = sized(32_000);
    await jira.setProperty('OPS-1', 'opsbook.limit', whole);
    expect(parts()).toEqual([]);
    expect(unwire(stored.get('opsbook.limit'))).toEqual(whole);
    const over = sized(32_001);
    await jira.setProperty('OPS-1', 'opsbook.limit', over);
    expect(parts().length).toBeGreaterThan(1);
    expect(await jira.getProperty('OPS-1', 'opsbook.limit')).toEqual(over);
  });

  it('never cuts a property part inside a character: each part is text a Java Jira stores as sent', async () => {
    await jira.create({ summary: 'emoji at a part boundary' });
    // {"s":" is 6 characters: the first emoji's two UTF-16 halves sit at 7,499 and 7,500, where
    // a part of 7,500 characters ends. A lone half is not text: Jira's store would mangle it.
    const value = { s: `${'a'.repeat(7493)}${'\u{1F600}'.repeat(7000)}` };
    await jira.setProperty('OPS-1', 'opsbook.approval', value);
    const stored = fake.issue('OPS-1')!.properties;
    const parts = [...stored.entries()].filter(([k]) => k.includes('.part.'));
    expect(parts.length).toBeGreaterThan(2);
    const loneHalf = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const [, part] of parts)
      expect((unwire(part) as { text: string }).text).not.toMatch(loneHalf);
    expect(await jira.getProperty('OPS-1', 'opsbook.approval')).toEqual(value);
  });

  it("shortens a comment and a description past Jira's 32,767 characters, saying what it cut", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [`web${i}`, 'ok']);
    const long: Doc = {
      blocks: [
        { type: 'heading', level: 4, text: 'Result' },
        { type: 'table', header: ['host', 'result'], rows },
        { type: 'code', text: 'x'.repeat(60_000) },
      ],
    };
    await jira.create({
      summary: `${'s'.repeat(300)} end`,
      description: long,
      labels: ['two words'],
    });
    await jira.comment('OPS-1', long);
    const issue = fake.issue('OPS-1')!;
    expect(issue.summary.length).toBeLessThan(255);
    expect(issue.labels).toEqual(['two-words']);
    for (const body of [issue.description, issue.comments[0]!.body]) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      expect(text.length).toBeLessThanOrEqual(32_767);
      expect(text).toMatch(/web0\b/);
      const cutRows = Number(/… ([\d,]+) more rows cut/.exec(text)![1]!.replaceAll(',', ''));
      const keptRows = (text.match(/web\d+/g) ?? []).length;
      expect(keptRows + cutRows).toBe(2000);
      expect(text).toMatch(/more characters cut/);
      expect(text).toContain("shortened to fit the tracker's limit");
    }
  });

  it("creates in the project's issue type with its required fields (tracker.jira.issueType, fields), without labels a create screen lacks", async () => {
    const strict = await startJiraFake({
      flavour,
      basePath,
      requiredFields: ['customfield_10010'],
      labelsOnCreateScreen: false,
    });
    try {
      const bare = createJiraTracker({ project: 'OPS', flavour }, strict.env);
      await expect(bare.create({ summary: 'no team', labels: ['opsbook'] })).rejects.toMatchObject({
        code: 'TRACKER_REQUEST_REJECTED',
        message: expect.stringContaining('tracker.jira.fields'),
      });
      const configured = createJiraTracker(
        {
          project: 'OPS',
          flavour,
          issueType: 'Incident',
          fields: { customfield_10010: { value: 'ops' } },
        },
        strict.env,
      );
      const ref = await configured.create({ summary: 'with team', labels: ['opsbook'] });
      const issue = strict.issue(ref.key)!;
      expect(issue.issueType).toBe('Incident');
      expect(issue.labels).toEqual([]);
      expect(issue.otherFields).toEqual({ customfield_10010: { value: 'ops' } });
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('adds remote links idempotently by globalId', async () => {
    await jira.create({ summary: 'links' });
    const link = {
      globalId: 'opsbook:run:42',
      url: 'https://ops.example/runs/42',
      title: 'opsbook run 42',
    };
    await jira.addRemoteLink('OPS-1', link);
    await jira.addRemoteLink('OPS-1', { ...link, summary: 'finished: 3/3 ok' });
    expect(await jira.remoteLinks('OPS-1')).toEqual([{ ...link, summary: 'finished: 3/3 ok' }]);
  });

  it('finds an earlier delivery of a create and a comment by their delivery ids', async () => {
    await jira.create({ summary: 'Backup of db-3 failed' }, { deliveryId: 'd-create-1' });
    await jira.comment('OPS-1', textDoc('backup log attached'), { deliveryId: 'd-comment-1' });
    expect(
      await jira.findDelivered({
        kind: 'create',
        deliveryId: 'd-create-1',
        summary: 'Backup of db-3 failed',
      }),
    ).toBe('OPS-1');
    expect(
      await jira.findDelivered({
        kind: 'create',
        deliveryId: 'other',
        summary: 'Backup of db-3 failed',
      }),
    ).toBeUndefined();
    expect(
      await jira.findDelivered({ kind: 'comment', deliveryId: 'd-comment-1', key: 'OPS-1' }),
    ).toBeDefined();
    expect(
      await jira.findDelivered({ kind: 'comment', deliveryId: 'other', key: 'OPS-1' }),
    ).toBeUndefined();
  });

  it('looks at every comment made since the write was queued, not only the newest 20, where the list ignores expand=properties', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const strict = await startJiraFake({
      flavour,
      basePath,
      expandsCommentProperties: false,
      now: () => now,
    });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, strict.env);
      await client.create({ summary: 'busy alert ticket' });
      await client.comment('OPS-1', textDoc('old'), { deliveryId: 'd-old' });
      // Two days later the write is queued and reaches Jira; 30 comments follow it.
      now = new Date('2026-12-03T10:00:00Z');
      const queuedAt = now.toISOString();
      const { id } = await client.comment('OPS-1', textDoc('lost answer'), { deliveryId: 'd-1' });
      for (let i = 0; i < 30; i++) {
        now = new Date(now.getTime() + 60_000);
        await client.comment('OPS-1', textDoc(`alert batch ${i}`));
      }
      const probe = { kind: 'comment', deliveryId: 'd-1', key: 'OPS-1' } as const;
      expect(await client.findDelivered({ ...probe, since: queuedAt })).toBe(id);
      // Without the time it was queued, only the newest 20 are looked at.
      expect(await client.findDelivered(probe)).toBeUndefined();
      // A comment made well before the write was queued is not read for it.
      const reads = () =>
        strict
          .requests()
          .filter((r) => r.path.includes('/comment/') && r.path.includes('/properties/')).length;
      const before = reads();
      expect(
        await client.findDelivered({ ...probe, deliveryId: 'd-old', since: queuedAt }),
      ).toBeUndefined();
      expect(reads() - before).toBe(31);
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it('finds a create queued more than 7 days before it is probed, by the day it was queued', async () => {
    let now = new Date('2026-11-20T23:30:00Z');
    const clocked = await startJiraFake({ flavour, basePath, now: () => now });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, clocked.env);
      const queuedAt = now.toISOString();
      const summary = 'Backup of db-3 failed OR stalled';
      const ref = await client.create({ summary }, { deliveryId: 'd-late' });
      now = new Date('2026-12-02T08:00:00Z');
      const probe = { kind: 'create', deliveryId: 'd-late', summary } as const;
      // 11 days later: outside the last 7 days, which the probe searched before.
      expect(await client.findDelivered({ ...probe, since: queuedAt })).toBe(ref.key);
      expect(clocked.violations()).toEqual([]);
    } finally {
      await clocked.close();
    }
  });

  it("finds a comment's delivery id through its own property where the list ignores expand=properties (not in the spec)", async () => {
    const strict = await startJiraFake({ flavour, basePath, expandsCommentProperties: false });
    try {
      const client = createJiraTracker({ project: 'OPS', flavour }, strict.env);
      await client.create({ summary: 'comments' });
      await client.comment('OPS-1', textDoc('first'));
      const { id } = await client.comment('OPS-1', textDoc('second'), { deliveryId: 'd-2' });
      await client.comment('OPS-1', textDoc('third'));
      expect(await client.findDelivered({ kind: 'comment', deliveryId: 'd-2', key: 'OPS-1' })).toBe(
        id,
      );
      expect(
        await client.findDelivered({ kind: 'comment', deliveryId: 'other', key: 'OPS-1' }),
      ).toBeUndefined();
      expect(
        strict
          .requests()
          .filter((r) => r.path.includes('/comment/') && r.path.includes('/properties/')),
      ).not.toHaveLength(0);
      expect(strict.violations()).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
