import { rm } from 'node:fs/promises';
import { UsageError } from '@opsbook/schema';
import {
  type BackupEntry,
  listAbandoned,
  listBackups,
  openRepository,
  removeBackup,
} from './repository.js';

/** Like restic's `forget`: each rule keeps the newest backup of its N most recent periods (UTC). */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

/** The policy's rules in the order restic names them, with their option names (`keep-last`). */
export const RETENTION_RULES = [
  ['keepLast', 'keep-last'],
  ['keepDaily', 'keep-daily'],
  ['keepWeekly', 'keep-weekly'],
  ['keepMonthly', 'keep-monthly'],
  ['keepYearly', 'keep-yearly'],
] as const satisfies ReadonlyArray<readonly [keyof RetentionPolicy, string]>;

/**
 * A policy from the text of `--keep-last 3 --keep-daily 7 …` (option name → text; absent rules
 * are left out). A value that is not a whole number ≥ 0 is a usage error naming its option.
 */
export function parseRetentionPolicy(texts: Readonly<Record<string, unknown>>): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const [field, option] of RETENTION_RULES) {
    const text = texts[option];
    if (typeof text !== 'string') continue;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
      throw new UsageError(`--${option} must be a whole number ≥ 0, not '${text}'`);
    policy[field] = n;
  }
  return policy;
}

export interface RetentionDecision {
  id: string;
  source: string;
  host: string;
  startedAt: string;
  keep: boolean;
  /** Why it is kept (`last 1/3`, `daily 2025-01-04`, `only verified copy`), empty when removed. */
  reasons: string[];
}

/** Minimal view of a backup for planning: pure data, no files. */
export interface RetentionInput {
  id: string;
  source: string;
  host: string;
  startedAt: string;
  verified: boolean;
  /** Kept whatever the rules say, for this reason (e.g. `made by this run`). */
  pinned?: string;
}

const RULES = [
  ['keepDaily', 'daily', (d: Date) => d.toISOString().slice(0, 10)],
  ['keepWeekly', 'weekly', isoWeek],
  ['keepMonthly', 'monthly', (d: Date) => d.toISOString().slice(0, 7)],
  ['keepYearly', 'yearly', (d: Date) => d.toISOString().slice(0, 4)],
] as const;

/**
 * Decides which backups to keep, per (host, source) group. A group never loses its last verified
 * backup: if the rules would remove every verified one, the newest verified backup is kept.
 */
export function planRetention(
  backups: readonly RetentionInput[],
  policy: RetentionPolicy,
): RetentionDecision[] {
  const counts = Object.values(policy).filter((n) => n !== undefined);
  if (!counts.length || counts.every((n) => n === 0)) {
    throw new UsageError(
      'a retention policy needs at least one keep rule above 0 (keepLast, keepDaily, …): refusing to remove every backup',
    );
  }
  for (const n of counts) {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new UsageError(`keep counts are whole numbers ≥ 0, not ${n}`);
  }
  const groups = new Map<string, RetentionInput[]>();
  for (const b of backups) {
    const key = `${b.host}\u0000${b.source}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  const decisions: RetentionDecision[] = [];
  for (const group of groups.values()) decisions.push(...planGroup(group, policy));
  return decisions.sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
}

function planGroup(group: RetentionInput[], policy: RetentionPolicy): RetentionDecision[] {
  const newest = [...group].sort(
    (a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id),
  );
  const reasons = new Map<string, string[]>(newest.map((b) => [b.id, b.pinned ? [b.pinned] : []]));
  const keepLast = policy.keepLast ?? 0;
  for (const [i, b] of newest.slice(0, keepLast).entries()) {
    reasons.get(b.id)!.push(`last ${i + 1}/${keepLast}`);
  }
  for (const [field, label, bucketOf] of RULES) {
    const limit = policy[field] ?? 0;
    const seen = new Set<string>();
    for (const b of newest) {
      if (seen.size >= limit) break;
      const bucket = bucketOf(new Date(b.startedAt));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      reasons.get(b.id)!.push(`${label} ${bucket}`);
    }
  }
  const keptVerified = newest.some((b) => b.verified && reasons.get(b.id)!.length);
  const lastVerified = newest.find((b) => b.verified);
  if (!keptVerified && lastVerified) reasons.get(lastVerified.id)!.push('only verified copy');
  return newest.map((b) => {
    const why = reasons.get(b.id)!;
    return {
      id: b.id,
      source: b.source,
      host: b.host,
      startedAt: b.startedAt,
      keep: why.length > 0,
      reasons: why,
    };
  });
}

/** ISO 8601 week, e.g. 2025-W01. */
function isoWeek(d: Date): string {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export interface PruneOptions {
  policy: RetentionPolicy;
  /** List what would be removed; remove nothing. */
  dryRun?: boolean;
  /** Only backups of this host / source. */
  host?: string;
  source?: string;
  /** Backups made by this run are kept whatever the rules say (`made by this run`). */
  keepRunId?: string;
}

export interface PruneReport {
  repository: string;
  dryRun: boolean;
  decisions: RetentionDecision[];
  removed: string[];
  /** Staging folders of killed backups, removed (or, in a dry run, that would be). */
  abandoned: string[];
}

/** Applies a retention policy to a repository. Only backups whose last verify passed count as verified. */
export async function pruneRepository(dir: string, options: PruneOptions): Promise<PruneReport> {
  const repo = await openRepository(dir);
  const { backups } = await listBackups(repo);
  const scoped = backups.filter(
    (b) =>
      (options.host === undefined || b.manifest.host === options.host) &&
      (options.source === undefined || b.manifest.source === options.source),
  );
  const decisions = planRetention(
    scoped.map((b) => ({
      ...retentionInputOf(b),
      ...(options.keepRunId !== undefined && b.manifest.runId === options.keepRunId
        ? { pinned: 'made by this run' }
        : {}),
    })),
    options.policy,
  );
  const abandoned = await listAbandoned(repo);
  const removed: string[] = [];
  if (!options.dryRun) {
    for (const d of decisions) {
      if (d.keep) continue;
      await removeBackup(repo, d);
      removed.push(d.id);
    }
    for (const dir of abandoned) await rm(dir, { recursive: true, force: true });
  }
  return { repository: repo.dir, dryRun: options.dryRun === true, decisions, removed, abandoned };
}

export function retentionInputOf(b: BackupEntry): RetentionInput {
  return {
    id: b.id,
    source: b.manifest.source,
    host: b.manifest.host,
    startedAt: b.manifest.startedAt,
    verified: b.verification?.ok === true,
  };
}
