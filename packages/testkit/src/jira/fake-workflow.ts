/**
 * The Jira the fake plays: one project, the seed's workflow (docs/working-with-jira.md) with
 * configurable status names, a few users, and a tiny JQL evaluator for the queries opsbook sends.
 */
export type StatusRole =
  | 'open'
  | 'awaitingApproval'
  | 'approved'
  | 'inProgress'
  | 'review'
  | 'done';

export const FAKE_STATUS_NAMES: Record<StatusRole, string> = {
  open: 'Open',
  awaitingApproval: 'Awaiting Approval',
  approved: 'Approved',
  inProgress: 'In Progress',
  review: 'In Review',
  done: 'Done',
};

const CATEGORY: Record<StatusRole, { id: number; key: string; name: string; colorName: string }> = {
  open: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' },
  awaitingApproval: { id: 2, key: 'new', name: 'To Do', colorName: 'blue-gray' },
  approved: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' },
  inProgress: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' },
  review: { id: 4, key: 'indeterminate', name: 'In Progress', colorName: 'yellow' },
  done: { id: 3, key: 'done', name: 'Done', colorName: 'green' },
};

export const STATUS_IDS: Record<StatusRole, string> = {
  open: '1',
  awaitingApproval: '10001',
  approved: '10002',
  inProgress: '3',
  review: '10003',
  done: '10004',
};

/** The project's issue types, all on the one workflow above. */
export const FAKE_ISSUE_TYPES: readonly string[] = ['Task', 'Bug', 'Incident'];

export interface FakeTransition {
  id: string;
  name: string;
  from: StatusRole;
  to: StatusRole;
}

export const FAKE_TRANSITIONS: FakeTransition[] = [
  { id: '11', name: 'Propose', from: 'open', to: 'awaitingApproval' },
  { id: '21', name: 'Approve', from: 'awaitingApproval', to: 'approved' },
  { id: '31', name: 'Reject', from: 'awaitingApproval', to: 'open' },
  { id: '41', name: 'Start', from: 'approved', to: 'inProgress' },
  { id: '51', name: 'Withdraw', from: 'approved', to: 'open' },
  { id: '61', name: 'Submit for review', from: 'inProgress', to: 'review' },
  { id: '71', name: 'Accept', from: 'review', to: 'done' },
  { id: '81', name: 'Reopen', from: 'review', to: 'inProgress' },
  { id: '91', name: 'Send back', from: 'review', to: 'open' },
  { id: '101', name: 'Abandon', from: 'inProgress', to: 'open' },
];

export function statusCategory(role: StatusRole, base: string) {
  const c = CATEGORY[role];
  return {
    self: `${base}/rest/api/2/statuscategory/${c.id}`,
    id: c.id,
    key: c.key,
    name: c.name,
    colorName: c.colorName,
  };
}

export interface FakeUser {
  accountId: string;
  name: string;
  displayName: string;
  emailAddress: string;
}

/** A group of the site: its name, its id (Cloud's groupId) and its members' user names. */
export interface FakeGroup {
  name: string;
  groupId: string;
  members: string[];
}

/** A project role: the user names and group names acting in it in the project. */
export interface FakeProjectRole {
  id: number;
  name: string;
  users: string[];
  groups: string[];
}

export interface FakeComment {
  id: string;
  author: FakeUser;
  body: unknown;
  created: string;
  properties: { key: string; value: unknown }[];
  /** The group or role the comment is restricted to, as the create carried it. */
  visibility?: unknown;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  mimeType: string;
  created: string;
  author: FakeUser;
  bytes: Uint8Array;
}

export interface FakeRemoteLink {
  id: number;
  globalId?: string;
  object: { url: string; title: string; summary?: string };
}

export interface FakeIssue {
  id: string;
  key: string;
  project: string;
  issueType: string;
  summary: string;
  description: unknown;
  labels: string[];
  priority?: string;
  status: StatusRole;
  assignee: FakeUser | null;
  /** Who the issue says opened it: the caller, or the `reporter` field of the create. */
  reporter: FakeUser | null;
  created: Date;
  comments: FakeComment[];
  attachments: FakeAttachment[];
  properties: Map<string, unknown>;
  remoteLinks: FakeRemoteLink[];
  /** Fields the create carried beyond those the fake models (custom fields, components…). */
  otherFields: Record<string, unknown>;
  /** The fields each transition carried, in order. */
  transitionFields: { to: StatusRole; fields: Record<string, unknown> }[];
  /** Every status change, so a test can show the ticket's path. */
  history: { from: StatusRole; to: StatusRole; by: string }[];
}

