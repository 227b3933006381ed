import { isOpsbookError } from '@opsbook/schema';
import { sameName } from './jira-fields.js';
import type { JiraHttp } from './jira-http.js';
import type { ReadOptions, StatusNames, StatusRole } from './tracker.js';

/** One thing `opsbook doctor` checked of the Jira opsbook.yaml names, and what to do if it fails. */
export interface SetupCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to change, when not ok. */
  fix?: string;
}

export interface SetupTarget {
  http: JiraHttp;
  /** `/rest/api/3…` or `/rest/api/2…` of a path. */
  apiPath(path: string): string;
  site: string;
  project: string;
  issueType: string;
  statuses: StatusNames;
}

const ROLE_ORDER: readonly StatusRole[] = [
  'open',
  'awaitingApproval',
  'approved',
  'inProgress',
  'review',
  'done',
];

/**
 * Reads what opsbook.yaml's `tracker.jira` settings name against the Jira they point at, before a
 * ticket needs them: the account the credentials sign in as, the project, its issue type and
 * every status opsbook moves tickets to (a name Jira lacks otherwise fails only at that move,
 * e.g. after a run). Reads only; stops at the first check the others depend on.
 */
export async function checkJiraSetup(
  target: SetupTarget,
  options: ReadOptions = {},
): Promise<SetupCheck[]> {
  const checks: SetupCheck[] = [];
  const failed = (name: string, e: unknown, fix?: string): SetupCheck[] => {
    checks.push({
      name,
      ok: false,
      detail: e instanceof Error ? e.message : String(e),
      ...(fix ? { fix } : {}),
    });
    return checks;
  };
  let me: Record<string, unknown>;
  try {
    const res = await target.http.send({
      method: 'GET',
      path: target.apiPath('/myself'),
      signal: options.signal,
      context: { action: `sign in to ${target.site}`, permission: 'Browse users and groups' },
    });
    me = (res.body ?? {}) as Record<string, unknown>;
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return failed('account', e);
  }
  const who = `${String(me.displayName ?? '?')} (${String(me.accountId ?? me.name ?? '?')})`;
  checks.push({ name: 'account', ok: true, detail: `signed in to ${target.site} as ${who}` });

  let types: Array<{ name?: unknown; statuses?: Array<{ name?: unknown }> }>;
  try {
    const res = await target.http.send({
      method: 'GET',
      path: target.apiPath(`/project/${encodeURIComponent(target.project)}/statuses`),
      expect: [404],
      signal: options.signal,
      context: {
        action: `read project ${target.project}'s workflow`,
        permission: 'Browse Projects',
      },
    });
    if (res.status === 404)
      return failed(
        'project',
        `project ${target.project} does not exist in ${target.site}, or ${who} may not browse it`,
        'set tracker.jira.project in opsbook.yaml to the project key, or grant Browse Projects to this account',
      );
    types = Array.isArray(res.body) ? res.body : [];
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return failed('project', e);
  }
  checks.push({ name: 'project', ok: true, detail: `project ${target.project}` });

  const names = types.map((t) => String(t.name ?? ''));
  const type = types.find((t) => sameName(String(t.name ?? ''), target.issueType));
  if (!type)
    return failed(
      'issue type',
      `project ${target.project} has no issue type '${target.issueType}' (it has: ${names.join(', ') || 'none'})`,
      'set tracker.jira.issueType in opsbook.yaml to one of them',
    );
  checks.push({ name: 'issue type', ok: true, detail: `issue type ${String(type.name)}` });

  const have = (type.statuses ?? []).map((s) => String(s.name ?? ''));
  for (const role of ROLE_ORDER) {
    const wanted = target.statuses[role];
    const found = have.find((h) => sameName(h, wanted));
    checks.push(
      found
        ? { name: `status ${role}`, ok: true, detail: `'${found}'` }
        : {
            name: `status ${role}`,
            ok: false,
            detail: `'${wanted}' is not a status of ${target.project}'s ${String(type.name)} workflow (it has: ${have.join(', ')})`,
            fix: `set tracker.jira.statuses.${role} in opsbook.yaml to the status opsbook should move tickets to (docs/working-with-jira.md)`,
          },
    );
  }
  return checks;
}
