import { describe, expect, it } from 'vitest';
import { interruptedRunNextText } from './interrupted-run-next.js';

type Outcome = Parameters<typeof interruptedRunNextText>[0];

const outcome = (status: string, hosts: string[], end?: Record<string, unknown>): Outcome =>
  ({
    runId: 'R1',
    status,
    result: { hosts: hosts.map((s, i) => ({ host: `h${i + 1}`, status: s })) },
    ...(end
      ? { ticket: { start: {}, end: { ticket: 'OPS-1', pending: [], failed: [], ...end } } }
      : {}),
  }) as unknown as Outcome;

describe('interruptedRunNextText', () => {
  it('says nothing of a run that was not interrupted (its own next step stands)', () => {
    expect(interruptedRunNextText(outcome('ok', ['ok'], { movedTo: 'In Review' }))).toBeUndefined();
    expect(interruptedRunNextText(outcome('failed', ['failed']))).toBeUndefined();
  });

  it('names the hosts left, and the ticket a run with runs left keeps In Progress', () => {
    expect(
      interruptedRunNextText(outcome('interrupted', ['ok', 'cancelled', 'not-started'], {})),
    ).toBe(
      'next: run R1 was interrupted: 2 of 3 host(s) did not end ok (h2 cancelled, h3 not-started): check them (opsbook runs show R1 says what each one ran and where it stopped); OPS-1 stays where it was, its comment saying the run was interrupted and how each host ended',
    );
  });

  it('does not say what the ticket shows while its writes wait in the outbox', () => {
    const text = interruptedRunNextText(
      outcome('interrupted', ['cancelled'], { movedTo: 'In Review', pending: [{ id: 'a' }] }),
    );
    expect(text).toContain('OPS-1 is not told all of it yet (above)');
    expect(text).not.toContain('In Review');
  });

  it('lists five hosts and counts the rest', () => {
    const text = interruptedRunNextText(outcome('interrupted', Array(7).fill('cancelled')));
    expect(text).toContain(
      '7 of 7 host(s) did not end ok (h1 cancelled, h2 cancelled, h3 cancelled, h4 cancelled, h5 cancelled and 2 more)',
    );
  });
});
