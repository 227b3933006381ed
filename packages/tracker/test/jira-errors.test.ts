import { FAKE_CREDENTIALS, type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJiraTracker, textDoc } from '../src/index.js';

const secrets = [FAKE_CREDENTIALS.apiToken, FAKE_CREDENTIALS.pat, 'wrong-token-Zz9'];

function expectNoSecret(error: unknown): void {
  const text = `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details ?? {})}`;
  for (const s of secrets) expect(text).not.toContain(s);
}

describe.each(['cloud', 'datacenter'] as const)(
  'Jira %s refusals read as one sentence with the URL, the ticket and the fix',
  (flavour) => {
    let fake: JiraFake;

    beforeEach(async () => {
      fake = await startJiraFake({ flavour });
    });

    afterEach(async () => {
      await fake.closeExpectingNone();
    });

    it('names the rejected credential without printing the token', async () => {
      const env =
        flavour === 'cloud'
          ? { ...fake.env, JIRA_API_TOKEN: 'wrong-token-Zz9' }
          : { ...fake.env, JIRA_PAT: 'wrong-token-Zz9' };
      const error = await createJiraTracker({ project: 'OPS', flavour }, env)
        .get('OPS-7')
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_AUTH_REJECTED',
        details: { ticket: 'OPS-7', status: 401 },
      });
      const hint = flavour === 'cloud' ? 'JIRA_EMAIL and JIRA_API_TOKEN' : 'JIRA_PAT';
      const api = flavour === 'cloud' ? 3 : 2;
      expect((error as Error).message).toBe(
        `Jira at ${fake.baseUrl}/rest/api/${api}/issue/OPS-7 rejected the credentials (401) when trying to read OPS-7 (Jira says: You are not authenticated. Authentication required to perform this operation.): check ${hint}; a token that expired or was revoked gives this too.`,
      );
      expectNoSecret(error);
    });

    it('says an unknown ticket is unknown and how to fix it', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      const error = await jira.comment('OPS-404', textDoc('hello')).catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'refused',
        code: 'TRACKER_TICKET_NOT_FOUND',
        details: { ticket: 'OPS-404', retryable: false },
      });
      expect((error as Error).message).toContain(
        `has no ticket OPS-404 visible to this account (404): check the key`,
      );
      expect((error as Error).message).toContain(fake.baseUrl);
    });

    it('says an unknown project is unknown and names the config key', async () => {
      const jira = createJiraTracker({ project: 'NOPE', flavour }, fake.env);
      const error = await jira.create({ summary: 'x' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ kind: 'unreachable', code: 'TRACKER_PROJECT_UNKNOWN' });
      expect((error as Error).message).toContain('does not accept project NOPE');
      expect((error as Error).message).toContain('set tracker.jira.project');
    });

    it('names the missing permission on a 403', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      fake.inject({ fault: { kind: 'status', status: 403 }, method: 'post', path: '/comment' });
      const error = await jira.comment('OPS-1', textDoc('hello')).catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_FORBIDDEN',
        details: { ticket: 'OPS-1' },
      });
      expect((error as Error).message).toContain(
        'ask a Jira admin for the "Add Comments" permission',
      );
    });

    it('says a 413 is a size or count limit of the site or the ticket, not a field to correct', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      fake.inject({ fault: { kind: 'status', status: 413 }, method: 'post', path: '/attachments' });
      const error = await jira
        .attach('OPS-1', { filename: 'run.journal.jsonl', bytes: Buffer.from('{}\n') })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TRACKER_REQUEST_REJECTED',
        details: { ticket: 'OPS-1' },
      });
      const message = (error as Error).message;
      expect(message).toContain('too large (413)');
      expect(message).toContain("the site's attachment size limit");
      expect(message).not.toContain('a field the project requires');
    });

    it('says a sign-in page or proxy answering 200 instead of Jira is not Jira, naming the base URL to check', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      fake.inject({
        fault: {
          kind: 'status',
          status: 200,
          raw: '<!DOCTYPE html><html><head><title>Sign in - Example SSO</title></head><body>…</body></html>',
        },
        method: 'get',
      });
      const error = await jira.get('OPS-1').catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_NOT_JIRA',
        details: { ticket: 'OPS-1', status: 200, retryable: false },
      });
      expect((error as Error).message).toBe(
        `${fake.baseUrl}${jira.issuePath('OPS-1')} answered 200 with text/html ("Sign in - Example SSO"), not Jira's JSON, when trying to read OPS-1: check that JIRA_BASE_URL is Jira's own address (a proxy or a sign-in page answered), and its path prefix.`,
      );
    });

    it('says where a redirect points instead of following it, and does not retry it', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      fake.inject({
        fault: {
          kind: 'status',
          status: 302,
          raw: '',
          location: 'https://sso.example.com/login?return=%2Fbrowse%2FOPS-1',
        },
        method: 'get',
      });
      const error = await jira.get('OPS-1').catch((e: unknown) => e);
      expect(error).toMatchObject({
        kind: 'unreachable',
        code: 'TRACKER_NOT_JIRA',
        details: { ticket: 'OPS-1', status: 302, retryable: false },
      });
      expect((error as Error).message).toBe(
        `${fake.baseUrl}${jira.issuePath('OPS-1')} answered 302 with a redirect to https://sso.example.com/login?return=%2Fbrowse%2FOPS-1, not Jira's JSON, when trying to read OPS-1: check that JIRA_BASE_URL is Jira's own address (a proxy or a sign-in page answered), and its path prefix.`,
      );
      expect(fake.requests().filter((r) => r.status === 302)).toHaveLength(1);
    });

    it("quotes a proxy's plain-text or HTML error in its own words, never its markup", async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      fake.inject({
        fault: {
          kind: 'status',
          status: 403,
          raw: 'XSRF check failed\n',
          contentType: 'text/plain',
        },
        method: 'post',
        path: '/comment',
      });
      const xsrf = await jira.comment('OPS-1', textDoc('hello')).catch((e: unknown) => e);
      expect(xsrf).toMatchObject({ code: 'TRACKER_FORBIDDEN', details: { status: 403 } });
      expect((xsrf as Error).message).toContain('(403) (Jira says: XSRF check failed):');
      fake.inject({
        fault: {
          kind: 'status',
          status: 400,
          raw: '<html><head><title>400 Bad Request</title></head><body><h1>nginx</h1></body></html>',
        },
        method: 'put',
      });
      const proxied = await jira.assign('OPS-1', 'someone').catch((e: unknown) => e);
      expect(proxied).toMatchObject({ code: 'TRACKER_REQUEST_REJECTED', details: { status: 400 } });
      expect((proxied as Error).message).toContain('(400) (Jira says: 400 Bad Request):');
      expect((proxied as Error).message).not.toContain('<');
    });

    it('says an assign refused for the permission is the permission, also where Data Center answers 401', async () => {
      const denied = await startJiraFake({ flavour, canAssign: false });
      try {
        const jira = createJiraTracker({ project: 'OPS', flavour }, denied.env);
        await jira.create({ summary: 'x' });
        const someone = flavour === 'cloud' ? denied.users[1]!.accountId : denied.users[1]!.name;
        const error = await jira.assign('OPS-1', someone).catch((e: unknown) => e);
        expect(error).toMatchObject({
          kind: 'unreachable',
          code: 'TRACKER_FORBIDDEN',
          details: { ticket: 'OPS-1', retryable: false },
        });
        const message = (error as Error).message;
        expect(message).toContain(`does not let this account assign OPS-1 to ${someone}`);
        expect(message).toContain('ask a Jira admin for the "Assign Issues" permission');
        expect(message).not.toContain('rejected the credentials');
        expect(denied.violations()).toEqual([]);
      } finally {
        await denied.close();
      }
    });

    it("says an assignee Data Center answers 404 for is the person's account, not a missing ticket", async () => {
      const strict = await startJiraFake({ flavour, unknownAssigneeStatus: 404 });
      try {
        const jira = createJiraTracker({ project: 'OPS', flavour }, strict.env);
        await jira.create({ summary: 'x' });
        const error = await jira.assign('OPS-1', 'no-such-person').catch((e: unknown) => e);
        expect(error).toMatchObject({
          kind: 'refused',
          code: 'TRACKER_REQUEST_REJECTED',
          details: { ticket: 'OPS-1', retryable: false },
        });
        const message = (error as Error).message;
        expect(message).toContain('assign OPS-1 to no-such-person');
        expect(message).toContain("the person's jira: account in approvers.yaml");
        expect(message).not.toContain('has no ticket');
        await expect(jira.assign('OPS-9', 'no-such-person')).rejects.toMatchObject({
          code: 'TRACKER_TICKET_NOT_FOUND',
        });
        expect(strict.violations()).toEqual([]);
      } finally {
        await strict.close();
      }
    });

    it('says a file over the attachment size limit is too large, also where Data Center answers 404', async () => {
      const limited = await startJiraFake({ flavour, maxAttachmentBytes: 8 });
      try {
        const jira = createJiraTracker({ project: 'OPS', flavour }, limited.env);
        await jira.create({ summary: 'x' });
        const file = { filename: 'run.journal.jsonl', bytes: Buffer.from('{"a":1}\n{"b":2}\n') };
        const error = await jira.attach('OPS-1', file).catch((e: unknown) => e);
        expect(error).toMatchObject({
          kind: 'refused',
          code: 'TRACKER_REQUEST_REJECTED',
          details: { ticket: 'OPS-1', retryable: false },
        });
        const message = (error as Error).message;
        expect(message).toContain('attach run.journal.jsonl to OPS-1 as too large');
        expect(message).toContain("the site's attachment size limit");
        expect(message).not.toContain('has no ticket');
        await expect(jira.attach('OPS-9', file)).rejects.toMatchObject({
          code: 'TRACKER_TICKET_NOT_FOUND',
        });
        expect(limited.violations()).toEqual([]);
      } finally {
        await limited.close();
      }
    });

    it('says who cannot be assigned and where their account is set', async () => {
      const jira = createJiraTracker({ project: 'OPS', flavour }, fake.env);
      await jira.create({ summary: 'x' });
      const error = await jira.assign('OPS-1', 'no-such-person').catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'TRACKER_REQUEST_REJECTED',
        details: { ticket: 'OPS-1' },
      });
      const message = (error as Error).message;
      expect(message).toContain('assign OPS-1 to no-such-person');
      expect(message).toContain("the person's jira: account in approvers.yaml");
      expect(message).toContain('Assignable User');
      expect(message).not.toContain('a field the project requires');
    });
  },
);

