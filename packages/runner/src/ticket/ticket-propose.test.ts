import { docText } from '@opsbook/tracker';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../plan/plan.js';
import { planComment } from './ticket-propose.js';

/** A one-host, one-step plan: what planComment reads of it. */
function planWith(params: Record<string, unknown>, command: string): Plan {
  const none: never[] = [];
  return {
    runbook: { name: 'note', version: '1.0.0' },
    category: 'change',
    grade: 'P3',
    params,
    secretParams: [],
    hosts: [
      {
        name: 'web-01',
        connection: { transport: 'ssh', address: '10.0.0.1' },
        phases: {
          prechecks: none,
          steps: [{ id: 'say', name: 'Say it', command }],
          postchecks: none,
          rollback: none,
          evidence: none,
        },
      },
    ],
  } as unknown as Plan;
}

describe('the proposal comment a senior reads', () => {
  it('writes a param holding a zero-width or format character as its JSON escape, and flags a command that holds one', () => {
    const doc = planComment(
      planWith({ note: 'rm -rf /srv/app\u200b/cache', tag: 'x\u2060\u{e0041}' }, "echo 'a\u200bb'"),
      'sha256:00',
      'id',
      [],
    );
    const text = docText(doc);
    expect(text).toContain(String.raw`note="rm -rf /srv/app\u200b/cache"`);
    expect(text).toContain(String.raw`tag="x\u2060\udb40\udc41"`);
    // The command stays exact (it is what runs); a comment line under it names what hides in it.
    expect(text).toContain("echo 'a\u200bb'\n# holds invisible characters (U+200B)");
    expect(text.replace("echo 'a\u200bb'", '')).not.toMatch(/[\u200b\u2060]/u);
  });
});
