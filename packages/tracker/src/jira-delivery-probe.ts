import { type TrackerErrorCode, trackerErrors } from './error-codes.js';
import type { JiraTracker } from './jira-client.js';
import { jqlString, propertyValueOf, searchWords } from './jira-fields.js';
import { DELIVERY_PROPERTY, type DeliveryProbe, type ReadOptions } from './tracker.js';

type Json = Record<string, unknown>;

/**
 * Without the time the write was queued: the newest comments whose delivery id is read one by
 * one when the list does not carry it.
 */
const RECENT_COMMENTS = 20;

/**
 * How far a comment's or ticket's `created` may lag the time the outbox queued the write (Jira's
 * clock against the runner's): generous, since a look at one more comment costs one read.
 */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

/**
 * Did an earlier attempt of this write reach Jira? Creates and comments carry the delivery id
 * as an entity property set in the same request; attachments cannot, so they match by name and
 * size (see README, "Exactly once").
 */
export async function findJiraDelivery(
  jira: JiraTracker,
  probe: DeliveryProbe,
  options: ReadOptions,
): Promise<string | undefined> {
  if (probe.kind === 'create')
    return findCreated(jira, probe.deliveryId, probe.summary, probe.since, options);
  if (probe.kind === 'comment') {
    // A ticket past 5,000 comments is read newest first, its older ones left out: the write
    // may be among those, which an absent answer would post a second time.
    let leftOut: { count: number | undefined } | undefined;
    const list = await jira.commentBeans(
      probe.key,
      `list the comments of ${probe.key}`,
      { ...options, onLeftOut: (count) => (leftOut = { count }) },
      { expand: 'properties' },
    );
    const hit = list.find((c) =>
      ((c.properties ?? []) as Json[]).some(
        (p) =>
          p.key === DELIVERY_PROPERTY &&
          (propertyValueOf(p.value) as Json | undefined)?.id === probe.deliveryId,
      ),
    );
    if (hit) return String(hit.id);
    const since = probe.since === undefined ? Number.NaN : Date.parse(probe.since);
    const unsure = leftOut && !readBackTo(list, since, leftOut.count) ? leftOut : undefined;
    // `expand=properties` is not in the spec (it documents renderedBody only): a Jira that
    // ignores it answers without properties, and the property of each comment that may be the
    // write is read on its own: every comment made since the write was queued (a busy ticket
    // may have had many since), or without that time the newest RECENT_COMMENTS.
    if (list.some((c) => Array.isArray(c.properties))) return absentUnless(unsure, probe.key);
    const candidates = Number.isNaN(since)
      ? list.slice(0, RECENT_COMMENTS)
      : list.filter((c) => !(jiraTime(c.created) < since - CLOCK_SKEW_MS));
    for (const c of candidates) {
      const id = String(c.id ?? '');
      if (!/^[0-9]+$/.test(id)) continue;
      const mark = await jira.http.send({
        method: 'GET',
        path: jira.apiPath(`/comment/${id}/properties/${encodeURIComponent(DELIVERY_PROPERTY)}`),
        expect: [404],
        signal: options.signal,
        context: {
          action: `read the delivery id of comment ${id} on ${probe.key}`,
          ticket: probe.key,
          permission: 'Browse Projects',
        },
      });
      const value = propertyValueOf((mark.body as Json | undefined)?.value) as Json | undefined;
      if (mark.status !== 404 && value?.id === probe.deliveryId) return id;
    }
    return absentUnless(unsure, probe.key);
  }
  const res = await jira.http.send({
    method: 'GET',
    path: jira.issuePath(probe.key),
    query: { fields: 'attachment' },
    signal: options.signal,
    context: {
      action: `list the attachments of ${probe.key}`,
      ticket: probe.key,
      permission: 'Browse Projects',
    },
  });
  const body = (res.body ?? {}) as Json;
  const files = (body.fields as Json | undefined)?.attachment;
  // Jira sends `attachment: []` for an issue with none; without the field (IssueBean's `fields`
  // is an open map), the file may be there, and taken for absent it would be attached twice.
  if (!Array.isArray(files))
    throw new trackerErrors.UnreachableError(
      'TRACKER_ANSWER_INCOMPLETE' satisfies TrackerErrorCode<'unreachable'>,
      `Jira answered ${probe.key} without its attachment field: opsbook cannot tell whether ${probe.filename} was attached already, and does not attach it again. Try again; if Jira keeps answering so, check that JIRA_BASE_URL reaches Jira itself (not a proxy that trims its answers). The write waits in the outbox (opsbook outbox flush).`,
      { retryable: true, ticket: probe.key },
    );
  const match = (files as Json[]).find(
    (a) => a.filename === probe.filename && Number(a.size) === probe.size,
  );
  return match ? String(match.id) : undefined;
}