describe('Jira connection settings', () => {
  it('refuses a base URL that carries credentials, without repeating them', () => {
    const error = (() => {
      try {
        createJiraTracker(
          { project: 'OPS' },
          {
            JIRA_BASE_URL: 'https://me:wrong-token-Zz9@example.atlassian.net',
            JIRA_EMAIL: 'a@b.c',
            JIRA_API_TOKEN: 't0k3n-abc',
          },
        );
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'USAGE' });
    expectNoSecret(error);
  });

  it('refuses to send a token over plain http to a non-loopback host', () => {
    expect(() =>
      createJiraTracker(
        { project: 'OPS' },
        { JIRA_BASE_URL: 'http://jira.example.com', JIRA_PAT: 'p4t-123456' },
      ),
    ).toThrow(/is not https/);
  });

  it('says which variables to set when no credentials are given', () => {
    expect(() =>
      createJiraTracker({ project: 'OPS', baseUrl: 'https://example.atlassian.net' }, {}),
    ).toThrow(
      'no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center) in the environment',
    );
  });

  it('reads the flavour from the credential when the config does not say', () => {
    const dc = createJiraTracker(
      { project: 'OPS' },
      { JIRA_BASE_URL: 'https://jira.corp.example/jira/', JIRA_PAT: 'p4t-123456' },
    );
    expect(dc.http.connection).toMatchObject({
      flavour: 'datacenter',
      baseUrl: 'https://jira.corp.example/jira',
      authorization: 'Bearer p4t-123456',
    });
    const cloud = createJiraTracker(
      { project: 'OPS', email: 'me@example.com' },
      { JIRA_BASE_URL: 'https://x.atlassian.net', JIRA_API_TOKEN: 'tok-1234' },
    );
    expect(cloud.http.connection.flavour).toBe('cloud');
  });
});
