import { formatDuration } from './duration.js';
import { type Refusal, refuse, shortDigest } from './refusal.js';
import type { ApprovalStatement, Category, ComposedRunbook, Grade } from './statement.js';
import type { ResolvedPolicy } from './trust-store.js';

/** What the runner re-derived for the run it is about to start; the approval must match it. */
export interface ExpectedRun {
  ticket: string;
  runbook: { name: string; version: string; digest: string };
  /** The runbooks it composes as they resolve now, recursively (absent or empty: none). */
  composed?: readonly ComposedRunbook[];
  /** Resolved non-secret param values. */
  params: Record<string, string | number | boolean>;
  /** Names of the secret params the run uses. */
  secretParams?: string[];
  /** The hosts the run will touch, and the selector they came from. */
  targets: { hosts: string[]; selector?: string };
  /** Digest of the plan the runner rendered (every command per host). */
  planDigest: string;
  category: Category;
  grade: Grade;
}

const reapprove = 'ask a senior to re-approve';

/** The checks that tie a statement to one exact run, in the order a user fixes them. */
export function checkBindings(
  s: ApprovalStatement,
  e: ExpectedRun,
  policy: ResolvedPolicy,
): Refusal | undefined {
  if (s.ticket !== e.ticket) {
    return refuse(
      'TICKET_MISMATCH',
      `this approval is for ticket ${s.ticket}, not ${e.ticket}: run it under ${s.ticket}, or get an approval for ${e.ticket}`,
    );
  }
  if (s.runbook.name !== e.runbook.name) {
    return refuse(
      'RUNBOOK_MISMATCH',
      `this approval is for runbook ${s.runbook.name}, not ${e.runbook.name}: use the approval made for ${e.runbook.name}`,
    );
  }
  if (s.runbook.version !== e.runbook.version) {
    return refuse(
      'DIGEST_MISMATCH',
      `${reapprove}: the runbook changed since approval (version ${s.runbook.version} ≠ ${e.runbook.version})`,
    );
  }
  if (s.runbook.digest !== e.runbook.digest) {
    return refuse(
      'DIGEST_MISMATCH',
      `${reapprove}: the runbook changed since approval (digest ${shortDigest(s.runbook.digest)} ≠ ${shortDigest(e.runbook.digest)})`,
    );
  }
  const composed = checkComposed(s.composed ?? [], e.composed ?? []);
  if (composed) return composed;
  if (s.category !== e.category) {
    return refuse(
      'CATEGORY_MISMATCH',
      `${reapprove}: the approval says category ${s.category} but the run is ${e.category}`,
    );
  }
  if (s.grade !== e.grade) {
    return refuse(
      'GRADE_MISMATCH',
      `${reapprove}: the approval was given for grade ${s.grade} but the runbook is ${e.grade}`,
    );
  }
  return checkParams(s, e) ?? checkTargets(s, e, policy);
}

/**
 * Each runbook the run composes must be the one approved at that step: same name, version and
 * bundle digest, none added and none dropped. A changed file of a composed runbook, or its range
 * resolving to another version, is refused here by name, before the plan digest says it again.
 */
function checkComposed(
  approved: readonly ComposedRunbook[],
  actual: readonly ComposedRunbook[],
): Refusal | undefined {
  const byStep = new Map(approved.map((c) => [c.step, c]));
  const show = (c: ComposedRunbook) => `${c.name} ${c.version}`;
  for (const c of actual) {
    const a = byStep.get(c.step);
    if (!a)
      return refuse(
        'COMPOSED_MISMATCH',
        `${reapprove}: step '${c.step}' composes ${show(c)}, which the approval does not cover`,
      );
    byStep.delete(c.step);
    if (a.name !== c.name || a.version !== c.version)
      return refuse(
        'COMPOSED_MISMATCH',
        `${reapprove}: step '${c.step}' composed ${show(a)} when approved, but resolves to ${show(c)} now`,
      );
    if (a.digest !== c.digest)
      return refuse(
        'COMPOSED_MISMATCH',
        `${reapprove}: the runbook ${show(c)} that step '${c.step}' composes changed since approval (digest ${shortDigest(a.digest)} ≠ ${shortDigest(c.digest)})`,
      );
  }
  const [gone] = byStep.values();
  if (gone)
    return refuse(
      'COMPOSED_MISMATCH',
      `${reapprove}: the approval covers ${show(gone)} at step '${gone.step}', which the runbook no longer composes there`,
    );
  return undefined;
}

