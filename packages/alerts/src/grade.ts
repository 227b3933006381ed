import {
  type Grade,
  type Incident,
  type IncidentAlert,
  incidentHosts,
  incidentServices,
} from './incident.js';
import type { AlertRules, GradeRule, Matchers } from './rules.js';

/** Whether the labels satisfy every matcher. */
export function matchesLabels(labels: Record<string, string>, matchers: Matchers): boolean {
  for (const [name, values] of Object.entries(matchers)) {
    const value = labels[name];
    if (value === undefined || !values.includes(value)) return false;
  }
  return true;
}

/** `alertname=DiskFull, severity=critical|warning`: matchers as a reason names them. */
export function matchersText(matchers: Matchers): string {
  return Object.entries(matchers)
    .map(([k, v]) => `${k}=${v.join('|')}`)
    .join(', ');
}

/** The worst severity among the alerts, by the order of alerts.yaml's `severities`. */
export function worstSeverity(
  alerts: readonly Pick<IncidentAlert, 'severity'>[],
  severities: readonly string[],
): string | undefined {
  let worst: number | undefined;
  for (const a of alerts) {
    const rank = a.severity === undefined ? -1 : severities.indexOf(a.severity);
    if (rank >= 0 && (worst === undefined || rank < worst)) worst = rank;
  }
  return worst === undefined ? undefined : severities[worst];
}

interface Breadth {
  severity: string | undefined;
  hosts: number;
  services: number;
  alerts: number;
}

function breadthText(b: Breadth): string {
  const n = (count: number, one: string) => `${count} ${one}${count === 1 ? '' : 's'}`;
  return `${b.severity ? `worst severity ${b.severity}, ` : 'no known severity, '}${n(b.hosts, 'host')}, ${n(b.services, 'service')}, ${n(b.alerts, 'alert')}`;
}

/** The conditions of `rule` the incident meets, as reason parts; undefined when one fails. */
function meets(
  rule: GradeRule,
  b: Breadth,
  alerts: readonly IncidentAlert[],
  severities: readonly string[],
): string[] | undefined {
  const parts: string[] = [];
  if (rule.minSeverity !== undefined) {
    const rank = b.severity === undefined ? -1 : severities.indexOf(b.severity);
    if (rank < 0 || rank > severities.indexOf(rule.minSeverity)) return undefined;
    parts.push(`severity ${b.severity} (at least ${rule.minSeverity})`);
  }
  const counts: Array<[number | undefined, number, string]> = [
    [rule.minHosts, b.hosts, 'hosts'],
    [rule.minServices, b.services, 'services'],
    [rule.minAlerts, b.alerts, 'alerts'],
  ];
  for (const [min, have, what] of counts) {
    if (min === undefined) continue;
    if (have < min) return undefined;
    parts.push(`${have} ${what} (at least ${min})`);
  }
  if (rule.labels) {
    if (!alerts.some((a) => matchesLabels(a.labels, rule.labels!))) return undefined;
    parts.push(`an alert with ${matchersText(rule.labels)}`);
  }
  return parts;
}

/**
 * The grade alerts.yaml's rules give the incident, and why: the best (P1 first) grade among the
 * rules it meets, judged on all its alerts (severity, hosts, services, labels), so that an
 * incident's grade only rises as it spreads, never falls as its alerts resolve.
 */
export function gradeIncident(
  incident: Pick<Incident, 'alerts'>,
  rules: Pick<AlertRules, 'grading' | 'severities'>,
): { grade: Grade; reason: string } {
  const b: Breadth = {
    severity: worstSeverity(incident.alerts, rules.severities),
    hosts: incidentHosts(incident).length,
    services: incidentServices(incident).length,
    alerts: incident.alerts.length,
  };
  let best: { rule: GradeRule; parts: string[] } | undefined;
  for (const rule of rules.grading.rules) {
    const parts = meets(rule, b, incident.alerts, rules.severities);
    if (parts && (!best || rule.grade < best.rule.grade)) best = { rule, parts };
  }
  if (!best)
    return {
      grade: rules.grading.default,
      reason: `${rules.grading.default}: no grading rule matched (${breadthText(b)})`,
    };
  return {
    grade: best.rule.grade,
    reason: `${best.rule.grade} by grading rule ${best.rule.n}: ${best.parts.join(', ')} (${breadthText(b)})`,
  };
}

/** The runbooks alerts.yaml suggests for the incident's alerts, and the labels that chose each. */
export function suggestRunbooks(
  incident: Pick<Incident, 'alerts'>,
  rules: Pick<AlertRules, 'runbooks'>,
): Incident['runbooks'] {
  const found: Incident['runbooks'] = [];
  for (const r of rules.runbooks) {
    if (found.some((f) => f.runbook === r.runbook)) continue;
    if (incident.alerts.some((a) => matchesLabels(a.labels, r.match)))
      found.push({ runbook: r.runbook, because: matchersText(r.match) });
  }
  return found;
}
