import { describe, expect, it } from 'vitest';
import { jiraFailure, networkFailure } from './jira-errors.js';

const token = 'ATATT3xFfGF0-secret-token';
const facts = {
  url: 'https://x.atlassian.net/rest/api/3/issue/OPS-1',
  attempts: 1,
  credentialHint: 'JIRA_EMAIL and JIRA_API_TOKEN',
  secrets: [token],
};
const ctx = { action: 'read OPS-1', ticket: 'OPS-1', permission: 'Browse Projects' };

describe('Jira failure sentences', () => {
  it('never repeat a token that Jira echoes back in its error body', () => {
    const body = {
      errorMessages: [`Bad token ${token}`, `or ${encodeURIComponent(token)}`],
      errors: { auth: token },
    };
    for (const status of [400, 401, 403, 404, 500]) {
      const error = jiraFailure(ctx, { ...facts, status, body });
      expect(error.message).not.toContain(token);
      expect(JSON.stringify(error.details)).not.toContain(token);
    }
  });

  it('never repeat a token found in a network error', () => {
    const cause = Object.assign(new Error(`connect failed for ${token}`), { code: 'ECONNRESET' });
    expect(networkFailure(ctx, facts, cause, false, 1000).message).not.toContain(token);
  });

  it('tolerate empty and non-JSON error bodies', () => {
    expect(jiraFailure(ctx, { ...facts, status: 404, body: undefined }).code).toBe(
      'TRACKER_TICKET_NOT_FOUND',
    );
    expect(
      jiraFailure(ctx, { ...facts, status: 502, body: '<html>Bad gateway</html>' }).message,
    ).toContain('failed with 502');
  });
});
