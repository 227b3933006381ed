import { describe, expect, it } from 'vitest';
import { lockHolderText } from './lock-holders-text.js';

describe('lockHolderText', () => {
  it("keeps a role's and an application's name on its line: whoever connected chose them", () => {
    const text = lockHolderText(
      {
        pid: 4242,
        isGranted: true,
        user: 'audit\nzone dc1: this worker took its zone lease',
        application: 'psql\u2028\u001b[2J',
        client: 'local',
        connectedSince: '2026-12-06T06:35:53.339Z',
        state: 'idle',
      },
      'it',
    );
    expect(text).not.toMatch(/[\n\u2028\u001b]/);
    expect(text).toContain('user audit\\x0azone dc1: this worker took its zone lease');
    expect(text).toContain("application 'psql\\u2028\\x1b[2J'");
  });
});
