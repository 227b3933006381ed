import { type Block, type Doc, type Inline, linkOrText, type NewTicket } from '@opsbook/tracker';
import {
  type GradeDecision,
  type Incident,
  type IncidentAlert,
  incidentHosts,
  incidentServices,
} from './incident.js';

/** Rows of a table the ticket shows before it says "and N more" (Jira limits a field's size). */
export const MAX_TABLE_ROWS = 50;
const MAX_LINKS = 20;
const MAX_HOSTS_LISTED = 100;
const MAX_SUMMARY = 255;

const text = (t: string, bold = false): Inline => ({
  type: 'text',
  text: t,
  ...(bold ? { bold } : {}),
});
const para = (...content: Inline[]): Block => ({ type: 'paragraph', content });
const heading = (t: string): Block => ({ type: 'heading', level: 3, text: t });

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The distinct alert names of an incident, most frequent first. */
function alertNames(incident: Pick<Incident, 'alerts'>): string[] {
  const counts = new Map<string, number>();
  for (const a of incident.alerts) counts.set(a.alertname, (counts.get(a.alertname) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([n]) => n);
}

/** `[P2] DiskFull, HighLoad on 12 hosts (cluster=eu-1) — INC-7`, within Jira's 255 characters. */
export function ticketSummary(incident: Incident): string {
  const names = alertNames(incident);
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ` +${names.length - 3}` : '');
  const hosts = incidentHosts(incident);
  const where =
    hosts.length === 1 ? ` on ${hosts[0]}` : hosts.length > 1 ? ` on ${hosts.length} hosts` : '';
  const keys = incident.keys.slice(0, 2).join(' ');
  const tail = ` — ${incident.id}`;
  // One line: label values are whatever the sender wrote, and Jira refuses a summary with a
  // line break (the incident would never get its ticket); other controls become spaces too.
  const head = `[${incident.grade.grade}] ${shown}${where}${keys ? ` (${keys})` : ''}`.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g,
    ' ',
  );
  return head.length + tail.length > MAX_SUMMARY
    ? `${head.slice(0, MAX_SUMMARY - tail.length - 1)}…${tail}`
    : `${head}${tail}`;
}

function alertRow(a: IncidentAlert): string[] {
  const status = a.fired > 1 ? `${a.status} (fired ${a.fired}×)` : a.status;
  return [
    a.alertname,
    a.host ?? a.service ?? '',
    a.severity ?? '',
    status,
    a.status === 'resolved' && a.endsAt ? `resolved ${a.endsAt}` : `since ${a.startsAt}`,
    a.summary ?? '',
  ];
}

/** A table of the alerts (firing first), and how many more there are than it shows. */
function alertTable(alerts: readonly IncidentAlert[], id: string): Block[] {
  const sorted = [...alerts].sort(
    (a, b) =>
      (a.status === 'firing' ? 0 : 1) - (b.status === 'firing' ? 0 : 1) ||
      a.alertname.localeCompare(b.alertname) ||
      (a.host ?? '').localeCompare(b.host ?? ''),
  );
  const blocks: Block[] = [
    {
      type: 'table',
      header: ['alert', 'host / service', 'severity', 'status', 'when', 'summary'],
      rows: sorted.slice(0, MAX_TABLE_ROWS).map(alertRow),
    },
  ];
  if (sorted.length > MAX_TABLE_ROWS)
    blocks.push(
      para(
        text(
          `…and ${sorted.length - MAX_TABLE_ROWS} more: opsbook alerts show ${id} lists them all.`,
        ),
      ),
    );
  return blocks;
}

/** Links to where each alert is defined (Prometheus' generator URL), one per distinct URL. */
function sourceLinks(alerts: readonly IncidentAlert[]): Block[] {
  const seen = new Map<string, string>();
  for (const a of alerts)
    if (a.generatorURL && !seen.has(a.generatorURL)) seen.set(a.generatorURL, a.alertname);
  if (seen.size === 0) return [];
  const items = [...seen.entries()]
    .slice(0, MAX_LINKS)
    .map(([href, name]): Inline[] => [linkOrText(`${name} in Prometheus`, href)]);
  return [heading('Sources'), { type: 'list', items }];
}

