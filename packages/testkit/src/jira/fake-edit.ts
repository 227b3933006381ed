import type { FakeIssue, FakeUser } from './fake-workflow.js';

/** Jira's default priority scheme, highest first; a priority's id is its place (1-based). */
export const DEFAULT_PRIORITIES: readonly string[] = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];

/** The fields an edit (PUT …/issue/{key}) may set in the fake's edit screen. */
/** Jira's refusal of a summary holding a line break (a create's or an edit's). */
export const SUMMARY_NEWLINES = 'The summary is invalid because it contains newline characters.';

const EDITABLE = ['summary', 'labels', 'priority', 'assignee'];

// biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, checked by the OpenAPI validator first
type Json = Record<string, any>;

/** Field errors as Jira's ErrorCollection names them, or the changes to apply. */
export type EditOutcome =
  | { errors: Record<string, string> }
  | { apply: (issue: FakeIssue) => void };

/**
 * The priority named by `{name}` or `{id}` in the scheme, or Jira's error for it (Cloud says
 * "The priority selected is invalid." for a name or id the project's scheme lacks).
 */
export function schemePriority(
  value: Json | undefined,
  priorities: readonly string[],
): { name: string } | { error: string } {
  const byName = typeof value?.name === 'string' ? value.name : undefined;
  const byId = typeof value?.id === 'string' ? priorities[Number(value.id) - 1] : undefined;
  const name = byName !== undefined ? priorities.find((p) => p === byName) : byId;
  return name ? { name } : { error: 'The priority selected is invalid.' };
}

/**
 * What an edit's `fields` do: summary, labels and priority (unless `priorityOnScreen` is false)
 * are on the fake's edit screen; any other field, and `update` operations (not modelled), are
 * refused naming the field, as Jira refuses a field that is not on the screen. Nothing is applied
 * unless every field is valid.
 */
export function planEdit(
  body: Json | undefined,
  priorities: readonly string[],
  priorityOnScreen = true,
  /** The user an assignee `{accountId}` (Cloud) or `{name}` (Data Center) names. */
  userOf: (value: Json) => FakeUser | undefined = () => undefined,
): EditOutcome {
  const fields = (body?.fields ?? {}) as Json;
  const errors: Record<string, string> = {};
  const editable = EDITABLE.filter((f) => priorityOnScreen || f !== 'priority');
  for (const name of [...Object.keys(fields), ...Object.keys(body?.update ?? {})])
    if (!editable.includes(name) || body?.update?.[name] !== undefined)
      errors[name] =
        `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;
  if (
    fields.summary !== undefined &&
    (typeof fields.summary !== 'string' || !fields.summary.trim())
  )
    errors.summary = 'You must specify a summary of the issue.';
  else if (typeof fields.summary === 'string' && fields.summary.length > 254)
    errors.summary = 'Summary must be less than 255 characters.';
  else if (typeof fields.summary === 'string' && /[\r\n]/.test(fields.summary))
    errors.summary = SUMMARY_NEWLINES;
  if (fields.labels !== undefined && !Array.isArray(fields.labels))
    errors.labels = 'Labels must be a list of strings.';
  const priority =
    fields.priority !== undefined && !errors.priority
      ? schemePriority(fields.priority, priorities)
      : undefined;
  if (priority && 'error' in priority) errors.priority = priority.error;
  // null unassigns; otherwise a user of this Jira.
  const assignee =
    fields.assignee === undefined || fields.assignee === null
      ? fields.assignee
      : typeof fields.assignee === 'object'
        ? userOf(fields.assignee)
        : undefined;
  if (assignee === undefined && fields.assignee !== undefined)
    errors.assignee = `User '${JSON.stringify(fields.assignee)}' does not exist.`;
  if (Object.keys(errors).length) return { errors };
  return {
    apply: (issue) => {
      if (fields.summary !== undefined) issue.summary = fields.summary;
      if (fields.labels !== undefined) issue.labels = fields.labels.map(String);
      if (priority && 'name' in priority) issue.priority = priority.name;
      if (assignee !== undefined) issue.assignee = assignee;
    },
  };
}
