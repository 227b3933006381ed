import { type AlertRecord, alertName } from './alert.js';
import { type AlertState, incidentId, type StateChange } from './alert-store.js';
import { assignOwner, inGroups } from './assign.js';
import { gradeIncident, matchesLabels, suggestRunbooks } from './grade.js';
import { firingCount, type Incident, type IncidentAlert, needsDispatch } from './incident.js';
import type { AlertRules, CorrelateRule } from './rules.js';
import type { Topology } from './topology.js';

export interface ConvergeInput {
  rules: AlertRules;
  topology: Topology;
  state: AlertState;
  /** New alerts, in the order they were stored. */
  alerts: readonly AlertRecord[];
  now: Date;
  /** A fresh id for a new ticket's delivery (random in production, fixed in tests). */
  newDeliveryId: () => string;
}

export interface ConvergeResult {
  change: StateChange;
  opened: string[];
  updated: string[];
  closed: string[];
  /** Resolutions of alerts no open incident holds (they fired before, or were never seen). */
  skipped: number;
}

/** Where a new alert belongs: the rule that takes it and the keys it correlates by. */
interface Placement {
  rule: string;
  keys: string[];
  windowMs: number;
}

function hostOf(alert: AlertRecord, rules: AlertRules, topology: Topology): string | undefined {
  for (const label of rules.hostLabels) {
    const value = alert.labels[label];
    if (value) return topology.hostNamed(value);
  }
  return undefined;
}

/** The keys `rule` gives the alert, or undefined when the rule does not take it. */
function keysOf(
  rule: CorrelateRule,
  alert: AlertRecord,
  host: string | undefined,
  rules: AlertRules,
  topology: Topology,
): string[] | undefined {
  if (rule.match && !matchesLabels(alert.labels, rule.match)) return undefined;
  const { by } = rule;
  if ('labels' in by) {
    const values = by.labels.map((l) => alert.labels[l]);
    if (values.some((v) => v === undefined)) return undefined;
    return [by.labels.map((l, i) => `${l}=${values[i]}`).join(',')];
  }
  if ('groups' in by) {
    if (!host) return undefined;
    const groups = inGroups(topology.groupsOf(host), by.groups);
    return groups.length ? groups.map((g) => `group:${g}`) : undefined;
  }
  if ('hostVar' in by) {
    const value = host ? topology.varOf(host, by.hostVar) : undefined;
    return value === undefined ? undefined : [`${by.hostVar}=${value}`];
  }
  // A host and the services on it: a service-only alert belongs to the hosts that run it.
  if (host) return [`host:${host}`];
  const service = alert.labels[rules.serviceLabel];
  const hosts = service ? topology.hostsRunning(service) : [];
  return hosts.length ? hosts.map((h) => `host:${h}`) : undefined;
}

function placeAlert(
  alert: AlertRecord,
  host: string | undefined,
  rules: AlertRules,
  topology: Topology,
): Placement {
  for (const rule of rules.correlate) {
    const keys = keysOf(rule, alert, host, rules, topology);
    if (keys) return { rule: rule.name, keys, windowMs: rule.windowMs };
  }
  const present = rules.fallback.filter((l) => alert.labels[l] !== undefined);
  const key = present.length
    ? present.map((l) => `${l}=${alert.labels[l]}`).join(',')
    : `fingerprint=${alert.fingerprint}`;
  return { rule: 'fallback', keys: [key], windowMs: rules.windowMs };
}

function entryOf(
  alert: AlertRecord,
  host: string | undefined,
  rules: AlertRules,
  topology: Topology,
): IncidentAlert {
  const summary = alert.annotations.summary ?? alert.annotations.description;
  const severity = alert.labels.severity;
  const service = alert.labels[rules.serviceLabel];
  return {
    fingerprint: alert.fingerprint,
    alertname: alertName(alert),
    labels: alert.labels,
    ...(summary ? { summary } : {}),
    ...(severity ? { severity } : {}),
    ...(host ? { host } : {}),
    ...(host && !topology.isKnown(host) ? { isHostKnown: false as const } : {}),
    ...(service ? { service } : {}),
    status: alert.status,
    startsAt: alert.startsAt,
    ...(alert.endsAt ? { endsAt: alert.endsAt } : {}),
    ...(alert.generatorURL ? { generatorURL: alert.generatorURL } : {}),
    firstSeen: alert.receivedAt,
    lastChange: alert.receivedAt,
    fired: 1,
  };
}

const timeOf = (iso: string) => Date.parse(iso);

/**
 * Applies a later delivery of an alert the incident holds: a new firing (a later startsAt)
 * counts as a flap of the same alert, a resolution marks it resolved; a repeat or an older
 * delivery changes nothing. Returns whether anything changed.
 */
function applyUpdate(entry: IncidentAlert, alert: AlertRecord): boolean {
  const newer = timeOf(alert.startsAt) > timeOf(entry.startsAt);
  const same = alert.startsAt === entry.startsAt;
  if (alert.status === 'firing') {
    // The same startsAt after its resolution: Alertmanager fires it again (Prometheus sent it
    // again with the ActiveAt it kept); the store stored it as the next round. A store stores no
    // repeat it knows of, so one stored after the resolution without a round is a firing again
    // too: the files store, restarted, remembers the rounds of its last day only.
    const again =
      same &&
      entry.status === 'resolved' &&
      ((alert.round ?? 0) > 0 || alert.receivedAt > entry.lastChange);
    if (!newer && !again) return false;
    entry.fired++;
    entry.status = 'firing';
    entry.startsAt = alert.startsAt;
    delete entry.endsAt;
  } else {
    if (!newer && !(same && entry.status === 'firing')) return false;
    if (newer) {
      entry.fired++;
      entry.startsAt = alert.startsAt;
    }
    entry.status = 'resolved';
    if (alert.endsAt) entry.endsAt = alert.endsAt;
  }
  const summary = alert.annotations.summary ?? alert.annotations.description;
  if (summary) entry.summary = summary;
  entry.lastChange = alert.receivedAt;
  return true;
}