/**
 * Do the comments read go back to before the write was queued (less the clocks' leeway)? Then the
 * older ones left out cannot hold it. Not where how many were left out is unknown: Jira answered
 * without `total` past the read cap, and the newest comments may be the ones unread.
 */
function readBackTo(list: readonly Json[], since: number, leftOut: number | undefined): boolean {
  if (leftOut === undefined || Number.isNaN(since)) return false;
  const oldest = list.at(-1);
  return oldest !== undefined && jiraTime(oldest.created) < since - CLOCK_SKEW_MS;
}

/** Undefined (not delivered) when every comment that may be the write was read; else refused. */
function absentUnless(unsure: { count: number | undefined } | undefined, key: string): undefined {
  if (!unsure) return undefined;
  const older =
    unsure.count === undefined ? 'some of its comments' : `its ${unsure.count} oldest comments`;
  throw new trackerErrors.OpsbookError(
    'refused',
    'TRACKER_DELIVERY_UNCERTAIN' satisfies TrackerErrorCode<'refused'>,
    `could not tell whether this comment already reached ${key}: ${key} has more comments than the 5,000 newest opsbook reads, and ${older} (where an earlier attempt may have posted it) were not read. Look on ${key} for the comment; if it is there, \`opsbook outbox drop\` this entry (its id in \`opsbook outbox list\`); if not, \`opsbook outbox flush --retry-failed\` posts it without looking again.`,
    { ticket: key, olderCommentsLeftOut: unsure.count ?? 'unknown' },
  );
}

async function findCreated(
  jira: JiraTracker,
  deliveryId: string,
  summary: string,
  since: string | undefined,
  options: ReadOptions,
): Promise<string | undefined> {
  const project = jira.http.connection.project;
  const words = searchWords(summary);
  const jql = `project = ${jqlString(project)}${words ? ` AND summary ~ ${jqlString(words)}` : ''} AND created >= ${createdSince(since)} ORDER BY created DESC`;
  const checked = new Set<string>();
  // Jira's search index may lag a create by seconds ("recent updates might not be immediately
  // visible"): a ticket not found at once is looked for again before the create is sent again.
  for (const wait of [0, ...INDEX_LAG_WAITS_MS]) {
    if (wait) await jira.http.pause(wait, options.signal);
    for (const candidate of await jira.search(jql, { limit: 20, signal: options.signal })) {
      if (checked.has(candidate.key)) continue;
      checked.add(candidate.key);
      const mark = (await jira.getProperty(candidate.key, DELIVERY_PROPERTY, options)) as
        | Json
        | undefined;
      if (mark?.id === deliveryId) return candidate.key;
    }
  }
  return undefined;
}

/** The waits before searching again for a create that may not be indexed yet (7 s in all). */
const INDEX_LAG_WAITS_MS = [1000, 2000, 4000];

/**
 * The JQL lower bound on `created` for a create queued at `since`: the day before, as a date
 * (JQL reads a date in the Jira user's time zone, which is at most 14 hours from UTC), so that a
 * create queued long ago (an outbox that waited out a week-long outage) is still found. Without
 * `since`, the last 7 days.
 */
function createdSince(since: string | undefined): string {
  const at = since === undefined ? Number.NaN : Date.parse(since);
  if (Number.isNaN(at)) return '-7d';
  return jqlString(new Date(at - 24 * 60 * 60 * 1000).toISOString().slice(0, 10));
}

/** A comment's `created` as Jira writes it (`2026-12-06T19:00:00.000+0000`), in ms; NaN if not. */
function jiraTime(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  // Date.parse wants the offset as +00:00.
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}
