import type { OpsbookError, RefusalError } from '@opsbook/schema';
import { trackerErrors } from './error-codes.js';

/** What a request was for, so a failure reads as one sentence a person can act on. */
export interface FailureContext {
  /** Verb phrase: "comment on OPS-12", "create a ticket in project OPS". */
  action: string;
  ticket?: string;
  /** The Jira permission the action needs ("Add Comments"). */
  permission: string;
  /** Field in a 400 answer that means "no such project" (create only). */
  project?: string;
  /**
   * The priority sent for a grade: a 400 naming the field means the scheme lacks it, or (Jira
   * saying it cannot be set) the create or edit screen has no Priority.
   */
  priority?: { grade: string; label: string };
  /**
   * A move's fields from `tracker.jira.transitionFields.<role>`: a 400 naming one it `sent` is a
   * value to fix or remove there, one it did not send a field to set there.
   */
  transition?: { role: string; sent: string[] };
  /**
   * A comment's `visibility` (`tracker.jira.commentVisibility`): Jira answers 400 to one
   * restricted to a role or group its author is not in, or one the project lacks.
   */
  visibility?: { type: string; value: string };
}

export interface FailureFacts {
  url: string;
  status?: number;
  body?: unknown;
  attempts: number;
  /** A `Retry-After` longer than the policy waits, which ended the retries. */
  retryAfter?: { askedMs: number; maxMs: number };
  credentialHint: string;
  secrets: string[];
}

/**
 * The words of a body that is not JSON (a proxy's or a servlet's): an HTML page's title, or
 * plain text on one line; never markup.
 */
function plainWords(text: string): string {
  const html = /^\s*</.test(text);
  const title = html ? /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1] : text;
  return (title ?? '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;|&gt;|&quot;|&#39;/g, ' ')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029<>]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Jira's own words from an ErrorCollection, shortened; tolerant of empty or non-JSON bodies. */
export function jiraMessages(body: unknown): string {
  if (typeof body === 'string') {
    const words = plainWords(body);
    return words.length > 200 ? `${words.slice(0, 197)}...` : words;
  }
  if (!body || typeof body !== 'object') return '';
  const b = body as { errorMessages?: unknown; errors?: unknown };
  const messages = Array.isArray(b.errorMessages) ? b.errorMessages.map(String) : [];
  if (b.errors && typeof b.errors === 'object') {
    for (const [field, message] of Object.entries(b.errors))
      messages.push(`${field}: ${String(message)}`);
  }
  const text = messages.join('; ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Remove every secret (and its URL-encoded form) from a message, whatever produced it. */
export function redactSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)]))
      out = out.split(form).join('***');
  }
  return out;
}

/** Jira's words for each field an ErrorCollection names (`errors: {reporter: "…"}`). */
function fieldErrors(body: unknown): Record<string, string> {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!errors || typeof errors !== 'object') return {};
  return Object.fromEntries(Object.entries(errors).map(([field, m]) => [field, String(m)]));
}

/** The fields an ErrorCollection names, so callers can react to one. */
function fieldsNamed(body: unknown): string[] {
  return Object.keys(fieldErrors(body));
}

/**
 * Jira's refusal of a field that is not on the operation's screen ("Field 'priority' cannot be
 * set. It is not on the appropriate screen, or unknown."), as opposed to a value it refuses.
 */
function isNotOnScreen(message: string | undefined): boolean {
  return /cannot be set|not on the appropriate screen/i.test(message ?? '');
}

const them = (fields: string[]) => (fields.length > 1 ? 'them' : 'it');

