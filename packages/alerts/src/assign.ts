import { globToRegExp } from '@opsbook/inventory';
import { matchesLabels } from './grade.js';
import type { IncidentAlert } from './incident.js';
import type { AlertRules, OwnershipRule, Shift } from './rules.js';
import type { Topology } from './topology.js';

/** Whether some of `groups` matches one of the glob `patterns`. */
export function inGroups(groups: readonly string[], patterns: readonly string[]): string[] {
  const res = patterns.map(globToRegExp);
  return groups.filter((g) => res.some((re) => re.test(g)));
}

/** Who is on call at `at`: the person of the last shift that began by then. */
export function onCallAt(shifts: readonly Shift[], at: number): string | undefined {
  let person: string | undefined;
  for (const s of shifts) {
    if (s.from > at) break;
    person = s.person;
  }
  return person;
}

function ruleMatches(rule: OwnershipRule, alert: IncidentAlert, topology: Topology): boolean {
  if (rule.labels && !matchesLabels(alert.labels, rule.labels)) return false;
  if (rule.groups) {
    if (!alert.host) return false;
    if (inGroups(topology.groupsOf(alert.host), rule.groups).length === 0) return false;
  }
  return true;
}

export interface Assignment {
  assignee: string;
  /** Which rule chose them, for the ticket. */
  assignedBy: string;
  counters: Record<string, number>;
}

/**
 * The engineer an incident goes to, by alerts.yaml's ownership rules (the first whose labels and
 * inventory groups match the alert that opened it, else the default): the next of a
 * round-robin list (its counter advances), or whoever the on-call file names at `at`.
 * Undefined when no rule applies or nobody is on call: the ticket is left unassigned.
 */
export function assignOwner(
  rules: Pick<AlertRules, 'ownership'>,
  alert: IncidentAlert,
  topology: Topology,
  counters: Readonly<Record<string, number>>,
  at: number,
): Assignment | undefined {
  for (const rule of rules.ownership) {
    if (!ruleMatches(rule, alert, topology)) continue;
    const { owners } = rule;
    if ('roundRobin' in owners) {
      const turn = counters[rule.counter] ?? 0;
      const assignee = owners.roundRobin[turn % owners.roundRobin.length]!;
      return {
        assignee,
        assignedBy: `${rule.name}, in turn among ${owners.roundRobin.join(', ')}`,
        counters: { ...counters, [rule.counter]: turn + 1 },
      };
    }
    const person = onCallAt(owners.onCall, at);
    if (person)
      return { assignee: person, assignedBy: `${rule.name}, on call in ${owners.file}`, counters };
  }
  return undefined;
}
