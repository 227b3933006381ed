import { UsageError } from '@opsbook/schema';
import type { Grade, StatusNames, StatusRole } from './tracker.js';

export type JiraFlavour = 'cloud' | 'datacenter';

/** A priority of the project's scheme: its name, or its id (Jira's ids are numbers in strings). */
export type JiraPriority = string | { id: string };

/** `tracker.jira` of opsbook.yaml (docs/working-with-jira.md). Secrets are never read from here. */
export interface JiraSettings {
  baseUrl?: string;
  project: string;
  flavour?: JiraFlavour;
  email?: string;
  statuses?: Partial<StatusNames>;
  /** The issue type of the tickets opsbook creates (`tracker.jira.issueType`); default Task. */
  issueType?: string;
  /**
   * More fields every ticket opsbook creates carries (`tracker.jira.fields`): the project's
   * required custom fields or components, as Jira's create takes them (`customfield_10010: …`).
   */
  fields?: Record<string, unknown>;
  /**
   * Fields a move to each status must carry, where the workflow's transition screen requires
   * them (`tracker.jira.transitionFields`, e.g. `done: {resolution: {name: Done}}`). A move sends
   * only those its transition's screen has, where Jira says (`expand=transitions.fields`).
   */
  transitionFields?: Partial<Record<StatusRole, Record<string, unknown>>>;
  /** The priority of each grade where the scheme lacks Jira's default (Highest, High, Medium, Low). */
  priorities?: Partial<Record<Grade, JiraPriority>>;
  /**
   * Where people open tickets (`tracker.jira.siteUrl`): browse links go there. Needed only when
   * the base is Atlassian's API gateway (`https://api.atlassian.com/ex/jira/<cloudId>`, for scoped
   * tokens), and even then read from Jira's server info when not given.
   */
  siteUrl?: string;
  /**
   * The group or role every comment opsbook posts is restricted to
   * (`tracker.jira.commentVisibility`): Jira Service Management shows an unrestricted comment to
   * the customers on the ticket. `identifier` (a group's id) is sent on Cloud only.
   */
  commentVisibility?: CommentVisibility;
}

/** A comment's `visibility` as opsbook.yaml gives it (Cloud's Visibility, DC's VisibilityJsonBean). */
export interface CommentVisibility {
  type: 'role' | 'group';
  value: string;
  identifier?: string;
}

/** The same restriction (or none on both sides). */
export function sameVisibility(
  a: CommentVisibility | undefined,
  b: CommentVisibility | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.type === b.type && a.value === b.value && a.identifier === b.identifier;
}

/** How a comment restriction reads in a message. */
export function visibilityText(v: CommentVisibility | undefined): string {
  if (v === undefined) return 'comments visible to everyone who can see the ticket';
  return `comments restricted to the ${v.type} ${v.value}${v.identifier === undefined ? '' : ` (${v.identifier})`}`;
}

/** The environment variables the tracker reads; the CLI passes `process.env`. */
export type JiraEnv = Readonly<Record<string, string | undefined>>;

export interface JiraConnection {
  /** Base URL without a trailing slash; may carry a path prefix (`/ex/jira/<cloudId>`, `/jira`). */
  baseUrl: string;
  flavour: JiraFlavour;
  project: string;
  /** Value of the Authorization header. */
  authorization: string;
  /** Which credential is in use, to name it in error messages (never its value). */
  credentialHint: string;
  /** The account the credential is of, where the settings say (JIRA_EMAIL); never a secret. */
  account?: string;
  /** Strings that must never appear in an error message. */
  secrets: string[];
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

function checkBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      'JIRA_BASE_URL (or tracker.jira.baseUrl) is not a URL: set it like https://example.atlassian.net',
    );
  }
  if (url.username || url.password) {
    throw new UsageError(
      `the Jira base URL ${url.protocol}//${url.host} carries credentials: remove them from the URL and use JIRA_EMAIL + JIRA_API_TOKEN or JIRA_PAT`,
    );
  }
  // A token sent over plain HTTP can be read on the way; only loopback (tests, tunnels) is exempt.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    throw new UsageError(
      `the Jira base URL ${url.origin} is not https: use https:// so the token is not sent in clear`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The Jira site the environment and the config name (JIRA_BASE_URL wins), as a connection would
 * use it; needs no credentials (an approval binds it at plan time).
 */
export function jiraSite(settings: Pick<JiraSettings, 'baseUrl'>, env: JiraEnv): string {
  const rawBase = env.JIRA_BASE_URL || settings.baseUrl;
  if (!rawBase)
    throw new UsageError('no Jira URL: set JIRA_BASE_URL or tracker.jira.baseUrl in opsbook.yaml');
  return checkBaseUrl(rawBase);
}

/**
 * The connection from the environment (wins: secrets never live in opsbook.yaml) and the config.
 * Cloud: basic auth with JIRA_EMAIL + JIRA_API_TOKEN. Data Center: bearer JIRA_PAT (or
 * JIRA_API_TOKEN with JIRA_AUTH_TYPE=bearer, as jira-cli users have it).
 */
export function connectJira(settings: JiraSettings, env: JiraEnv): JiraConnection {
  const baseUrl = jiraSite(settings, env);
  const pat = env.JIRA_PAT || (env.JIRA_AUTH_TYPE === 'bearer' ? env.JIRA_API_TOKEN : undefined);
  if (pat) {
    return {
      baseUrl,
      project: settings.project,
      flavour: settings.flavour ?? 'datacenter',
      authorization: `Bearer ${pat}`,
      credentialHint: env.JIRA_PAT ? 'JIRA_PAT' : 'JIRA_API_TOKEN (bearer)',
      secrets: [pat],
    };
  }
  const token = env.JIRA_API_TOKEN;
  const email = env.JIRA_EMAIL || settings.email;
  if (!token || !email) {
    throw new UsageError(
      'no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center) in the environment',
    );
  }
  const basic = Buffer.from(`${email}:${token}`).toString('base64');
  return {
    baseUrl,
    project: settings.project,
    flavour: settings.flavour ?? 'cloud',
    authorization: `Basic ${basic}`,
    credentialHint: 'JIRA_EMAIL and JIRA_API_TOKEN',
    account: email,
    secrets: [token, basic],
  };
}
