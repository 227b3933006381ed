import type { TrackerBinding } from '@opsbook/approval';
import { type Config, describeControl, ValidationError } from '@opsbook/schema';
import {
  type CommentVisibility,
  createJiraTracker,
  type Grade,
  type JiraHttpOptions,
  type JiraPriority,
  type JiraSettings,
  jiraSite,
  LocalTracker,
  Outbox,
  resolveStatuses,
  type Tracker,
} from '@opsbook/tracker';
import { currentUser } from '../approval/approval-flow.js';
import { parseDurationMs } from '../plan/plan.js';

/** The tracker of this repository and the outbox its writes go through. */
export interface TicketServices {
  tracker: Tracker;
  outbox: Outbox;
  /** Key prefix of new tickets. */
  project: string;
}

export interface OpenTrackerOptions {
  /** Timeouts, retry policy and effects of the Jira HTTP client (tests shorten them). */
  http?: JiraHttpOptions;
  now?: () => Date;
}

/** `tracker.jira.priorities` as the tracker takes it: an id written as a YAML number is a string. */
function jiraPriorities(
  configured: Partial<Record<Grade, string | { id: string | number }>>,
): Partial<Record<Grade, JiraPriority>> {
  const out: Partial<Record<Grade, JiraPriority>> = {};
  for (const [grade, p] of Object.entries(configured) as [
    Grade,
    string | { id: string | number },
  ][])
    out[grade] = typeof p === 'string' ? p : { id: String(p.id) };
  return out;
}

/**
 * The tracker `opsbook.yaml` names (docs/working-with-jira.md; README, _Inventory and configuration_): the embedded local tracker in the state dir
 * by default, or Jira from `tracker.jira` plus the environment (JIRA_BASE_URL, JIRA_EMAIL +
 * JIRA_API_TOKEN, or JIRA_PAT). The environment is passed in; nothing here reads process.env.
 */