function gradeBlocks(grade: GradeDecision): Block[] {
  return [heading(`Grade ${grade.grade}`), para(text(grade.reason))];
}

/** Most hosts a suggested command lists as its --target; past it, the command says HOSTS. */
const MAX_TARGETS = 20;
/** A host name that is itself as a host pattern: no glob, range, regex or separator in it. */
const PLAIN_HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The `ticket propose` command for a suggested runbook: the ticket's key once known (THIS-TICKET
 * before; the ticket never shows that: its command comes in `proposeComment`, once the tracker
 * has given the key), and `--target` the affected hosts. A host named by an alert's label is the sender's text: one that is not a plain
 * name (a glob would select more hosts, a quote or `;` would be a shell's), or that the inventory
 * does not know (`all`, a group's name), is not pasted in, and the command says HOSTS for the
 * engineer to fill in from the affected hosts.
 */
export function proposeCommand(incident: Incident, runbook: string, key?: string): string {
  const hosts = incidentHosts(incident);
  // A name the inventory does not know is the label's text: `all` or a group's name is plain
  // too, and as a host pattern it selects more hosts than the alerts are about.
  const listed =
    hosts.length <= MAX_TARGETS &&
    hosts.every((h) => PLAIN_HOST.test(h)) &&
    incident.alerts.every((a) => a.isHostKnown !== false);
  const target = hosts.length === 0 ? '' : ` --target ${listed ? hosts.join(',') : 'HOSTS'}`;
  return `opsbook ticket propose ${key ?? incident.ticket.key ?? 'THIS-TICKET'} --runbook ${runbook}${target} …`;
}

/** Says which closed ticket these alerts would have joined. */
function followsBlocks(incident: Incident): Block[] {
  const f = incident.follows;
  if (!f) return [];
  return [
    para(
      text(
        `Follows ${f.incident} (ticket ${f.ticket}, ${f.status}): its alerts came after that ticket was closed, so they open this ticket rather than a comment there.`,
      ),
    ),
  ];
}

/** The ticket of an incident: summary, grade as priority, and a description a senior can act on. */
export function incidentTicket(incident: Incident): NewTicket {
  const hosts = incidentHosts(incident);
  const services = incidentServices(incident);
  const blocks: Block[] = [
    para(
      text(incident.id, true),
      text(
        `: ${plural(incident.alerts.length, 'alert')} on ${plural(hosts.length, 'host')}` +
          `${services.length ? ` and ${plural(services.length, 'service')}` : ''}, converged by rule ` +
          `${incident.rule} of alerts.yaml version ${incident.rulesVersion} (${incident.keys.slice(0, 5).join('; ')}).`,
      ),
    ),
    ...followsBlocks(incident),
    ...gradeBlocks(incident.grade),
    heading('Assigned'),
    para(
      text(
        incident.assignee
          ? `to ${incident.assignee} (${incident.assignedBy ?? 'ownership rules'})`
          : 'to nobody: no ownership rule of alerts.yaml applies; assign it by hand',
      ),
    ),
    heading('Alerts'),
    ...alertTable(incident.alerts, incident.id),
    ...sourceLinks(incident.alerts),
    heading('Affected hosts'),
    para(
      text(
        hosts.length === 0
          ? 'no host label (see the alerts)'
          : `${hosts.slice(0, MAX_HOSTS_LISTED).join(', ')}${hosts.length > MAX_HOSTS_LISTED ? ` and ${hosts.length - MAX_HOSTS_LISTED} more` : ''}`,
      ),
    ),
  ];
  // The description is written before the tracker gives the ticket its key: the commands that
  // propose these runbooks, which name the key, come in a comment once it is known.
  if (incident.runbooks.length)
    blocks.push(
      heading('Suggested runbooks'),
      {
        type: 'list',
        items: incident.runbooks.map((r) => [text(r.runbook, true), text(` (for ${r.because})`)]),
      },
      para(
        text(
          `The command that proposes each, with this ticket's key, follows in a comment (opsbook alerts show ${incident.id} says it too).`,
        ),
      ),
    );
  blocks.push(
    para(
      text(
        `New alerts of this incident come as one comment per batch. Re-grade it with opsbook alerts grade ${incident.id} P1..P4 --reason "…".`,
      ),
    ),
  );
  return {
    summary: ticketSummary(incident),
    description: { blocks },
    labels: ['opsbook', 'alerts', incident.id.toLowerCase()],
    grade: incident.grade.grade,
  };
}

/** The comment that says, with the ticket's key, how to propose each suggested runbook. */
export function proposeComment(incident: Incident, key: string): Doc {
  return {
    blocks: [
      heading('Suggested runbooks'),
      {
        type: 'list',
        items: incident.runbooks.map((r) => [
          text(r.runbook, true),
          text(` (for ${r.because}): ${proposeCommand(incident, r.runbook, key)}`),
        ]),
      },
    ],
  };
}

/** The comment for alerts the ticket does not show yet, and a grade that changed since. */
export function alertsComment(
  incident: Incident,
  changes: readonly IncidentAlert[],
  gradeChanged: boolean,
): Doc {
  const fresh = changes.filter((a) => !a.reported).length;
  const resolved = changes.filter((a) => a.reported && a.status === 'resolved').length;
  const refired = changes.length - fresh - resolved;
  const parts = [
    fresh ? plural(fresh, 'new alert') : '',
    resolved ? `${resolved} resolved` : '',
    refired ? `${refired} fired again` : '',
  ].filter(Boolean);
  const blocks: Block[] = [
    heading(parts.length ? parts.join(', ') : 'Grade changed'),
    ...(changes.length ? alertTable(changes, incident.id) : []),
    ...sourceLinks(changes.filter((a) => !a.reported)),
  ];
  if (gradeChanged) blocks.push(...gradeBlocks(incident.grade));
  const refusal = incident.ticket.priorityError;
  if (gradeChanged && refusal?.grade === incident.grade.grade)
    blocks.push(priorityRefused(refusal));
  blocks.push(
    para(
      text(
        `${incident.id} now: ${plural(incident.alerts.filter((a) => a.status === 'firing').length, 'alert')} firing of ${incident.alerts.length}, on ${plural(incidentHosts(incident).length, 'host')}.`,
      ),
    ),
  );
  return { blocks };
}

/** Said with the grade when the tracker refused to set the ticket's priority to match it. */
export function priorityRefused(refusal: { grade: string; message: string }): Block {
  return para(
    text(
      `The ticket's priority still shows the earlier grade: the tracker refused to set it for ${refusal.grade} (${refusal.message}). The grade ${refusal.grade} stands in opsbook; set the priority by hand, and change what the tracker's message names (a priority missing from the project's scheme is mapped in tracker.jira.priorities; a Priority field missing from its screens is a Jira admin's to add).`,
    ),
  );
}

/** The comment recording a senior's re-grade. */
export function regradeComment(incident: Incident, from: string, decision: GradeDecision): Doc {
  const by = decision.by;
  return {
    blocks: [
      heading(`Re-graded ${from} → ${decision.grade}`),
      para(
        text('By '),
        text(by ? `${by.name} (${by.id}, key ${by.fingerprint})` : 'the rules', true),
        text(`, ${decision.at}.`),
      ),
      para(text(decision.reason)),
      para(text(`The rules of alerts.yaml say: ${incident.ruleGrade.reason}`)),
    ],
  };
}