/** What to change in opsbook.yaml for a move refused naming fields (FailureContext.transition). */
function transitionFieldsFix(
  transition: { role: string; sent: string[] },
  errors: Record<string, string>,
): string {
  const key = `tracker.jira.transitionFields.${transition.role}`;
  const named = Object.keys(errors);
  const sent = named.filter((f) => transition.sent.includes(f));
  const offScreen = sent.filter((f) => isNotOnScreen(errors[f]));
  const refused = sent.filter((f) => !offScreen.includes(f));
  const missing = named.filter((f) => !sent.includes(f));
  const fixes: string[] = [];
  if (offScreen.length)
    fixes.push(
      `opsbook sent ${offScreen.join(', ')} from ${key}, and the transition's screen does not have ${them(offScreen)} (a move without a screen takes no fields; a post-function may set the resolution); remove ${them(offScreen)} from ${key} in opsbook.yaml`,
    );
  if (refused.length)
    fixes.push(
      `Jira refused the value opsbook sent for ${refused.join(', ')}: fix ${refused.map((f) => `${key}.${f}`).join(', ')} in opsbook.yaml`,
    );
  if (missing.length)
    fixes.push(
      `the move needs ${missing.join(', ')} on the transition's screen: set ${them(missing)} in opsbook.yaml under ${key} (e.g. resolution: {name: Done})`,
    );
  return fixes.join('; ');
}

function said(body: unknown): string {
  const m = jiraMessages(body);
  return m ? ` (Jira says: ${m})` : '';
}

function build(
  facts: FailureFacts,
  ctx: FailureContext,
  make: (say: string) => OpsbookError,
): OpsbookError {
  const error = make(said(facts.body));
  error.message = redactSecrets(error.message, facts.secrets);
  Object.assign(error.details, { url: facts.url, ticket: ctx.ticket, status: facts.status });
  const fields = fieldsNamed(facts.body);
  if (fields.length) error.details.fields = fields;
  return error;
}

