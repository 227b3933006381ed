import type { InspectionSample, ReportedFinding } from './history.js';
import { utcDay } from './utc-day.js';

/** A finding with the time it was journaled. */
export interface StampedFinding {
  finding: ReportedFinding;
  at: string;
}

/** The newest finding per (check, subject) of one host. */
export type HostSnapshot = Map<string, StampedFinding>;

/** Per host: the newest finding of every (check, subject), overall and per UTC day. */
export interface FindingSnapshots {
  current: Map<string, HostSnapshot>;
  daily: Map<string, Map<string, HostSnapshot>>;
  /** host → key → did every result say `unknown`? */
  onlyUnknown: Map<string, Map<string, boolean>>;
}

export function findingKey(f: Pick<ReportedFinding, 'check' | 'subject'>): string {
  return `${f.check}\u0000${f.subject ?? ''}`;
}

/** Samples oldest first, so later ones overwrite earlier ones in every snapshot. */
export function sortSamples(samples: readonly InspectionSample[]): InspectionSample[] {
  return [...samples].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

export function buildSnapshots(sorted: readonly InspectionSample[]): FindingSnapshots {
  const current = new Map<string, HostSnapshot>();
  const daily = new Map<string, Map<string, HostSnapshot>>();
  const onlyUnknown = new Map<string, Map<string, boolean>>();
  for (const sample of sorted) {
    const day = utcDay(sample.at);
    const hostNow = getOrSet(current, sample.host, () => new Map());
    const hostDays = getOrSet(daily, sample.host, () => new Map());
    const hostDay = getOrSet(hostDays, day, () => new Map());
    const unknowns = getOrSet(onlyUnknown, sample.host, () => new Map());
    for (const finding of sample.findings) {
      // The journal's host is authoritative: a finding cannot speak for another host.
      const stamped = { finding: ownedBy(finding, sample.host), at: sample.at };
      const key = findingKey(finding);
      hostNow.set(key, stamped);
      hostDay.set(key, stamped);
      unknowns.set(key, (unknowns.get(key) ?? true) && finding.status === 'unknown');
    }
  }
  return { current, daily, onlyUnknown };
}

/** The newest finding per key among the samples at or before `until`. */
export function snapshotAt(
  sorted: readonly InspectionSample[],
  until: string,
): Map<string, HostSnapshot> {
  const snapshot = new Map<string, HostSnapshot>();
  for (const sample of sorted) {
    if (sample.at > until) break;
    const host = getOrSet(snapshot, sample.host, () => new Map());
    for (const finding of sample.findings) {
      host.set(findingKey(finding), { finding: ownedBy(finding, sample.host), at: sample.at });
    }
  }
  return snapshot;
}

function ownedBy(finding: ReportedFinding, host: string): ReportedFinding {
  return finding.host === host ? finding : { ...finding, host };
}

export function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