export function openTracker(
  config: Config,
  env: NodeJS.ProcessEnv,
  options: OpenTrackerOptions = {},
): TicketServices {
  const raw = config.raw.tracker;
  const jira = raw?.jira;
  const project = jira?.project ?? 'OPS';
  checkProjectKey(config, project);
  let tracker: Tracker;
  if (raw?.kind === 'jira') {
    const settings: JiraSettings = {
      project,
      ...(jira?.baseUrl ? { baseUrl: jira.baseUrl } : {}),
      ...(jira?.flavour ? { flavour: jira.flavour } : {}),
      ...(jira?.email ? { email: jira.email } : {}),
      ...(jira?.statuses ? { statuses: jira.statuses } : {}),
      ...(jira?.issueType ? { issueType: jira.issueType } : {}),
      ...(jira?.siteUrl ? { siteUrl: jira.siteUrl } : {}),
      ...(jira?.fields ? { fields: jira.fields as Record<string, unknown> } : {}),
      ...(jira?.transitionFields
        ? {
            transitionFields: jira.transitionFields as NonNullable<
              JiraSettings['transitionFields']
            >,
          }
        : {}),
      ...(jira?.priorities ? { priorities: jiraPriorities(jira.priorities) } : {}),
      ...(jira?.commentVisibility ? { commentVisibility: jira.commentVisibility } : {}),
    };
    // A timeout the caller passes (tests) wins over opsbook.yaml's `tracker.jira.timeout`.
    const http = {
      ...(jira?.timeout ? { timeoutMs: parseDurationMs(jira.timeout) } : {}),
      ...options.http,
    };
    const jiraTracker = createJiraTracker(settings, env, http);
    checkCommentVisibility(config, jiraTracker.http.connection.flavour);
    tracker = jiraTracker;
  } else {
    tracker = new LocalTracker({
      stateDir: config.stateDir,
      actor: currentUser(env),
      project,
      ...(jira?.statuses ? { statuses: jira.statuses } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }
  const outbox = new Outbox({
    stateDir: config.stateDir,
    tracker,
    ...(options.now ? { now: options.now } : {}),
  });
  return { tracker, outbox, project };
}

/**
 * `tracker.jira.project` is a project key (OPS), which never holds a space or a control character
 * in any Jira (a key names tickets: OPS-42). One that does is a typing mistake that would only
 * show as a ticket Jira never finds (and as an odd key in the JQL opsbook sends), so it is
 * refused at its line, the character named, not printed.
 */
function checkProjectKey(config: Config, project: string): void {
  const odd = /[\s\p{Cc}]/u.exec(project);
  if (!odd) return;
  const at = config.locate?.(['tracker', 'jira', 'project']);
  const named = odd[0] === ' ' ? 'a space' : describeControl(odd[0].codePointAt(0)!);
  throw ValidationError.single(
    at?.file ?? 'opsbook.yaml',
    `tracker.jira.project holds ${named}, which no Jira project key has: write the key as Jira shows it in the project's tickets (OPS for OPS-42)`,
    'project-key',
    at?.line ?? 0,
    at?.col ?? 0,
  );
}

/**
 * `tracker.jira.commentVisibility.identifier` names a Cloud group by id: Data Center's comment
 * visibility (VisibilityJsonBean) has no such member, so there it is refused at its line rather
 * than dropped (the flavour is known once the credentials are: JIRA_PAT means Data Center).
 */
function checkCommentVisibility(config: Config, flavour: 'cloud' | 'datacenter'): void {
  const visibility = config.raw.tracker?.jira?.commentVisibility;
  if (flavour !== 'datacenter' || visibility?.identifier === undefined) return;
  const at = config.locate?.(['tracker', 'jira', 'commentVisibility', 'identifier']);
  throw ValidationError.single(
    at?.file ?? 'opsbook.yaml',
    `tracker.jira.commentVisibility.identifier is for Jira Cloud: Data Center restricts a comment by the ${visibility.type}'s name alone (value: ${visibility.value}); remove identifier`,
    'cloud-only-key',
    at?.line ?? 0,
    at?.col ?? 0,
  );
}

/** What an approval binds of an open tracker: which one it is and the statuses its runs need. */
export function bindingOf(tracker: Tracker): TrackerBinding {
  const { approved, inProgress } = tracker.statuses;
  return {
    kind: tracker.kind,
    site: tracker.site,
    statuses: { approved, inProgress },
    ...visibilityBinding(tracker.kind, tracker.commentVisibility),
  };
}

/** The `commentVisibility` of a binding: Jira's restriction, when there is one. */
function visibilityBinding(
  kind: 'jira' | 'local',
  v: CommentVisibility | undefined,
): Pick<TrackerBinding, 'commentVisibility'> {
  if (kind !== 'jira' || v === undefined) return {};
  return {
    commentVisibility: {
      type: v.type,
      value: v.value,
      ...(v.identifier === undefined ? {} : { identifier: v.identifier }),
    },
  };
}

/**
 * The binding of the tracker `opsbook.yaml` and the environment name, as `openTracker` would
 * open it, but without credentials or a request: `opsbook plan` works offline.
 */
export function trackerBinding(config: Config, env: NodeJS.ProcessEnv): TrackerBinding {
  const raw = config.raw.tracker;
  const { approved, inProgress } = resolveStatuses(raw?.jira?.statuses);
  return raw?.kind === 'jira'
    ? {
        kind: 'jira',
        site: jiraSite(raw.jira ?? {}, env),
        statuses: { approved, inProgress },
        ...visibilityBinding('jira', raw.jira?.commentVisibility),
      }
    : { kind: 'local', site: 'local', statuses: { approved, inProgress } };
}

/** How a tracker binding reads in a message. */
export function trackerText(t: { kind: string; site: string }): string {
  return t.kind === 'local' ? 'the local tracker of the state dir' : `Jira at ${t.site}`;
}