/** The error for a Jira answer that is not a success, after any retries. */
export function jiraFailure(ctx: FailureContext, facts: FailureFacts): OpsbookError {
  const { url, status } = facts;
  const retryable = { retryable: status === 429 || (status ?? 0) >= 500 };
  return build(facts, ctx, (say) => {
    if (facts.retryAfter && (status === 429 || (status ?? 0) >= 500)) {
      const seconds = (ms: number) => Math.ceil(ms / 1000);
      return new trackerErrors.UnreachableError(
        status === 429 ? 'TRACKER_RATE_LIMITED' : 'TRACKER_UNAVAILABLE',
        `Jira at ${url} answered ${status === 429 ? '429 Too Many Requests' : status} when trying to ${ctx.action} and asked to wait ${seconds(facts.retryAfter.askedMs)} s (Retry-After), longer than opsbook waits (${seconds(facts.retryAfter.maxMs)} s): try again later; writes wait in the outbox (opsbook outbox flush).`,
        retryable,
      );
    }
    switch (status) {
      case 401:
        return new trackerErrors.UnreachableError(
          'TRACKER_AUTH_REJECTED',
          `Jira at ${url} rejected the credentials (401) when trying to ${ctx.action}${say}: check ${facts.credentialHint}; a token that expired or was revoked gives this too.`,
          { retryable: false },
        );
      case 403:
        return new trackerErrors.UnreachableError(
          'TRACKER_FORBIDDEN',
          `Jira at ${url} does not let this account ${ctx.action} (403)${say}: ask a Jira admin for the "${ctx.permission}" permission in the project.`,
          { retryable: false },
        );
      case 404:
        return ctx.ticket
          ? new trackerErrors.RefusalError(
              'TRACKER_TICKET_NOT_FOUND',
              `Jira at ${url} has no ticket ${ctx.ticket} visible to this account (404): check the key, or ask a Jira admin for the "Browse Projects" permission.`,
              { retryable: false },
            )
          : new trackerErrors.UnreachableError(
              'TRACKER_NOT_FOUND',
              `Jira at ${url} answered 404 when trying to ${ctx.action}${say}: check JIRA_BASE_URL (and its path prefix) and tracker.jira.flavour.`,
              { retryable: false },
            );
      case 410:
        return new trackerErrors.UnreachableError(
          'TRACKER_API_REMOVED',
          `Jira at ${url} has removed this API (410) when trying to ${ctx.action}${say}: check tracker.jira.flavour (cloud or datacenter).`,
          { retryable: false },
        );
      case 409:
        return new trackerErrors.RefusalError(
          'TRACKER_REQUEST_REJECTED',
          `Jira at ${url} refused to ${ctx.action}: another update of ${ctx.ticket ?? 'it'} went in at the same time (409) after ${facts.attempts} attempt(s)${say}: try again in a moment.`,
          { retryable: false },
        );
      case 429:
        return new trackerErrors.UnreachableError(
          'TRACKER_RATE_LIMITED',
          `Jira at ${url} kept answering 429 Too Many Requests after ${facts.attempts} attempts to ${ctx.action}: try again later; writes wait in the outbox (opsbook outbox flush).`,
          retryable,
        );
    }
    if (status !== undefined && status >= 500) {
      return new trackerErrors.UnreachableError(
        'TRACKER_UNAVAILABLE',
        `Jira at ${url} failed with ${status} after ${facts.attempts} attempt(s) to ${ctx.action}: try again later; writes wait in the outbox (opsbook outbox flush).`,
        retryable,
      );
    }
    const named = fieldsNamed(facts.body);
    if (
      ctx.project &&
      status === 400 &&
      (named.includes('project') ||
        (named.length === 0 && jiraMessages(facts.body).toLowerCase().includes('project')))
    ) {
      return new trackerErrors.UnreachableError(
        'TRACKER_PROJECT_UNKNOWN',
        `Jira at ${url} does not accept project ${ctx.project} when trying to ${ctx.action}${say}: set tracker.jira.project to a project key this account can create issues in.`,
        { retryable: false },
      );
    }
    if (ctx.priority && status === 400 && named.includes('priority')) {
      const { grade, label } = ctx.priority;
      if (isNotOnScreen(fieldErrors(facts.body).priority))
        return new trackerErrors.RefusalError(
          'TRACKER_PRIORITY_NOT_ON_SCREEN',
          `Jira at ${url} refused the priority ${label} for ${grade} when trying to ${ctx.action} (400)${say}: the project's ${ctx.project ? 'create' : 'edit'} screen has no Priority field (a team-managed project may have none), so no tracker.jira.priorities setting helps; ask a Jira admin to add Priority to the project's create and edit screens.`,
          { retryable: false, grade },
        );
      return new trackerErrors.RefusalError(
        'TRACKER_PRIORITY_UNKNOWN',
        `Jira at ${url} refused the priority ${label} for ${grade} when trying to ${ctx.action} (400)${say}: the project's priority scheme lacks it; set tracker.jira.priorities.${grade} in opsbook.yaml to a priority of the scheme (its name, or {id: …}).`,
        { retryable: false, grade },
      );
    }
    if (ctx.transition && status === 400 && named.length > 0)
      return new trackerErrors.RefusalError(
        'TRACKER_REQUEST_REJECTED',
        `Jira at ${url} rejected the request to ${ctx.action} (400)${say}: ${transitionFieldsFix(ctx.transition, fieldErrors(facts.body))}.`,
        { retryable: false },
      );
    if (status === 413) return tooLarge(url, ctx.action, '413', say);
    if (ctx.visibility && status === 400) {
      const { type, value } = ctx.visibility;
      return new trackerErrors.RefusalError(
        'TRACKER_REQUEST_REJECTED',
        `Jira at ${url} rejected the request to ${ctx.action} (400)${say}: tracker.jira.commentVisibility restricts it to ${type} ${value}, and Jira refuses such a comment when the account is not in that ${type} or the project has no such ${type}; opsbook doctor checks it. Add the account to it in Jira, or change or remove commentVisibility in opsbook.yaml.`,
        { retryable: false },
      );
    }
    if (ctx.permission === 'Assign Issues' && status === 400)
      return new trackerErrors.RefusalError(
        'TRACKER_REQUEST_REJECTED',
        `Jira at ${url} refused to ${ctx.action} (400)${say}: the assignee must be a Jira account that can be assigned issues in the project; check the person's jira: account in approvers.yaml (Cloud: an accountId; Data Center: a user name) and ask a Jira admin for their "Assignable User" permission.`,
        { retryable: false },
      );
    return new trackerErrors.RefusalError(
      'TRACKER_REQUEST_REJECTED',
      ctx.project && status === 400
        ? `Jira at ${url} rejected the request to ${ctx.action} (${status})${say}: a field the project requires goes in opsbook.yaml's tracker.jira.fields (its id, e.g. customfield_10010, and the value Jira takes), another issue type in tracker.jira.issueType.`
        : `Jira at ${url} rejected the request to ${ctx.action} (${status})${say}: correct what Jira names, e.g. a field the project requires.`,
      { retryable: false },
    );
  });
}

