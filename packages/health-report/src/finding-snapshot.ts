import type { InspectionSample, ReportedFinding } from './history.js';
import { utcDay } from './utc-day.js';

/** A finding with the time it was journaled. */
export interface StampedFinding {
  finding: ReportedFinding;
  at: string;
}

/** The newest finding per (check, subject) of one host. */
export type HostSnapshot = Map<string, StampedFinding>;

/** The newest finding per (check, subject) of one host on one day (their times are not needed). */
export type DaySnapshot = Map<string, ReportedFinding>;

/** Per host: the newest finding of every (check, subject), overall and per UTC day. */
export interface FindingSnapshots {
  current: Map<string, HostSnapshot>;
  /** host → UTC day → snapshot. */
  daily: Map<string, Map<string, DaySnapshot>>;
  /** host → key → did every result say `unknown`? */
  onlyUnknown: Map<string, Map<string, boolean>>;
  /** The newest finding per host and key at the baseline time asked for. */
  baseline?: Map<string, HostSnapshot>;
}

export function findingKey(f: Pick<ReportedFinding, 'check' | 'subject'>): string {
  return `${f.check}\u0000${f.subject ?? ''}`;
}

/** Samples oldest first, so later ones overwrite earlier ones in every snapshot. */
export function sortSamples(samples: readonly InspectionSample[]): InspectionSample[] {
  return [...samples].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * The snapshots of the samples (oldest first) and, when `baselineAt` is given, the current
 * snapshot as it stood at that time (the newest finding per key among the samples at or before
 * it), taken on the way rather than by reading the samples again.
 */
export function buildSnapshots(
  sorted: readonly InspectionSample[],
  baselineAt?: string,
): FindingSnapshots {
  const current = new Map<string, HostSnapshot>();
  const daily = new Map<string, Map<string, DaySnapshot>>();
  const onlyUnknown = new Map<string, Map<string, boolean>>();
  let baseline: Map<string, HostSnapshot> | undefined;
  // One key string per (check, subject), shared by every host and day: 180,000 findings make
  // a handful of keys, and fewer strings kept alive is less for the garbage collector to copy.
  const keys = new FindingKeys();
  // Samples come host by host within a run: look the host's maps up when the host or the day
  // changes, not per sample (150,000 samples in a month of a thousand hosts).
  let host: string | undefined;
  let day: string | undefined;
  let hostNow!: HostSnapshot;
  let hostDays!: Map<string, DaySnapshot>;
  let hostDay!: DaySnapshot;
  let unknowns!: Map<string, boolean>;
  for (const sample of sorted) {
    if (baselineAt !== undefined && !baseline && sample.at > baselineAt)
      baseline = copySnapshot(current);
    if (sample.host !== host) {
      host = sample.host;
      day = undefined;
      hostNow = getOrSet(current, host, newMap<string, StampedFinding>);
      hostDays = getOrSet(daily, host, newMap<string, DaySnapshot>);
      unknowns = getOrSet(onlyUnknown, host, newMap<string, boolean>);
    }
    if (utcDay(sample.at) !== day) {
      day = utcDay(sample.at);
      hostDay = getOrSet(hostDays, day, newMap<string, ReportedFinding>);
    }
    for (const reported of sample.findings) {
      // The journal's host is authoritative: a finding cannot speak for another host.
      const finding = ownedBy(reported, host);
      const key = keys.of(finding);
      hostNow.set(key, { finding, at: sample.at });
      hostDay.set(key, finding);
      unknowns.set(key, (unknowns.get(key) ?? true) && finding.status === 'unknown');
    }
  }
  if (baselineAt !== undefined && !baseline) baseline = copySnapshot(current);
  return { current, daily, onlyUnknown, ...(baseline ? { baseline } : {}) };
}

class FindingKeys {
  private readonly byCheck = new Map<string, Map<string, string>>();

  of(f: Pick<ReportedFinding, 'check' | 'subject'>): string {
    const bySubject = getOrSet(this.byCheck, f.check, newMap<string, string>);
    const subject = f.subject ?? '';
    let key = bySubject.get(subject);
    if (key === undefined) {
      key = findingKey(f);
      bySubject.set(subject, key);
    }
    return key;
  }
}

function copySnapshot(snapshot: Map<string, HostSnapshot>): Map<string, HostSnapshot> {
  return new Map([...snapshot].map(([host, keys]) => [host, new Map(keys)]));
}

function ownedBy(finding: ReportedFinding, host: string): ReportedFinding {
  return finding.host === host ? finding : { ...finding, host };
}

function newMap<K, V>(): Map<K, V> {
  return new Map();
}

export function getOrSet<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}
