import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type JiraFake, startJiraFake } from './jira-fake.js';

let fake: JiraFake | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function call(
  f: JiraFake,
  method: string,
  path: string,
  init: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
) {
  const auth =
    f.flavour === 'cloud'
      ? `Basic ${Buffer.from(`${f.env.JIRA_EMAIL}:${f.env.JIRA_API_TOKEN}`).toString('base64')}`
      : `Bearer ${f.env.JIRA_PAT}`;
  const headers: Record<string, string> = {
    Authorization: auth,
    Accept: 'application/json',
    ...init.headers,
  };
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  const res = await fetch(`${f.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, text: await res.text() };
}

describe('the Jira fake enforces the OpenAPI contract', () => {
  it('rejects a Data Center comment whose body is not a string, and records the violation', async () => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    fake.seed({ summary: 'x' });
    const res = await call(fake, 'POST', '/rest/api/2/issue/OPS-1/comment', {
      json: { body: { type: 'doc' } },
    });
    expect(res.status).toBe(400);
    expect(fake.violations()).toMatchObject([
      { method: 'post', path: '/rest/api/2/issue/OPS-1/comment', kind: 'request' },
    ]);
    expect(fake.violations()[0]?.problems).toContain('body/body must be string');
  });

  it('rejects a Cloud comment that is not valid ADF although the spec leaves the body untyped', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const res = await call(fake, 'POST', '/rest/api/3/issue/OPS-1/comment', {
      json: {
        body: {
          type: 'doc',
          version: 1,
          content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }],
        },
      },
    });
    expect(res.status).toBe(400);
    expect(fake.violations()[0]?.problems.some((p) => p.startsWith('ADF:'))).toBe(true);
    expect(fake.issue('OPS-1')?.comments).toEqual([]);
  });

  it('rejects ADF text marked both code and strong, which ADF does not allow (code takes a link only)', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const doc = (marks: unknown[]) => ({
      body: {
        type: 'doc',
        version: 1,
        content: [{ type: 'paragraph', content: [{ type: 'text', text: 'df -h', marks }] }],
      },
    });
    const path = '/rest/api/3/issue/OPS-1/comment';
    const link = { type: 'link', attrs: { href: 'https://ops.example/' } };
    expect((await call(fake, 'POST', path, { json: doc([{ type: 'code' }, link]) })).status).toBe(
      201,
    );
    expect((await call(fake, 'POST', path, { json: doc([{ type: 'strong' }, link]) })).status).toBe(
      201,
    );
    expect(fake.violations()).toEqual([]);
    await call(fake, 'POST', path, { json: doc([{ type: 'strong' }, { type: 'code' }]) });
    expect(fake.violations().flatMap((v) => v.problems)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/content\/0\/content\/0\/marks must NOT be valid$/),
      ]),
    );
  });

  it('rejects a read-only property sent by a client (Comment.author)', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const body = {
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'hi' }] }],
    };
    const res = await call(fake, 'POST', '/rest/api/3/issue/OPS-1/comment', {
      json: { body, author: { accountId: 'x' } },
    });
    expect(res.status).toBe(400);
    expect(fake.violations()).toHaveLength(1);
  });

  it('rejects an attachment upload without X-Atlassian-Token: no-check', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const form = new FormData();
    form.append('file', new Blob(['hi']), 'a.txt');
    const res = await call(fake, 'POST', '/rest/api/3/issue/OPS-1/attachments', { body: form });
    expect(res.status).toBe(403);
    expect(fake.violations()[0]?.problems).toEqual([
      'attachments need the header X-Atlassian-Token: no-check',
    ]);
  });

  it('rejects a query parameter the operation does not declare and a missing required body', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    expect((await call(fake, 'GET', '/rest/api/3/issue/OPS-1?fieldz=summary')).status).toBe(400);
    expect((await call(fake, 'POST', '/rest/api/3/issue/OPS-1/transitions')).status).toBe(400);
    expect(fake.violations().map((v) => v.problems[0])).toEqual([
      'query parameter "fieldz" is not in the spec',
      'the request body is required',
    ]);
  });

  it.each(['cloud', 'datacenter'] as const)(
    "checks path parameters and headers too on '%s': a property key past 255 characters, an Accept without JSON",
    async (flavour) => {
      fake = await startJiraFake({ flavour });
      fake.seed({ summary: 'x' });
      const api = flavour === 'cloud' ? '/rest/api/3' : '/rest/api/2';
      const value = flavour === 'cloud' ? { a: 1 } : '{"a":1}';
      const longKey = `opsbook.${'k'.repeat(250)}`;
      const put = await call(fake, 'PUT', `${api}/issue/OPS-1/properties/${longKey}`, {
        json: value,
      });
      expect(put.status).toBe(400);
      const html = await call(fake, 'GET', `${api}/issue/OPS-1`, {
        headers: { Accept: 'text/html' },
      });
      expect(html.status).toBe(406);
      const fine = await call(fake, 'GET', `${api}/issue/OPS-1`, {
        headers: { Accept: 'application/json, text/plain;q=0.5' },
      });
      expect(fine.status).toBe(200);
      expect(fake.violations().map((v) => v.problems)).toEqual([
        ['path propertyKey must NOT have more than 255 characters'],
        [
          'header Accept "text/html" does not accept application/json, the only type the spec answers',
        ],
      ]);
    },
  );

  it("refuses a query parameter only an operation's text documents when told to check as published (DC expand on transitions)", async () => {
    const path = '/rest/api/2/issue/OPS-1/transitions?expand=transitions.fields';
    fake = await startJiraFake({ flavour: 'datacenter' });
    fake.seed({ summary: 'x' });
    expect((await call(fake, 'GET', path)).status).toBe(200);
    await fake.close();
    fake = await startJiraFake({ flavour: 'datacenter', queryAsPublished: true });
    fake.seed({ summary: 'x' });
    expect((await call(fake, 'GET', path)).status).toBe(400);
    expect(fake.violations().map((v) => v.problems)).toEqual([
      ['query parameter "expand" is not in the spec'],
    ]);
  });

  it("answers 400 to JQL holding a raw control character, as Jira's JQL lexer does, and reads its escapes", async () => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    fake.seed({ summary: 'x', labels: ['bug'] });
    const search = async (jql: string) =>
      call(fake!, 'GET', `/rest/api/2/search?jql=${encodeURIComponent(jql)}&fields=summary`);
    for (const raw of ['bug\n', 'bug\u001b[2J', 'b\tug', 'bug\u0085'])
      expect((await search(`project = "OPS" AND labels = "${raw}"`)).status).toBe(400);
    // Written as JQL's escapes (\t \n \r \uXXXX), the same characters are a value like any other.
    const escaped = await search('project = "OPS" AND labels = "\\u0062ug" AND summary ~ "x\\t"');
    expect(escaped.status).toBe(200);
    expect(JSON.parse(escaped.text).issues).toHaveLength(1);
    expect(
      JSON.parse((await search('project = "OPS" AND labels = "bug\\n"')).text).issues,
    ).toHaveLength(0);
  });

  it("answers Cloud's removed /search with 410 and flags the caller", async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    const res = await call(fake, 'GET', '/rest/api/3/search?jql=project%20%3D%20OPS');
    expect(res.status).toBe(410);
    expect(fake.violations()[0]?.kind).toBe('route');
  });

  it('asserts the Data Center minimums the spec leaves out (transition id)', async () => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    fake.seed({ summary: 'x' });
    const res = await call(fake, 'POST', '/rest/api/2/issue/OPS-1/transitions', {
      json: { transition: {} },
    });
    expect(res.status).toBe(400);
    expect(fake.violations()[0]?.problems).toEqual([
      "body/transition must have required property 'id'",
    ]);
  });

  it('answers 401 to wrong credentials, since the spec cannot enforce auth', async () => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    const res = await fetch(`${fake.baseUrl}/rest/api/2/myself`, {
      headers: { Authorization: 'Bearer nope' },
    });
    expect(res.status).toBe(401);
    expect(fake.violations()).toEqual([]);
  });

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    'edits an issue on $flavour: 204 without a body, the priority applied',
    async ({ flavour, api }) => {
      fake = await startJiraFake({ flavour });
      fake.seed({ summary: 'x' });
      const res = await call(fake, 'PUT', `${api}/issue/OPS-1`, {
        json: { fields: { priority: { name: 'High' } } },
      });
      expect(res).toEqual({ status: 204, text: '' });
      expect(fake.issue('OPS-1')?.priority).toBe('High');
      const read = await call(fake, 'GET', `${api}/issue/OPS-1?fields=priority`);
      expect(JSON.parse(read.text).fields.priority).toMatchObject({ name: 'High', id: '2' });
      expect(fake.violations()).toEqual([]);
    },
  );

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    'refuses on $flavour a priority the scheme lacks and a field not on the edit screen, changing nothing',
    async ({ flavour, api }) => {
      fake = await startJiraFake({ flavour, priorities: ['Critical', 'Major', 'Minor'] });
      fake.seed({ summary: 'x' });
      const bad = await call(fake, 'PUT', `${api}/issue/OPS-1`, {
        json: { fields: { priority: { name: 'High' }, summary: 'y' } },
      });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text)).toEqual({
        errorMessages: [],
        errors: { priority: 'The priority selected is invalid.' },
      });
      const hidden = await call(fake, 'PUT', `${api}/issue/OPS-1`, {
        json: { fields: { environment: 'prod' } },
      });
      expect(JSON.parse(hidden.text).errors).toEqual({
        environment:
          "Field 'environment' cannot be set. It is not on the appropriate screen, or unknown.",
      });
      expect(fake.issue('OPS-1')).toMatchObject({ summary: 'x' });
      expect(fake.issue('OPS-1')?.priority).toBeUndefined();
      expect(fake.violations()).toEqual([]);
    },
  );

  it('records an edit body the spec does not allow (fields not an object)', async () => {
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const res = await call(fake, 'PUT', '/rest/api/3/issue/OPS-1', { json: { fields: 'High' } });
    expect(res.status).toBe(400);
    expect(fake.violations()[0]?.problems).toEqual(['body/fields must be object']);
  });

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    "lists on $flavour a transition's screen fields with expand=transitions.fields, and takes only those",
    async ({ flavour, api }) => {
      fake = await startJiraFake({
        flavour,
        transitionRequires: { awaitingApproval: ['customfield_10020'] },
        transitionScreens: { awaitingApproval: ['resolution'] },
      });
      fake.seed({ summary: 'x' });
      const plain = JSON.parse((await call(fake, 'GET', `${api}/issue/OPS-1/transitions`)).text);
      expect(plain.transitions[0].fields).toBeUndefined();
      if (flavour === 'cloud') expect(plain.transitions[0].hasScreen).toBe(true);
      const expanded = JSON.parse(
        (await call(fake, 'GET', `${api}/issue/OPS-1/transitions?expand=transitions.fields`)).text,
      );
      const key = flavour === 'cloud' ? 'key' : 'fieldId';
      expect(expanded.transitions[0].fields).toMatchObject({
        customfield_10020: { required: true, [key]: 'customfield_10020', hasDefaultValue: false },
        resolution: { required: false, name: 'Resolution', schema: { type: 'resolution' } },
      });
      const move = (fields: Record<string, unknown>) =>
        call(fake!, 'POST', `${api}/issue/OPS-1/transitions`, {
          json: { transition: { id: '11' }, fields },
        });
      expect(JSON.parse((await move({ labels: ['x'] })).text).errors).toEqual({
        labels: "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown.",
        customfield_10020: 'customfield_10020 is required.',
      });
      expect(
        JSON.parse((await move({ customfield_10020: 'a', resolution: { name: 'Fixed' } })).text)
          .errors,
      ).toEqual({ resolution: "Could not find valid 'id' or 'name' in resolution object." });
      expect(fake.issue('OPS-1')?.status).toBe('open');
      expect((await move({ customfield_10020: 'a', resolution: { name: 'Done' } })).status).toBe(
        204,
      );
      expect(fake.issue('OPS-1')?.status).toBe('awaitingApproval');
      expect(fake.violations()).toEqual([]);
    },
  );

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    'refuses on $flavour any field of a transition without a screen, as Jira does',
    async ({ flavour, api }) => {
      fake = await startJiraFake({ flavour });
      fake.seed({ summary: 'x' });
      const expanded = JSON.parse(
        (await call(fake, 'GET', `${api}/issue/OPS-1/transitions?expand=transitions.fields`)).text,
      );
      expect(expanded.transitions[0].fields).toEqual({});
      if (flavour === 'cloud') expect(expanded.transitions[0].hasScreen).toBe(false);
      const res = await call(fake, 'POST', `${api}/issue/OPS-1/transitions`, {
        json: { transition: { id: '11' }, fields: { resolution: { name: 'Done' } } },
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toEqual({
        errorMessages: [],
        errors: {
          resolution:
            "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown.",
        },
      });
      expect(fake.issue('OPS-1')?.status).toBe('open');
      expect(fake.violations()).toEqual([]);
    },
  );

  it('ignores expand=transitions.fields when told to, as a Jira may', async () => {
    fake = await startJiraFake({
      flavour: 'datacenter',
      transitionRequires: { awaitingApproval: ['resolution'] },
      expandsTransitionFields: false,
    });
    fake.seed({ summary: 'x' });
    const res = await call(
      fake,
      'GET',
      '/rest/api/2/issue/OPS-1/transitions?expand=transitions.fields',
    );
    expect(JSON.parse(res.text).transitions[0].fields).toBeUndefined();
    expect(fake.violations()).toEqual([]);
  });

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    'lists no transition on $flavour to an account the workflow leaves out (permission, condition)',
    async ({ flavour, api }) => {
      fake = await startJiraFake({ flavour, transitionsOfferedTo: 'assignee' });
      fake.seed({ summary: 'x' });
      const list = async () =>
        JSON.parse((await call(fake!, 'GET', `${api}/issue/OPS-1/transitions`)).text).transitions;
      expect(await list()).toEqual([]);
      const refused = await call(fake, 'POST', `${api}/issue/OPS-1/transitions`, {
        json: { transition: { id: '11' } },
      });
      expect(refused.status).toBe(flavour === 'cloud' ? 400 : 500);
      fake.issue('OPS-1')!.assignee = fake.users[0]!;
      expect((await list()).map((t: { id: string }) => t.id)).toEqual(['11']);
      await fake.close();
      fake = await startJiraFake({ flavour, transitionsOfferedTo: 'nobody' });
      fake.seed({ summary: 'x' });
      fake.issue('OPS-1')!.assignee = fake.users[0]!;
      expect(await list()).toEqual([]);
      expect(fake.violations()).toEqual([]);
    },
  );

  it.each([
    { flavour: 'cloud' as const, api: '/rest/api/3' },
    { flavour: 'datacenter' as const, api: '/rest/api/2' },
  ])(
    'refuses on $flavour a priority when the create and edit screens lack Priority',
    async ({ flavour, api }) => {
      fake = await startJiraFake({ flavour, priorityOnScreen: false });
      const notOnScreen = {
        errorMessages: [],
        errors: {
          priority:
            "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown.",
        },
      };
      const create = await call(fake, 'POST', `${api}/issue`, {
        json: {
          fields: {
            project: { key: 'OPS' },
            issuetype: { name: 'Task' },
            summary: 'x',
            priority: { name: 'High' },
          },
        },
      });
      expect(create.status).toBe(400);
      expect(JSON.parse(create.text)).toEqual(notOnScreen);
      expect(fake.issues()).toEqual([]);
      fake.seed({ summary: 'x' });
      const edit = await call(fake, 'PUT', `${api}/issue/OPS-1`, {
        json: { fields: { priority: { name: 'High' } } },
      });
      expect(edit.status).toBe(400);
      expect(JSON.parse(edit.text)).toEqual(notOnScreen);
      expect(fake.issue('OPS-1')?.priority).toBeUndefined();
      expect(fake.violations()).toEqual([]);
    },
  );

  it('answers 400 to a blank comment, as Jira does: spaces (Data Center), an ADF document without text (Cloud)', async () => {
    fake = await startJiraFake({ flavour: 'datacenter' });
    fake.seed({ summary: 'x' });
    const dc = await call(fake, 'POST', '/rest/api/2/issue/OPS-1/comment', {
      json: { body: ' \n ' },
    });
    expect(dc).toMatchObject({ status: 400, text: expect.stringContaining('can not be empty') });
    await fake.close();
    fake = await startJiraFake({ flavour: 'cloud' });
    fake.seed({ summary: 'x' });
    const cloud = await call(fake, 'POST', '/rest/api/3/issue/OPS-1/comment', {
      json: { body: { type: 'doc', version: 1, content: [] } },
    });
    expect(cloud).toMatchObject({ status: 400, text: expect.stringContaining('can not be empty') });
    expect(fake.issue('OPS-1')?.comments).toEqual([]);
  });

  it.each([
    ['cloud', '/rest/api/3', { type: 'role', value: 'Developers', identifier: 'Developers' }],
    ['datacenter', '/rest/api/2', { type: 'group', value: 'jira-software-users' }],
  ] as const)(
    "keeps a %s comment's visibility and checks it against the spec",
    async (flavour, api, visibility) => {
      fake = await startJiraFake({ flavour });
      fake.seed({ summary: 'x' });
      const body =
        flavour === 'cloud'
          ? {
              type: 'doc',
              version: 1,
              content: [{ type: 'paragraph', content: [{ type: 'text', text: 'run output' }] }],
            }
          : 'run output';
      const made = await call(fake, 'POST', `${api}/issue/OPS-1/comment`, {
        json: { body, visibility },
      });
      expect(made.status).toBe(201);
      expect(JSON.parse(made.text)).toMatchObject({ visibility });
      const listed = await call(fake, 'GET', `${api}/issue/OPS-1/comment`);
      expect(JSON.parse(listed.text).comments[0]).toMatchObject({ visibility });
      expect(fake.violations()).toEqual([]);
      // A type the spec's enum lacks is refused and recorded.
      const wrong = await call(fake, 'POST', `${api}/issue/OPS-1/comment`, {
        json: { body, visibility: { type: 'team', value: 'ops' } },
      });
      expect(wrong.status).toBe(400);
      expect(fake.violations()).toMatchObject([{ kind: 'request' }]);
      expect(fake.violations()[0]?.problems.join(' ')).toMatch(/visibility\/type/);
    },
  );

  it("fails close() on a violation no test looked at, naming it; one read or cleared is the test's", async () => {
    const unread = await startJiraFake({ flavour: 'cloud' });
    unread.seed({ summary: 'x' });
    await call(unread, 'GET', '/rest/api/3/issue/OPS-1?nosuch=1');
    await expect(unread.close()).rejects.toThrow(
      /1 request\(s\) or response\(s\) the spec does not allow[\s\S]*request GET \/rest\/api\/3\/issue\/OPS-1: query parameter "nosuch" is not in the spec/,
    );
    const read = await startJiraFake({ flavour: 'cloud' });
    await call(read, 'GET', '/rest/api/3/issue/OPS-1?nosuch=1');
    expect(read.violations()).toHaveLength(1);
    await call(read, 'GET', '/rest/api/3/nosuch');
    await expect(read.close()).rejects.toThrow(
      /1 request\(s\)[\s\S]*route GET \/rest\/api\/3\/nosuch/,
    );
    const cleared = await startJiraFake({ flavour: 'cloud' });
    await call(cleared, 'GET', '/rest/api/3/issue/OPS-1?nosuch=1');
    cleared.clearViolations();
    await cleared.close();
  });

  it('fails closeExpectingNone() on every violation not cleared, read by the test or not', async () => {
    const read = await startJiraFake({ flavour: 'datacenter' });
    await call(read, 'GET', '/rest/api/2/issue/OPS-1?nosuch=1');
    expect(read.violations()).toHaveLength(1);
    await expect(read.closeExpectingNone()).rejects.toThrow(
      /1 request\(s\) or response\(s\) the spec does not allow[\s\S]*request GET \/rest\/api\/2\/issue\/OPS-1: query parameter "nosuch" is not in the spec/,
    );
    const cleared = await startJiraFake({ flavour: 'datacenter' });
    await call(cleared, 'GET', '/rest/api/2/issue/OPS-1?nosuch=1');
    cleared.clearViolations();
    await cleared.closeExpectingNone();
  });

  it('validates from the vendored JSON, which the overrides leave untouched', () => {
    const dc = JSON.parse(
      readFileSync(new URL('../../fixtures/jira-openapi/dc-v2.json', import.meta.url), 'utf8'),
    );
    expect(dc.components.schemas.IssueBean.properties.fields.additionalProperties).toMatchObject({
      type: 'object',
    });
  });
});