/**
 * The error for a success status whose body is not JSON, or a redirect (`location`, '' when it
 * names none): not Jira's REST API that answered.
 */
export function notJiraAnswer(
  ctx: FailureContext,
  facts: FailureFacts & { contentType: string | null; location?: string | undefined },
): OpsbookError {
  const type =
    facts.location !== undefined
      ? `a redirect${facts.location ? ` to ${redactSecrets(facts.location.slice(0, 300), facts.secrets)}` : ''}`
      : facts.contentType?.split(';')[0]?.trim() || 'a body of no content type';
  const words = facts.location !== undefined ? '' : jiraMessages(facts.body);
  return build(
    { ...facts, body: undefined },
    ctx,
    () =>
      new trackerErrors.UnreachableError(
        'TRACKER_NOT_JIRA',
        `${facts.url} answered ${facts.status} with ${type}${words ? ` ("${words}")` : ''}, not Jira's JSON, when trying to ${ctx.action}: check that JIRA_BASE_URL is Jira's own address (a proxy or a sign-in page answered), and its path prefix.`,
        { retryable: false },
      ),
  );
}

/** The error when no HTTP answer came back (refused, reset, DNS, timeout). */
export function networkFailure(
  ctx: FailureContext,
  facts: FailureFacts,
  cause: unknown,
  timedOut: boolean,
  timeoutMs: number,
): OpsbookError {
  const code =
    (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as { code?: string })?.code;
  return build(facts, ctx, () =>
    timedOut
      ? new trackerErrors.UnreachableError(
          'TRACKER_TIMEOUT',
          `Jira at ${facts.url} did not answer within ${timeoutMs} ms when trying to ${ctx.action} (${facts.attempts} attempt(s)): check that Jira is up, or raise the timeout; writes wait in the outbox (opsbook outbox flush).`,
          { retryable: true },
        )
      : new trackerErrors.UnreachableError(
          'TRACKER_UNREACHABLE',
          `Could not reach Jira at ${facts.url} to ${ctx.action}${code ? ` (${code})` : ''} after ${facts.attempts} attempt(s): check JIRA_BASE_URL and the network; writes wait in the outbox (opsbook outbox flush).`,
          { retryable: true, connectionRefused: code === 'ECONNREFUSED' },
        ),
  );
}

/** A refusal as too large: 413, or Data Center's 404 to an upload on a ticket that is there. */
function tooLarge(url: string, action: string, status: string, say: string): RefusalError {
  return new trackerErrors.RefusalError(
    'TRACKER_REQUEST_REJECTED',
    `Jira at ${url} refused the request to ${action} as too large (${status})${say}: a file over the site's attachment size limit, or the ticket at its limit of attachments or comments; a Jira admin can raise the limit (System, Attachments), and what opsbook meant to attach stays in its state store (opsbook runs show, opsbook journal verify). A write waiting in the outbox holds the ticket's later writes behind it: once the limit is raised, opsbook outbox flush --retry-failed sends it; to go on without it, opsbook outbox drop its id (opsbook outbox list), then opsbook outbox flush.`,
    { retryable: false },
  );
}

/**
 * Data Center's 404 to an attachment upload on a ticket the same credentials read: its document
 * says that is also a file over the site's attachment size limit.
 */
export function attachmentRefused(
  url: string,
  ticket: string,
  action: string,
  body: unknown,
): OpsbookError {
  const error = tooLarge(
    url,
    action,
    "404, Data Center's answer to a file over the limit; the ticket is there",
    said(body),
  );
  Object.assign(error.details, { url, ticket, status: 404 });
  return error;
}

