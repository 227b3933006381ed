import { isOpsbookError } from '@opsbook/schema';
import type { CommentVisibility } from './jira-connection.js';
import { sameName } from './jira-fields.js';
import type { JiraHttp } from './jira-http.js';
import { visibilityCheck } from './jira-visibility-check.js';
import type { ReadOptions, StatusNames, StatusRole } from './tracker.js';

/** One thing `opsbook doctor` checked of the Jira opsbook.yaml names, and what to do if it fails. */
export interface SetupCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** What to change, when not ok. */
  fix?: string;
  /** Not ok, but not known to fail either: Jira did not let opsbook tell (doctor: a warning). */
  unknown?: boolean;
}

/** A person tickets may be assigned to: approvers.yaml's id and `jira` account. */
export interface Assignee {
  id: string;
  account: string;
  /**
   * The file that hands this account tickets: approvers.yaml (default; `id` is the person's id
   * there) or alerts.yaml (an ownership name, which is the account itself).
   */
  from?: 'approvers.yaml' | 'alerts.yaml';
}

export interface SetupTarget {
  cloud: boolean;
  http: JiraHttp;
  /** `/rest/api/3…` or `/rest/api/2…` of a path. */
  apiPath(path: string): string;
  site: string;
  project: string;
  issueType: string;
  statuses: StatusNames;
  /** `tracker.jira.commentVisibility`: the account must be in that role or group. */
  commentVisibility?: CommentVisibility | undefined;
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
  assignees: readonly Assignee[],
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
    // Cloud lists the account's groups with it (expand=groups), which commentVisibility needs;
    // Data Center's document gives its /myself no parameter at all.
    const groups = target.cloud && target.commentVisibility !== undefined;
    const res = await target.http.send({
      method: 'GET',
      path: target.apiPath('/myself'),
      ...(groups ? { query: { expand: 'groups' } } : {}),
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
    types = listOf(res.body);
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return failed('project', e);
  }
  checks.push({ name: 'project', ok: true, detail: `project ${target.project}` });

  const names = types.map((t) => String(t.name ?? ''));
  const type = types.find((t) => sameName(String(t.name ?? ''), target.issueType));
  if (!type) {
    checks.push({
      name: 'issue type',
      ok: false,
      detail: `project ${target.project} has no issue type '${target.issueType}' (it has: ${names.join(', ') || 'none'})`,
      fix: 'set tracker.jira.issueType in opsbook.yaml to one of them',
    });
  } else {
    checks.push({ name: 'issue type', ok: true, detail: `issue type ${String(type.name)}` });
    checks.push(...statusChecks(target, String(type.name), type.statuses ?? []));
  }
  for (const person of assignees) checks.push(await assignableCheck(target, person, options));
  if (target.commentVisibility)
    checks.push(await visibilityCheck(target, target.commentVisibility, me, who, options));
  return checks;
}

/** Each status opsbook moves tickets to, found (case-insensitively) in the issue type's workflow. */
function statusChecks(
  target: SetupTarget,
  typeName: string,
  statuses: ReadonlyArray<{ name?: unknown }>,
): SetupCheck[] {
  const have = statuses.map((s) => String(s.name ?? ''));
  return ROLE_ORDER.map((role) => {
    const wanted = target.statuses[role];
    const found = have.find((h) => sameName(h, wanted));
    return found
      ? { name: `status ${role}`, ok: true, detail: `'${found}'` }
      : {
          name: `status ${role}`,
          ok: false,
          detail: `'${wanted}' is not a status of ${target.project}'s ${typeName} workflow (it has: ${have.join(', ')})`,
          fix: `set tracker.jira.statuses.${role} in opsbook.yaml to the status opsbook should move tickets to (docs/working-with-jira.md)`,
        };
  });
}

/**
 * Whether tickets can be assigned to `person`'s Jira account in the project (a senior a proposal
 * goes to, an engineer an approved ticket comes back to): the account exists, is active and has
 * Assignable User there. A wrong one fails only when a ticket is handed over.
 */
async function assignableCheck(
  target: SetupTarget,
  person: Assignee,
  options: ReadOptions,
): Promise<SetupCheck> {
  const name = `assignee ${person.id}`;
  const key = target.cloud ? 'accountId' : 'username';
  try {
    const res = await target.http.send({
      method: 'GET',
      path: target.apiPath('/user/assignable/search'),
      query: { project: target.project, [key]: person.account, maxResults: 2 },
      signal: options.signal,
      context: {
        action: `look up ${person.id}'s Jira account`,
        permission: 'Browse users and groups',
      },
    });
    const users = listOf(res.body);
    const found = users.find((u) => (target.cloud ? u.accountId : u.name) === person.account);
    if (found)
      return { name, ok: true, detail: `${person.account} (${String(found.displayName ?? '?')})` };
  } catch (e) {
    if (!isOpsbookError(e)) throw e;
    return { name, ok: false, detail: e.message };
  }
  const why = `cannot be assigned tickets in ${target.project} (no such ${target.cloud ? 'account id' : 'user name'}, inactive, or without Assignable User)`;
  const account = target.cloud ? 'account id (the id in their Jira profile URL)' : 'user name';
  if (person.from === 'alerts.yaml')
    return {
      name,
      ok: false,
      detail: `alerts.yaml hands incidents' tickets to ${person.account}, which ${why}`,
      fix: `write the owner's Jira ${account} in alerts.yaml's ownership, or grant them Assignable User in ${target.project}`,
    };
  return {
    name,
    ok: false,
    detail: `approvers.yaml gives ${person.id} the Jira account ${person.account}, which ${why}`,
    fix: `set ${person.id}'s jira: in approvers.yaml to their ${account} (opsbook trust add-approver), or grant them Assignable User in ${target.project}`,
  };
}

/**
 * A list Jira answers as an array where Data Center's document declares one object
 * (IssueTypeWithStatusJsonBean, UserBean): a server built from the document answers the object.
 */
function listOf(body: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(body)) return body as Array<Record<string, unknown>>;
  return body && typeof body === 'object' ? [body as Record<string, unknown>] : [];
}
