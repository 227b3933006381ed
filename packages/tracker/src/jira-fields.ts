import type { JiraFlavour, JiraPriority } from './jira-connection.js';
import type { Grade, Person, StatusCategory, Ticket } from './tracker.js';

/** Fields asked for whenever a ticket is read, to keep Jira's answers small. */
export const TICKET_FIELDS = 'summary,status,assignee,reporter,labels';

/** Jira's default priority scheme for opsbook grades. */
export const GRADE_PRIORITY: Record<Grade, string> = {
  P1: 'Highest',
  P2: 'High',
  P3: 'Medium',
  P4: 'Low',
};

/** The configured priorities (`tracker.jira.priorities`) over Jira's default names. */
export function resolvePriorities(
  configured: Partial<Record<Grade, JiraPriority>> = {},
): Record<Grade, JiraPriority> {
  const priorities: Record<Grade, JiraPriority> = { ...GRADE_PRIORITY };
  for (const grade of Object.keys(priorities) as Grade[]) {
    const p = configured[grade];
    if (typeof p === 'string' ? p.trim() !== '' : p?.id) priorities[grade] = p!;
  }
  return priorities;
}

/** The `priority` field of an issue create or edit. */
export function priorityField(priority: JiraPriority): { name: string } | { id: string } {
  return typeof priority === 'string' ? { name: priority } : { id: priority.id };
}

/** A priority as a message names it: `"High"`, or `id 10001`. */
export function priorityLabel(priority: JiraPriority): string {
  return typeof priority === 'string' ? `"${priority}"` : `id ${priority.id}`;
}

type Json = Record<string, unknown>;

function asObject(v: unknown): Json {
  return v && typeof v === 'object' ? (v as Json) : {};
}

function person(raw: unknown, flavour: JiraFlavour): Person | null {
  if (!raw || typeof raw !== 'object') return null;
  const u = raw as Json;
  const id = flavour === 'cloud' ? u.accountId : (u.name ?? u.key);
  if (typeof id !== 'string') return null;
  return typeof u.displayName === 'string' ? { id, displayName: u.displayName } : { id };
}

/**
 * An IssueBean (Cloud or DC) as a Ticket; unknown keys are ignored since Jira adds fields over time.
 * Both specs leave its `key` optional: without it the ticket is the `key` it was read by, or,
 * found by a search, its `id`, which Jira takes wherever it takes a key.
 */
export function ticketFromIssue(raw: unknown, flavour: JiraFlavour, key = ''): Ticket {
  const issue = asObject(raw);
  const fields = asObject(issue.fields);
  const labels = Array.isArray(fields.labels)
    ? fields.labels.filter((l): l is string => typeof l === 'string')
    : [];
  return {
    key: keyOf(issue, key),
    summary: typeof fields.summary === 'string' ? fields.summary : '',
    status: String(asObject(fields.status).name ?? ''),
    ...statusCategoryOf(fields.status),
    assignee: person(fields.assignee, flavour),
    reporter: person(fields.reporter, flavour),
    labels,
  };
}

function keyOf(issue: Json, asked: string): string {
  if (typeof issue.key === 'string' && issue.key !== '') return issue.key;
  if (asked !== '') return asked;
  const { id } = issue;
  return (typeof id === 'string' && id !== '') || typeof id === 'number' ? String(id) : '';
}

function statusCategoryOf(raw: unknown): { statusCategory?: StatusCategory } {
  const key = asObject(asObject(raw).statusCategory).key;
  return key === 'new' || key === 'indeterminate' || key === 'done' ? { statusCategory: key } : {};
}

/**
 * A JQL string literal (double-quoted, escaped). Jira's JQL lexer refuses a control character
 * (C0, DEL, C1) raw inside a string with a 400, so each is written as one of JQL's escapes
 * (`\t`, `\n`, `\r`, else `\uXXXX`), which Jira reads back as the character: a label or a
 * project key holding one is searched for as it is, and the JQL shown stays one printable line.
 */
export function jqlString(value: string): string {
  const escaped = value.replace(/[\\"]/g, '\\$&').replace(JQL_CONTROLS, (c) => {
    const short = JQL_SHORT_ESCAPES[c];
    return short ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

const JQL_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const JQL_SHORT_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * The words of a text, letters and digits only, safe for a JQL `text ~` search: Jira reads it as
 * a Lucene query, in which `:`, `*`, `?`, brackets, a leading `-` and the like are operators, and a
 * query it cannot parse is a 400. So are the words AND, OR and NOT in capitals (`disk full OR`
 * is an operator with nothing after it): they are left out, as Jira leaves out such common words
 * from its index anyway. `minLength` and `max` narrow them (a summary's first words).
 */
export function searchWords(text: string, options: { minLength?: number; max?: number } = {}) {
  const { minLength = 2, max = 8 } = options;
  return text
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length >= Math.max(1, minLength) && !LUCENE_OPERATORS.has(w))
    .slice(0, max)
    .join(' ');
}

/** Lucene's boolean operators, which it reads as such in capitals only. */
const LUCENE_OPERATORS = new Set(['AND', 'OR', 'NOT']);

export function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * A property value as read from Jira: a JSON string holding a JSON object or array (how Data
 * Center's are written, propertyWire) is that object; any other value as it is, so values
 * written as objects before (or on Cloud) read the same.
 */
export function propertyValueOf(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trimStart();
  if (!text.startsWith('{') && !text.startsWith('[')) return value;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return value;
  }
}