/** Jira's date format (`2021-01-17T12:34:00.000+0000`). */
export function jiraDate(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

type Clause = { field: string; op: string; value: string };

/**
 * The JQL opsbook sends: `field op value` clauses joined by AND, then ORDER BY. Fields: project,
 * key, status, labels, summary (~), text (~), assignee, created (>= -Nd or a yyyy-MM-dd date).
 * Returns undefined for JQL it does not understand, which the fake answers with 400 like Jira
 * does for invalid JQL.
 */
export function parseFakeJql(jql: string): { clauses: Clause[]; orderDesc: boolean } | undefined {
  // Jira's JQL lexer takes no control character anywhere but the whitespace between tokens
  // (tab, CR, LF), and none at all inside a quoted string: such a query is a 400.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/.test(jql)) return undefined;
  const [where = '', order = ''] = jql.split(/\border\s+by\b/i);
  const clauses: Clause[] = [];
  const re = /\s*(\w+)\s*(!=|>=|<=|=|~)\s*("(?:[^"\\\t\n\r]|\\.)*"|[^\s"]+)\s*(?:\bAND\b|$)/iy;
  let at = 0;
  while (at < where.trim().length) {
    re.lastIndex = at;
    const m = re.exec(where);
    if (!m) return undefined;
    const raw = m[3] ?? '';
    const value = raw.startsWith('"') ? unescapeJql(raw.slice(1, -1)) : raw;
    if (value === undefined) return undefined;
    clauses.push({ field: (m[1] ?? '').toLowerCase(), op: m[2] ?? '=', value });
    at = re.lastIndex;
  }
  return { clauses, orderDesc: /\bdesc\b/i.test(order) };
}

/** A JQL quoted string's inside, its escapes read (`\t \n \r \uXXXX`, a quote, a backslash, a space); undefined for another. */
function unescapeJql(inside: string): string | undefined {
  let bad = false;
  const value = inside.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const plain: Record<string, string> = {
      t: '\t',
      n: '\n',
      r: '\r',
      '"': '"',
      "'": "'",
      '\\': '\\',
      ' ': ' ',
    };
    const c = plain[e];
    if (c === undefined) bad = true;
    return c ?? '';
  });
  return bad ? undefined : value;
}

export function matchesJql(
  issue: FakeIssue,
  clauses: Clause[],
  statusName: (r: StatusRole) => string,
  now: Date,
): boolean {
  return clauses.every((c) => {
    const v = c.value.toLowerCase();
    const text = (s: string) => v.split(/\s+/).every((w) => s.toLowerCase().includes(w));
    const fields: Record<string, string[]> = {
      project: [issue.project],
      key: [issue.key],
      status: [statusName(issue.status)],
      labels: issue.labels,
      assignee: issue.assignee ? [issue.assignee.accountId, issue.assignee.name] : [],
    };
    if (c.field === 'created') {
      if (c.op !== '>=') return false;
      // A date is the start of that day in the Jira user's time zone (the fake's is UTC).
      if (/^\d{4}-\d{2}-\d{2}$/.test(c.value))
        return issue.created.getTime() >= Date.parse(`${c.value}T00:00:00Z`);
      const days = /^-(\d+)d$/.exec(c.value);
      if (!days) return false;
      return issue.created.getTime() >= now.getTime() - Number(days[1]) * 86_400_000;
    }
    if (c.op === '~') {
      if (c.field === 'summary') return text(issue.summary);
      if (c.field === 'text')
        return text(`${issue.summary} ${JSON.stringify(issue.description ?? '')}`);
      return false;
    }
    const values = (fields[c.field] ?? []).map((x) => x.toLowerCase());
    return c.op === '!=' ? !values.includes(v) : values.includes(v);
  });
}
