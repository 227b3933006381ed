import { describe, expect, it } from 'vitest';
import type { Grade, GradeDecision, Incident } from './incident.js';
import { type RecordedSubject, recordedRegrades, regradeSubject } from './regrade.js';

const by = { id: 'sam', name: 'Sam Senior', fingerprint: 'SHA256:abc' };
const proof = { keyid: 'SHA256:abc', sshsig: 'SIG' };

function incidentWith(regrades: GradeDecision[], key?: string, id = 'INC-2'): Incident {
  return {
    id,
    grade: regrades.at(-1) ?? { grade: 'P1', reason: 'rule 1', at: '2026-12-05T07:00:00Z' },
    regrades,
    ticket: { deliveryId: 'd-2', attempted: Boolean(key), ...(key ? { key } : {}) },
  } as Incident;
}

/** Re-grades `incident` as `alerts grade` does: signed (here: made) on its subject as it stands. */
function regraded(incident: Incident, grade: Grade, at: string): Incident {
  const decision = { ...regradeSubject(incident), grade, reason: 'x', at, by, proof };
  return { ...incident, grade: decision, regrades: [...incident.regrades, decision] };
}

/** What the runner's check asks of the subject: each field of `about` is the decision's. */
function carries(d: GradeDecision, about: RecordedSubject): boolean {
  const fields: Record<string, unknown> = { ...d };
  return Object.entries(about).every(([k, v]) => fields[k] === v);
}

const unproven = (incident: Incident) =>
  recordedRegrades(incident)
    .filter(({ decision, about }) => !carries(decision, about))
    .map(({ decision }) => `${decision.grade} ${decision.at}`);

describe("a senior's re-grade's subject", () => {
  it('is the incident as it stands: its id, its ticket once made, the grade in force, the last re-grade', () => {
    expect(regradeSubject(incidentWith([]))).toStrictEqual({
      kind: 'alert-regrade',
      incident: 'INC-2',
      from: 'P1',
    });
    const once = regraded(incidentWith([], 'OPS-2'), 'P3', '2026-12-05T08:00:00Z');
    expect(regradeSubject(once)).toStrictEqual({
      kind: 'alert-regrade',
      incident: 'INC-2',
      ticket: 'OPS-2',
      from: 'P3',
      after: '2026-12-05T08:00:00Z',
    });
  });

  it('proves re-grades only where they were made: not copied to another incident or replayed later', () => {
    // Before the ticket, then with it: both stay proven once the incident has its ticket.
    let inc = regraded(incidentWith([]), 'P3', '2026-12-05T08:00:00Z');
    inc = { ...inc, ticket: { ...inc.ticket, key: 'OPS-2' } };
    inc = regraded(inc, 'P1', '2026-12-05T09:00:00Z');
    expect(recordedRegrades(inc)).toHaveLength(3); // two re-grades and the grade in force
    expect(unproven(inc)).toEqual([]);
    // INC-2's first re-grade replayed after the second: the same from (P1), another predecessor.
    const first = inc.regrades[0]!;
    expect(unproven({ ...inc, grade: first, regrades: [...inc.regrades, first] })).toEqual([
      'P3 2026-12-05T08:00:00Z',
      'P3 2026-12-05T08:00:00Z',
    ]);
    // The grade in force set to an earlier re-grade than the last.
    expect(unproven({ ...inc, grade: first })).toEqual(['P3 2026-12-05T08:00:00Z']);
    // Copied onto INC-3, or onto another ticket.
    const other = incidentWith([first], undefined, 'INC-3');
    expect(unproven(other)).toEqual(['P3 2026-12-05T08:00:00Z', 'P3 2026-12-05T08:00:00Z']);
    const second = inc.regrades[1]!;
    expect(unproven({ ...inc, ticket: { ...inc.ticket, key: 'OPS-9' } })).toEqual([
      'P1 2026-12-05T09:00:00Z',
      'P1 2026-12-05T09:00:00Z',
    ]);
    // A decision naming a ticket, on an incident without one, matches no ticket.
    const { after: _after, ...firstPlace } = second;
    expect(unproven(incidentWith([{ ...firstPlace, from: 'P1' }]))).toHaveLength(2);
    // An older opsbook's re-grade: no subject at all.
    const older = { grade: 'P4' as const, reason: 'x', at: '2026-12-05T08:00:00Z', by, proof };
    expect(unproven(incidentWith([older]))).toHaveLength(2);
  });
});