/**
 * Data Center's 401 or 404 to an assign on a ticket the same credentials read: its document says
 * 401 is a missing Assign Issues permission, 404 a user it does not have.
 */
export function assignRefused(
  url: string,
  ticket: string,
  action: string,
  status: 401 | 404,
  assignee: string | null,
): OpsbookError {
  return status === 401
    ? new trackerErrors.UnreachableError(
        'TRACKER_FORBIDDEN',
        `Jira at ${url} does not let this account ${action} (401, Data Center's answer when the account may read the ticket but lacks the permission): ask a Jira admin for the "Assign Issues" permission in the project.`,
        { url, ticket, status, retryable: false },
      )
    : new trackerErrors.RefusalError(
        'TRACKER_REQUEST_REJECTED',
        `Jira at ${url} has no user ${assignee} to ${action} (404, the ticket is there): the assignee must be a Jira account that can be assigned issues in the project; check the person's jira: account in approvers.yaml (Data Center: a user name) and ask a Jira admin for their "Assignable User" permission.`,
        { url, ticket, status, retryable: false },
      );
}

/** A transition the workflow does not offer from the ticket's current status (exit 3). */
export function transitionUnavailable(
  url: string,
  ticket: string,
  from: string,
  to: string,
  offered: string[],
): RefusalError {
  const choices = offered.length ? offered.map((s) => `"${s}"`).join(', ') : 'none';
  return new trackerErrors.RefusalError(
    'TICKET_TRANSITION_UNAVAILABLE',
    `${url} offers no transition of ${ticket} from "${from}" to "${to}" (offered: ${choices}): move the ticket along its workflow first, or set tracker.jira.statuses to the status names your workflow uses.`,
    { url, ticket, from, to, offered, retryable: false },
  );
}

/**
 * A move Jira offers this account no transition at all for. Jira lists none, from any status,
 * when the account lacks Transition Issues or a workflow condition leaves it out: the status
 * names are not the cause, so the message does not point at them.
 */
export function noTransitionOffered(
  url: string,
  ticket: string,
  from: string,
  to: string,
  account: { account?: string | undefined; credentialHint: string },
): RefusalError {
  const who = account.account
    ? `the account ${account.account}`
    : `the account of ${account.credentialHint}`;
  return new trackerErrors.RefusalError(
    'TICKET_TRANSITION_UNAVAILABLE',
    `${url} offers no transition of ${ticket} at all to ${who} (it is "${from}", opsbook is moving it to "${to}"): Jira lists none when the account lacks the Transition Issues permission in the project, or when the workflow's conditions leave it out (e.g. only the assignee may transition); ask a Jira admin to check both for this account.`,
    {
      url,
      ticket,
      from,
      to,
      offered: [],
      ...(account.account ? { account: account.account } : {}),
      retryable: false,
    },
  );
}

/**
 * Fields a transition's screen requires (`expand=transitions.fields`) that
 * `tracker.jira.transitionFields.<role>` lacks: refused before the move is sent.
 */
export function transitionFieldsMissing(
  url: string,
  ticket: string,
  transition: { id: string; name: string; to: string },
  role: string,
  missing: { id: string; name: string }[],
): RefusalError {
  const named = transition.name !== '' ? `"${transition.name}"` : `id ${transition.id}`;
  const fields = missing.map((f) => `${f.name} (${f.id})`).join(', ');
  const keys = missing.map((f) => `tracker.jira.transitionFields.${role}.${f.id}`).join(', ');
  const example = missing.some((f) => f.id === 'resolution')
    ? ' (a resolution is e.g. {name: Done})'
    : '';
  return new trackerErrors.RefusalError(
    'TRACKER_REQUEST_REJECTED',
    `${url}: the transition ${named} that moves ${ticket} to "${transition.to}" requires ${fields} on its screen, and opsbook.yaml gives no value: set ${keys}${example}; the move was not sent.`,
    { url, ticket, to: transition.to, fields: missing.map((f) => f.id), retryable: false },
  );
}