function touch(incident: Incident, alert: AlertRecord): void {
  if (timeOf(alert.startsAt) < timeOf(incident.firstStartsAt))
    incident.firstStartsAt = alert.startsAt;
  if (timeOf(alert.startsAt) > timeOf(incident.lastStartsAt))
    incident.lastStartsAt = alert.startsAt;
  if (alert.receivedAt > incident.lastActivity) incident.lastActivity = alert.receivedAt;
}

function isWithin(incident: Incident, alert: AlertRecord, windowMs: number): boolean {
  const t = timeOf(alert.startsAt);
  return (
    t >= timeOf(incident.firstStartsAt) - windowMs && t <= timeOf(incident.lastStartsAt) + windowMs
  );
}

/**
 * Converges new alerts into incidents (pure: the store saves the result). An alert whose
 * fingerprint an open incident holds stays there (a flapping alert opens nothing new; a
 * resolution updates it, never closes it); any other firing alert joins the open incident of
 * the first correlation rule that takes it with a key in common and within the rule's window, or
 * opens a new incident, graded, given its suggested runbooks and assigned. Incidents whose alerts
 * all resolved and stayed quiet for `quiet` close: later alerts open new ones.
 */
export function convergeAlerts(input: ConvergeInput): ConvergeResult {
  const { rules, topology, state, now } = input;
  const incidents = state.incidents;
  const byFingerprint = new Map<string, Incident>();
  for (const i of incidents) for (const a of i.alerts) byFingerprint.set(a.fingerprint, i);
  const changed = new Set<Incident>();
  const opened: string[] = [];
  let counters = state.counters;
  let next = state.nextIncident;
  let skipped = 0;

  for (const alert of input.alerts) {
    const held = byFingerprint.get(alert.fingerprint);
    if (held) {
      const entry = held.alerts.find((a) => a.fingerprint === alert.fingerprint)!;
      if (applyUpdate(entry, alert)) {
        touch(held, alert);
        changed.add(held);
      }
      continue;
    }
    if (alert.status === 'resolved') {
      skipped++;
      continue;
    }
    const host = hostOf(alert, rules, topology);
    const place = placeAlert(alert, host, rules, topology);
    const entry = entryOf(alert, host, rules, topology);
    let incident = incidents.find(
      (i) =>
        i.open &&
        i.rule === place.rule &&
        i.keys.some((k) => place.keys.includes(k)) &&
        isWithin(i, alert, place.windowMs),
    );
    if (incident) {
      incident.alerts.push(entry);
      for (const k of place.keys) if (!incident.keys.includes(k)) incident.keys.push(k);
      touch(incident, alert);
    } else {
      const owner = assignOwner(rules, entry, topology, counters, timeOf(alert.receivedAt));
      if (owner) counters = owner.counters;
      incident = newIncident(incidentId(next++), place, entry, alert, rules, input.newDeliveryId());
      if (owner) {
        incident.assignee = owner.assignee;
        incident.assignedBy = owner.assignedBy;
      }
      incidents.push(incident);
      opened.push(incident.id);
    }
    byFingerprint.set(alert.fingerprint, incident);
    changed.add(incident);
  }

  const at = now.toISOString();
  for (const incident of changed) regrade(incident, rules, at);
  const closed: string[] = [];
  for (const incident of incidents) {
    // Closed only once the ticket shows everything: dispatch works on open incidents.
    if (!incident.open || firingCount(incident) > 0 || needsDispatch(incident)) continue;
    if (now.getTime() - Date.parse(incident.lastActivity) < rules.quietMs) continue;
    incident.open = false;
    incident.updatedAt = at;
    changed.add(incident);
    closed.push(incident.id);
  }
  return {
    change: {
      incidents: [...changed],
      ...(next !== state.nextIncident ? { nextIncident: next } : {}),
      ...(counters !== state.counters ? { counters } : {}),
    },
    opened,
    updated: [...changed]
      .map((i) => i.id)
      .filter((id) => !opened.includes(id) && !closed.includes(id)),
    closed,
    skipped,
  };
}

function newIncident(
  id: string,
  place: Placement,
  entry: IncidentAlert,
  alert: AlertRecord,
  rules: AlertRules,
  deliveryId: string,
): Incident {
  return {
    id,
    rule: place.rule,
    keys: [...place.keys],
    rulesVersion: rules.version,
    openedAt: alert.receivedAt,
    updatedAt: alert.receivedAt,
    firstStartsAt: alert.startsAt,
    lastStartsAt: alert.startsAt,
    lastActivity: alert.receivedAt,
    open: true,
    alerts: [entry],
    grade: { grade: 'P4', reason: '', at: alert.receivedAt },
    ruleGrade: { grade: 'P4', reason: '' },
    regrades: [],
    runbooks: [],
    ticket: { deliveryId, attempted: false },
    comments: [],
  };
}

/** The rules' grade and runbooks after a change; a senior's re-grade stays in force. */
function regrade(incident: Incident, rules: AlertRules, at: string): void {
  const ruled = gradeIncident(incident, rules);
  incident.ruleGrade = ruled;
  if (incident.regrades.length === 0 && incident.grade.grade !== ruled.grade)
    incident.grade = { ...ruled, at };
  else if (incident.regrades.length === 0) incident.grade.reason = ruled.reason;
  incident.runbooks = suggestRunbooks(incident, rules);
  incident.updatedAt = at;
}
