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

  it('tell a transition field opsbook sent that is not on the screen from one the move lacks', () => {
    const move = {
      action: 'move OPS-1 to "Done"',
      ticket: 'OPS-1',
      permission: 'Transition Issues',
      transition: { role: 'done', sent: ['resolution'] },
    };
    const body = {
      errorMessages: [],
      errors: {
        resolution:
          "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown.",
        customfield_10010: 'Team is required.',
      },
    };
    const error = jiraFailure(move, { ...facts, status: 400, body });
    expect(error).toMatchObject({
      code: 'TRACKER_REQUEST_REJECTED',
      details: { fields: ['resolution', 'customfield_10010'], retryable: false },
    });
    expect(error.message).toContain(
      ": opsbook sent resolution from tracker.jira.transitionFields.done, and the transition's screen does not have it (a move without a screen takes no fields; a post-function may set the resolution); remove it from tracker.jira.transitionFields.done in opsbook.yaml; the move needs customfield_10010 on the transition's screen: set it in opsbook.yaml under tracker.jira.transitionFields.done (e.g. resolution: {name: Done}).",
    );
    expect(error.message).not.toContain('set tracker.jira.transitionFields.done.resolution');
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
