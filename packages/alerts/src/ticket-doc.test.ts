import { describe, expect, it } from 'vitest';
import type { Incident } from './incident.js';
import { incidentTicket, proposeCommand, proposeComment } from './ticket-doc.js';

function incidentOn(hosts: string[], key?: string): Incident {
  return {
    id: 'INC-7',
    rule: 'cluster',
    keys: ['cluster=eu-1'],
    rulesVersion: 1,
    alerts: hosts.map((host, n) => ({
      fingerprint: `f${n}`,
      alertname: 'DiskFull',
      labels: { alertname: 'DiskFull', host },
      host,
      status: 'firing',
      startsAt: '2024-05-01T10:00:00Z',
      firstSeen: '2024-05-01T10:00:01Z',
      lastChange: '2024-05-01T10:00:01Z',
      fired: 1,
    })),
    grade: { grade: 'P2', reason: 'P2 by grading rule 1', at: '2024-05-01T10:00:01Z' },
    runbooks: [{ runbook: 'disk-cleanup', because: 'alertname=DiskFull' }],
    regrades: [],
    comments: [],
    ticket: { deliveryId: 'd', attempted: Boolean(key), ...(key ? { key } : {}) },
  } as unknown as Incident;
}

describe('the suggested ticket propose command', () => {
  it("names the ticket's key once it has one, and the affected hosts as --target", () => {
    expect(proposeCommand(incidentOn(['web-2', 'web-1', 'web-1'], 'OPS-1'), 'disk-cleanup')).toBe(
      'opsbook ticket propose OPS-1 --runbook disk-cleanup --target web-1,web-2 …',
    );
  });

  it('leaves the command out of the description, written before the tracker gives the key, and puts it in the comment with the key', () => {
    const incident = incidentOn(['db-3']);
    const doc = JSON.stringify(incidentTicket(incident).description);
    expect(doc).toContain('disk-cleanup');
    expect(doc).not.toContain('THIS-TICKET');
    expect(doc).not.toContain('opsbook ticket propose');
    expect(JSON.stringify(proposeComment(incident, 'OPS-9'))).toContain(
      'opsbook ticket propose OPS-9 --runbook disk-cleanup --target db-3 …',
    );
  });

  it("never pastes a sender's host label that is not a plain name (a glob, a shell's ; or quote)", () => {
    for (const host of ['web-*', 'web-1;rm -rf ~', "web'1", 'web[1:3]', 'a,b'])
      expect(proposeCommand(incidentOn(['web-1', host], 'OPS-2'), 'disk-cleanup')).toBe(
        'opsbook ticket propose OPS-2 --runbook disk-cleanup --target HOSTS …',
      );
  });
});