function checkParams(s: ApprovalStatement, e: ExpectedRun): Refusal | undefined {
  const names = new Set([...Object.keys(s.params), ...Object.keys(e.params)]);
  for (const name of [...names].sort()) {
    const approved = s.params[name];
    const actual = e.params[name];
    if (approved !== actual) {
      const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
      return refuse(
        'PARAMS_MISMATCH',
        `${reapprove} with the params you want, or run with the approved ones: param ${name} is ${show(actual)} but was approved as ${show(approved)}`,
      );
    }
  }
  const approvedSecrets = [...s.secretParams].sort().join(',');
  const actualSecrets = [...(e.secretParams ?? [])].sort().join(',');
  if (approvedSecrets !== actualSecrets) {
    return refuse(
      'PARAMS_MISMATCH',
      `${reapprove}: the secret params differ (approved: ${approvedSecrets || 'none'}; run: ${actualSecrets || 'none'})`,
    );
  }
  return undefined;
}

function checkTargets(
  s: ApprovalStatement,
  e: ExpectedRun,
  policy: ResolvedPolicy,
): Refusal | undefined {
  if ('selector' in s.targets) {
    if (!policy.allowSelectors) {
      return refuse(
        'SELECTOR_NOT_ALLOWED',
        `a target selector is allowed only in standing approvals of routine runbooks; this is ${s.category}: ${reapprove} for an explicit host list (opsbook plan)`,
      );
    }
    if (e.targets.selector !== s.targets.selector) {
      return refuse(
        'TARGETS_OUTSIDE_SCOPE',
        `the standing approval covers '${s.targets.selector}', not '${e.targets.selector ?? e.targets.hosts.join(',')}': run with --target '${s.targets.selector}'`,
      );
    }
    // What the selector rendered when the senior signed: a host it now matches besides, or a
    // changed host var, is another plan.
    if (!s.plan || s.plan.digest !== e.planDigest)
      return planMismatch(s.plan?.digest, e.planDigest);
    return undefined;
  }
  const approved = new Set(s.targets.hosts);
  const outside = e.targets.hosts.filter((h) => !approved.has(h));
  if (outside.length) {
    const list =
      outside.slice(0, 5).join(', ') +
      (outside.length > 5 ? ` and ${outside.length - 5} more` : '');
    return refuse(
      'TARGETS_OUTSIDE_SCOPE',
      `host(s) ${list} are not in the approval: narrow --target to the approved hosts, or ${reapprove} for these hosts`,
    );
  }
  if (!s.plan || s.plan.digest !== e.planDigest) return planMismatch(s.plan?.digest, e.planDigest);
  return undefined;
}

function planMismatch(approved: string | undefined, actual: string): Refusal {
  return refuse(
    'PLAN_MISMATCH',
    `the commands that would run differ from the approved plan (plan ${approved ? shortDigest(approved) : 'missing'} ≠ ${shortDigest(actual)}): render it from what it was planned with (the same inventory, -i FILE, and the same checkout), or ${reapprove}; compare with opsbook plan --show`,
  );
}

/**
 * The validity window against the clock and the policy. `tooLong` says what to do about a window
 * longer than the policy allows, to whoever reads it (by default the engineer, at run time).
 */
export function checkWindow(
  s: ApprovalStatement,
  policy: ResolvedPolicy,
  now: Date,
  skewMs: number,
  tooLong = `${reapprove} with --expires ${policy.maxValidity} or less`,
): Refusal | undefined {
  const from = Date.parse(s.notBefore);
  const to = Date.parse(s.expiresAt);
  if (to - from > policy.maxValidityMs) {
    return refuse(
      'VALIDITY_TOO_LONG',
      `the approval is valid for ${formatDuration(to - from)} but policy allows at most ${policy.maxValidity} for ${s.category} ${s.grade}: ${tooLong}`,
    );
  }
  if (now.getTime() + skewMs < from) {
    return refuse(
      'NOT_YET_VALID',
      `the approval is valid from ${s.notBefore} (now ${now.toISOString()}): wait until then, or check this machine's clock`,
    );
  }
  if (now.getTime() >= to) {
    return refuse(
      'EXPIRED',
      `the approval expired at ${s.expiresAt}: ask a senior to approve again`,
    );
  }
  return undefined;
}
