import { createHash } from 'node:crypto';
import { isOpsbookError } from '@opsbook/schema';
import { type Doc, fitDoc, hasText, TRACKER_BODY_LIMIT } from './document.js';
import { emptyComment, trackerErrors } from './error-codes.js';
import { adfText, commentFromJira, wikiText } from './jira-comment-text.js';
import {
  type CommentVisibility,
  connectJira,
  type JiraConnection,
  type JiraEnv,
  type JiraPriority,
  type JiraSettings,
} from './jira-connection.js';
import { findJiraDelivery } from './jira-delivery-probe.js';
import {
  assignRefused,
  attachmentRefused,
  noTransitionOffered,
  transitionFieldsMissing,
  transitionUnavailable,
} from './jira-errors.js';
import {
  jqlString,
  priorityField,
  priorityLabel,
  propertyValueOf,
  resolvePriorities,
  sameName,
  searchWords,
  TICKET_FIELDS,
  ticketFromIssue,
} from './jira-fields.js';
import { JiraHttp, type JiraHttpOptions, type JiraRequest } from './jira-http.js';
import { type Assignee, checkJiraSetup, type SetupCheck } from './jira-setup-check.js';
import {
  fieldsForScreen,
  type TransitionScreen,
  transitionScreen,
} from './jira-transition-screen.js';
import { renderAdf } from './render-adf.js';
import { renderWiki } from './render-wiki.js';
import {
  type Attachment,
  type CommentReadOptions,
  DELIVERY_PROPERTY,
  type DeliveryProbe,
  type FileToAttach,
  type Grade,
  type NewTicket,
  type PriorityOptions,
  type ReadOptions,
  type RemoteLink,
  resolveStatuses,
  roleCategory,
  type SearchOptions,
  type StatusNames,
  type StatusRole,
  type Ticket,
  type TicketComment,
  type TicketRef,
  type Tracker,
  type Transition,
  type WriteOptions,
} from './tracker.js';

type Json = Record<string, unknown>;
const enc = encodeURIComponent;

/**
 * Jira Cloud (REST v3, ADF bodies) or Data Center (REST v2, wiki-markup strings), over a thin
 * fetch client. Every write that the outbox may repeat carries a delivery id (see outbox.ts).
 */
export class JiraTracker implements Tracker {
  readonly kind = 'jira' as const;
  readonly site: string;
  readonly statuses: StatusNames;
  readonly http: JiraHttp;
  /** The priority of each grade (`tracker.jira.priorities` over Jira's default names). */
  readonly priorities: Record<Grade, JiraPriority>;
  private readonly settings: JiraSettings;

  get commentVisibility(): CommentVisibility | undefined {
    return this.settings.commentVisibility;
  }

  serverNow(): Date | undefined {
    return this.http.serverNow();
  }

  constructor(connection: JiraConnection, settings: JiraSettings, options: JiraHttpOptions = {}) {
    this.http = new JiraHttp(connection, options);
    this.site = connection.baseUrl;
    this.settings = settings;
    this.statuses = resolveStatuses(settings.statuses);
    this.priorities = resolvePriorities(settings.priorities);
  }

  private get cloud(): boolean {
    return this.http.connection.flavour === 'cloud';
  }

  private api(path: string): string {
    return `/rest/api/${this.cloud ? 3 : 2}${path}`;
  }

  /** REST path of `path` under this flavour's API (`/rest/api/3…` or `/rest/api/2…`). */
  apiPath(path: string): string {
    return this.api(path);
  }

  /**
   * Checks what opsbook.yaml's `tracker.jira` names against this Jira (account, project, issue
   * type, every status opsbook moves tickets to) and whether each of `assignees` (approvers.yaml's
   * people with a Jira account) can be assigned its tickets: `opsbook doctor`. Reads only.
   */
  checkSetup(
    assignees: readonly Assignee[] = [],
    options: ReadOptions = {},
  ): Promise<SetupCheck[]> {
    return checkJiraSetup(
      {
        cloud: this.cloud,
        http: this.http,
        apiPath: (p) => this.api(p),
        site: this.site,
        project: this.settings.project,
        issueType: this.settings.issueType ?? 'Task',
        statuses: this.statuses,
        commentVisibility: this.settings.commentVisibility,
      },
      assignees,
      options,
    );
  }

  /**
   * The page people open a ticket at. Behind Atlassian's API gateway (a base of
   * `…/ex/jira/<cloudId>`, which serves only the REST API) that is the site's own URL:
   * `tracker.jira.siteUrl`, else the `baseUrl` Jira's server info gives (read once), else the base.
   */
  async browseUrl(key: string): Promise<string> {
    this.site_ ??= this.siteOf();
    return `${await this.site_}/browse/${key}`;
  }

  private site_: Promise<string> | undefined;

  private async siteOf(): Promise<string> {
    const base = this.http.connection.baseUrl;
    if (this.settings.siteUrl) return this.settings.siteUrl.replace(/\/+$/, '');
    if (!/\/ex\/jira\/[^/]+$/.test(new URL(base).pathname)) return base;
    try {
      const res = await this.send({
        method: 'GET',
        path: this.api('/serverInfo'),
        context: { action: 'read the site URL of this Jira', permission: 'Browse Projects' },
      });
      const site = (res.body as Json | undefined)?.baseUrl;
      if (typeof site === 'string' && /^https?:\/\//.test(site)) return site.replace(/\/+$/, '');
    } catch (e) {
      if (!isOpsbookError(e)) throw e;
    }
    return base;
  }

  /** REST path of an issue (or of `rest` under it) for this flavour. */
  issuePath(key: string, rest = ''): string {
    return this.api(`/issue/${enc(key)}${rest}`);
  }

  /** The body as Jira takes it (ADF or wiki markup), shortened to Jira's size limit (fitDoc). */
  private rich(doc: Doc): unknown {
    // Rendered once; only a body past the limit is shortened (and rendered again as it shrinks).
    if (this.cloud) {
      const adf = renderAdf(doc);
      if (JSON.stringify(adf).length <= TRACKER_BODY_LIMIT) return adf;
      return renderAdf(fitDoc(doc, (d) => JSON.stringify(renderAdf(d)).length, TRACKER_BODY_LIMIT));
    }
    const wiki = renderWiki(doc);
    if (wiki.length <= TRACKER_BODY_LIMIT) return wiki;
    return renderWiki(fitDoc(doc, (d) => renderWiki(d).length, TRACKER_BODY_LIMIT));
  }

  private send(req: Omit<JiraRequest, 'path'> & { path: string }) {
    return this.http.send(req);
  }

  /** GETs an issue, or `rest` under it: reading needs Browse Projects; `action` says what failed. */
  private readIssue(
    key: string,
    rest: string,
    action: string,
    options: ReadOptions,
    request: Pick<JiraRequest, 'query' | 'expect'> = {},
  ) {
    return this.send({
      method: 'GET',
      path: this.issuePath(key, rest),
      ...request,
      signal: options.signal,
      context: { action, ticket: key, permission: 'Browse Projects' },
    });
  }

  /**
   * Creates the ticket; what Jira refuses of the reporter or the priority does not lose it. Setting
   * the reporter needs Modify Reporter (and the field on the create screen), the priority a name
   * or id of the project's priority scheme (and Priority on the create screen): without, Jira
   * refuses the whole create naming the field. A 400 created nothing, so the create goes again
   * without the fields it names (with the same delivery id: a retry of the whole still finds one
   * ticket), and the ref says what was left out (`reporterSet: false`, `priorityRefused`).
   */
  async create(ticket: NewTicket, options: WriteOptions = {}): Promise<TicketRef> {
    let sending = ticket;
    let priorityRefused: string | undefined;
    // Bounded: each refusal taken leaves out one field or two of the two.
    for (;;) {
      try {
        const ref = await this.createIssue(sending, options);
        return {
          ...ref,
          ...(ticket.reporter !== undefined ? { reporterSet: sending.reporter !== undefined } : {}),
          ...(priorityRefused ? { priorityRefused } : {}),
        };
      } catch (e) {
        const without = isOpsbookError(e) ? withoutRefused(sending, e.details.fields) : undefined;
        if (!without) throw e;
        if (sending.grade && !without.grade) priorityRefused = (e as Error).message;
        sending = without;
      }
    }
  }

  private async createIssue(ticket: NewTicket, options: WriteOptions): Promise<TicketRef> {
    const project = this.http.connection.project;
    const fields: Json = {
      project: { key: project },
      issuetype: { name: ticket.issueType ?? this.settings.issueType ?? 'Task' },
      // Jira refuses a summary of 255 characters or more, and a label with a space in it.
      summary: jiraSummary(ticket.summary),
    };
    if (ticket.description) fields.description = this.rich(ticket.description);
    if (ticket.labels?.length) fields.labels = ticket.labels.map((l) => l.replace(/\s+/g, '-'));
    // The project's own required fields (tracker.jira.fields): custom fields, components…
    for (const [name, value] of Object.entries(this.settings.fields ?? {}))
      if (!(name in fields)) fields[name] = value;
    const priority = ticket.grade && this.priorities[ticket.grade];
    if (priority) fields.priority = priorityField(priority);
    if (ticket.reporter !== undefined)
      fields.reporter = this.cloud ? { accountId: ticket.reporter } : { name: ticket.reporter };
    const json: Json = { fields };
    if (options.deliveryId)
      json.properties = [
        { key: DELIVERY_PROPERTY, value: this.propertyWire({ id: options.deliveryId }) },
      ];
    const res = await this.send({
      method: 'POST',
      path: this.api('/issue'),
      json,
      signal: options.signal,
      context: {
        action: `create a ticket in project ${project}`,
        permission: 'Create Issues',
        project,
        ...(ticket.grade && priority
          ? { priority: { grade: ticket.grade, label: priorityLabel(priority) } }
          : {}),
      },
    });
    const key = await this.createdKey((res.body ?? {}) as Json, ticket.summary, options);
    return { key, url: await this.browseUrl(key) };
  }

  /**
   * The key of the issue a create's 201 made. Both specs leave every member of that answer
   * optional (CreatedIssue, IssueCreateResponse): without `key`, the issue is read by its `id`.
   * Without either, the issue may well exist: TRACKER_CREATE_UNCONFIRMED (never retried on its
   * own; a retry of the outbox looks for the ticket by its delivery id before creating again).
   */
  private async createdKey(answer: Json, summary: string, options: WriteOptions): Promise<string> {
    if (typeof answer.key === 'string' && answer.key !== '') return answer.key;
    const id =
      typeof answer.id === 'string' || typeof answer.id === 'number' ? String(answer.id) : '';
    if (id !== '') {
      try {
        const read = await this.readIssue(id, '', `read the key of issue ${id}`, options, {
          query: { fields: 'summary' },
        });
        const key = (read.body as Json | undefined)?.key;
        if (typeof key === 'string' && key !== '') return key;
      } catch (e) {
        // Unreachable: the outbox keeps the create pending and looks for it before sending again.
        if (!isOpsbookError(e) || e.kind === 'unreachable') throw e;
      }
    }
    const project = this.http.connection.project;
    const words = searchWords(summary);
    const jql = `project = ${jqlString(project)}${words ? ` AND summary ~ ${jqlString(words)}` : ''} AND created >= -1d`;
    throw new trackerErrors.RefusalError(
      'TRACKER_CREATE_UNCONFIRMED',
      `Jira at ${this.site} answered the create in project ${project} with success but without the new issue's key${id ? ` (issue id ${id} could not be read)` : ' or id'}: the ticket ${JSON.stringify(summary)} may have been created. Look for it before creating it again (JQL: ${jql}); a queued create is looked for by its delivery id (entity property ${DELIVERY_PROPERTY}) by opsbook outbox flush --retry-failed. If JIRA_BASE_URL points at a proxy, check that it passes Jira's answers on whole.`,
      { retryable: false, project, ...(id ? { issueId: id } : {}) },
    );
  }

  async get(key: string, options: ReadOptions = {}): Promise<Ticket> {
    const res = await this.readIssue(key, '', `read ${key}`, options, {
      query: { fields: TICKET_FIELDS },
    });
    return this.ticketOf(res.body, options, key);
  }

  /**
   * An IssueBean as a Ticket. Both specs leave every member of StatusDetails optional. Without
   * its `name`, the status is named by its id (`GET /status/{id}`, once per status): the runner
   * lets a ticket run by its status's name. Without its `statusCategory`, the category of a
   * status opsbook names (tracker.jira.statuses) is its role's, so a ticket moved to the
   * configured done status is seen as closed; another status stays without one.
   */
  private async ticketOf(raw: unknown, options: ReadOptions, key?: string): Promise<Ticket> {
    let ticket = ticketFromIssue(raw, this.http.connection.flavour, key);
    if (ticket.status === '') {
      const fields = (raw as Json | undefined)?.fields as Json | undefined;
      ticket = { ...ticket, status: await this.statusNameIn(fields?.status, options) };
    }
    if (ticket.statusCategory || ticket.status === '') return ticket;
    const role = (Object.keys(this.statuses) as StatusRole[]).find((r) =>
      sameName(this.statuses[r], ticket.status),
    );
    return role ? { ...ticket, statusCategory: roleCategory(role) } : ticket;
  }

  /** Names of statuses read by id, kept for the client's life (a workflow's ids do not change). */
  private readonly statusNames = new Map<string, Promise<string | undefined>>();

  /** The name of a StatusDetails: its `name`, else the name its `id` reads as; else empty. */
  private async statusNameIn(status: unknown, options: ReadOptions): Promise<string> {
    const { name, id } = (status && typeof status === 'object' ? status : {}) as Json;
    if (typeof name === 'string' && name !== '') return name;
    const byId = typeof id === 'number' ? String(id) : typeof id === 'string' ? id : '';
    return (/^\d+$/.test(byId) && (await this.statusNameOf(byId, options))) || '';
  }

  /** A status's name by its id; undefined where Jira has no such status or names it not. */
  private statusNameOf(id: string, options: ReadOptions): Promise<string | undefined> {
    let named = this.statusNames.get(id);
    if (!named) {
      named = this.send({
        method: 'GET',
        path: this.api(`/status/${enc(id)}`),
        expect: [404],
        signal: options.signal,
        context: { action: `read the name of status ${id}`, permission: 'Browse Projects' },
      }).then((res) => {
        const name = (res.body as Json | undefined)?.name;
        return res.status !== 404 && typeof name === 'string' && name.trim() !== ''
          ? name
          : undefined;
      });
      this.statusNames.set(id, named);
      // A failed read is not kept: the next ticket read asks again.
      named.catch(() => this.statusNames.delete(id));
    }
    return named;
  }

  async description(key: string, options: ReadOptions = {}): Promise<string> {
    const res = await this.readIssue(key, '', `read the description of ${key}`, options, {
      query: { fields: 'description' },
    });
    const fields = (res.body as Json | undefined)?.fields as Json | undefined;
    const value = fields?.description;
    // Cloud: an ADF document; Data Center: wiki markup; null when there is none.
    return typeof value === 'string' ? wikiText(value) : value ? adfText(value) : '';
  }

  /**
   * Posts a comment. A 201 is the comment made, whatever it carries: both specs leave its `id`
   * optional, so without one (nor a `self` that ends in it) the id is undefined.
   */
  async comment(
    key: string,
    body: Doc,
    options: WriteOptions = {},
  ): Promise<{ id: string | undefined }> {
    // Sent, it would be `""` (Data Center) or an empty document (Cloud): Jira answers 400.
    if (!hasText(body)) throw emptyComment(key, 'nothing was sent');
    const json: Json = { body: this.rich(body) };
    const visibility = this.visibilityBody();
    if (visibility) json.visibility = visibility;
    if (options.deliveryId)
      json.properties = [
        { key: DELIVERY_PROPERTY, value: this.propertyWire({ id: options.deliveryId }) },
      ];
    const res = await this.send({
      method: 'POST',
      path: this.issuePath(key, '/comment'),
      json,
      signal: options.signal,
      context: {
        action: `comment on ${key}`,
        ticket: key,
        permission: 'Add Comments',
        ...(visibility ? { visibility: visibility as { type: string; value: string } } : {}),
      },
    });
    return { id: commentIdOf((res.body ?? {}) as Json) };
  }

  /**
   * The `visibility` of every comment opsbook posts (`tracker.jira.commentVisibility`), as this
   * flavour's spec has it: Data Center's VisibilityJsonBean has no `identifier`.
   */
  private visibilityBody(): Json | undefined {
    const v = this.settings.commentVisibility;
    if (!v) return undefined;
    const { type, value, identifier } = v;
    return this.cloud && identifier !== undefined ? { type, value, identifier } : { type, value };
  }

  async comments(key: string, options: CommentReadOptions = {}): Promise<TicketComment[]> {
    const list = await this.commentBeans(key, `read the comments of ${key}`, options);
    return list.map((c) => commentFromJira(c, this.http.connection.flavour)).reverse();
  }

  /**
   * The comment beans of an issue, newest first, at most COMMENT_LIMIT of them: the newest, as
   * opsbook looks for its latest proposal and deliveries. Pages follow `startAt` by what each
   * held (Jira may hold fewer than `maxResults` asks) until `total`, or, where there is no `total`
   * (neither spec requires it), until a page comes back empty. Where the first page's `total`
   * says there are more, reading jumps to the newest COMMENT_LIMIT; without it, every page is
   * read (up to COMMENT_READ_CAP comments) and the newest kept. Sorted by `created` (then id)
   * whatever order Jira answered in; a comment on two pages counts once. `onLeftOut` hears how
   * many older comments were left out (undefined: not all were read, how many is not known).
   * No `orderBy`: Cloud's operation says it answers 400 to one other than `created` (its enum
   * lists `-created`), and Jira's own order is by creation.
   */
  async commentBeans(
    key: string,
    action: string,
    options: CommentReadOptions,
    query: Record<string, string> = {},
  ): Promise<Json[]> {
    let beans = new Map<string, Json>();
    let startAt = 0;
    let leftOut: number | undefined = 0;
    let ended = false;
    // Bounded: each page read moves startAt on by at least one comment, up to the cap.
    while (startAt < COMMENT_READ_CAP) {
      const res = await this.readIssue(key, '/comment', action, options, {
        query: { ...query, startAt, maxResults: COMMENT_PAGE },
      });
      const body = (res.body ?? {}) as Json;
      const list = listIn(body, 'comments', `the comments of ${key}`, 'comments', key) as Json[];
      for (const c of list)
        if (c && typeof c === 'object') beans.set(String(c.id ?? `@${startAt + beans.size}`), c);
      startAt += list.length;
      const total = typeof body.total === 'number' ? body.total : undefined;
      if (list.length === 0 || (total !== undefined && startAt >= total)) {
        ended = true;
        break;
      }
      // More than opsbook reads: on to the newest COMMENT_LIMIT, without the older ones read.
      if (total !== undefined && total - startAt > COMMENT_LIMIT) {
        beans = new Map();
        startAt = total - COMMENT_LIMIT;
        leftOut = startAt;
      }
    }
    if (!ended) leftOut = undefined;
    const newest = [...beans.values()].sort(newestFirst);
    if (leftOut !== undefined && newest.length > COMMENT_LIMIT)
      leftOut += newest.length - COMMENT_LIMIT;
    if (leftOut !== 0) options.onLeftOut?.(leftOut);
    return newest.slice(0, COMMENT_LIMIT);
  }

  async attach(key: string, file: FileToAttach, options: WriteOptions = {}): Promise<Attachment> {
    const form = new FormData();
    const blob = new Blob([file.bytes], { type: file.contentType ?? 'application/octet-stream' });
    form.append('file', blob, file.filename);
    const action = `attach ${file.filename} to ${key}`;
    const path = this.issuePath(key, '/attachments');
    const res = await this.send({
      method: 'POST',
      path,
      form,
      uploadBytes: file.bytes.byteLength,
      // Data Center's 404 is also a file over the site's size limit (its document says).
      expect: this.cloud ? [] : [404],
      signal: options.signal,
      context: { action, ticket: key, permission: 'Create Attachments' },
    });
    if (res.status === 404) {
      await this.get(key, options); // no such ticket: throws that
      throw attachmentRefused(this.http.url(path), key, action, res.body);
    }
    const first = (Array.isArray(res.body) ? res.body[0] : res.body) as Json | undefined;
    return {
      id: String(first?.id ?? ''),
      filename: String(first?.filename ?? file.filename),
      size: Number(first?.size ?? file.bytes.byteLength),
    };
  }

  async transitions(key: string, options: ReadOptions = {}): Promise<Transition[]> {
    return (await this.listTransitions(key, options, false)).map(({ screen, ...t }) => t);
  }

  /** Set once this Jira refused `expand=transitions.fields` (400): not sent again. */
  private refusesTransitionsExpand = false;

  /** The transitions Jira offers; with `screens`, each one's screen where Jira reports it. */
  private async listTransitions(
    key: string,
    options: ReadOptions,
    screens: boolean,
  ): Promise<(Transition & { screen: TransitionScreen | undefined })[]> {
    const action = `list the transitions of ${key}`;
    const expand = screens && !this.refusesTransitionsExpand;
    // The DC document leaves `expand` out of this operation's parameters (its text documents
    // it): a Jira or proxy checking requests against the document refuses it with 400. Listed
    // again without it, and not asked for again; the screens are then unknown (the configured
    // fields are sent, Jira naming any it refuses).
    let res = await this.readIssue(
      key,
      '/transitions',
      action,
      options,
      expand ? { query: { expand: 'transitions.fields' }, expect: [400] } : {},
    );
    if (res.status === 400) {
      this.refusesTransitionsExpand = true;
      res = await this.readIssue(key, '/transitions', action, options);
    }
    const list = Array.isArray((res.body as Json)?.transitions)
      ? ((res.body as Json).transitions as Json[])
      : [];
    // The spec makes a transition's id optional: one without an id cannot be taken, and would
    // otherwise be posted as "undefined".
    const usable = list.filter((t) => typeof t.id === 'string' || typeof t.id === 'number');
    const offered: (Transition & { screen: TransitionScreen | undefined })[] = [];
    for (const t of usable) {
      // `to` is a StatusDetails, its name optional as an issue's status's is.
      const to = await this.statusNameIn(t.to, options);
      // So is its name: empty then, never "undefined" (messages name it by its id instead).
      const name = typeof t.name === 'string' ? t.name : '';
      offered.push({ id: String(t.id), name, to, screen: transitionScreen(t) });
    }
    return offered;
  }

  async transition(key: string, status: string, options: WriteOptions = {}): Promise<void> {
    try {
      await this.transitionOnce(key, status, options);
    } catch (e) {
      // 409: another update of the ticket went in first (an edit, a concurrent move). Read it
      // again and move it once more; a second conflict is reported as it is.
      if (!isOpsbookError(e) || (e.details as { status?: unknown })?.status !== 409) throw e;
      await this.transitionOnce(key, status, options);
    }
  }

  private async transitionOnce(key: string, status: string, options: WriteOptions): Promise<void> {
    // Re-reading first makes the transition idempotent: a retry after a lost answer is a no-op.
    const current = await this.get(key, options);
    if (sameName(current.status, status)) return;
    // Another writer may move the ticket between our read and our POST (two runners starting
    // runs of one approval both move it to In Progress): refused then, it is where we wanted it.
    const arrived = async (e: unknown) => {
      const now = await this.get(key, options).catch(() => undefined);
      if (now && sameName(now.status, status)) return;
      throw e;
    };
    const offered = await this.listTransitions(key, options, true);
    // By where it leads; by its name only where Jira did not say where it leads. A transition
    // named like the status that leads elsewhere would move the ticket to another status.
    const chosen =
      offered.find((t) => sameName(t.to, status)) ??
      offered.find((t) => t.to === '' && sameName(t.name, status));
    const browse = await this.browseUrl(key);
    const unavailable = () =>
      transitionUnavailable(
        browse,
        key,
        current.status,
        status,
        offered.map((t) => t.to),
      );
    // None at all is the account's permission or a workflow condition, not the status names.
    if (offered.length === 0)
      return arrived(
        noTransitionOffered(browse, key, current.status, status, this.http.connection),
      );
    if (!chosen) return arrived(unavailable());
    // The configured fields of this move (tracker.jira.transitionFields) that its screen has.
    const role = (Object.keys(this.statuses) as StatusRole[]).find((r) =>
      sameName(this.statuses[r], status),
    );
    const roleKey = role ?? '<status role>';
    const { fields, missing } = fieldsForScreen(
      chosen.screen,
      role ? this.settings.transitionFields?.[role] : undefined,
    );
    if (missing.length)
      return arrived(transitionFieldsMissing(browse, key, chosen, roleKey, missing));
    const sent = Object.keys(fields);
    const res = await this.send({
      method: 'POST',
      path: this.issuePath(key, '/transitions'),
      json: { transition: { id: chosen.id }, ...(sent.length ? { fields } : {}) },
      // Data Center answers 500 for a transition id the workflow does not have: that means "not
      // offered", not an outage (packages/tracker/README.md, "Retries, timeouts and the outbox").
      expect: this.cloud ? [] : [500],
      signal: options.signal,
      context: {
        action: `move ${key} to "${status}"`,
        ticket: key,
        permission: 'Transition Issues',
        transition: { role: roleKey, sent },
      },
    }).catch(async (e: unknown) => {
      if (isOpsbookError(e) && e.code === 'TRACKER_REQUEST_REJECTED') await arrived(e);
      else throw e;
      return undefined;
    });
    if (res?.status === 500) await arrived(unavailable());
    // Chosen by its name (Jira did not say where it leads): check that it led there.
    if (res && !sameName(chosen.to, status)) {
      const now = await this.get(key, options);
      if (!sameName(now.status, status)) throw unavailable();
    }
  }

  async assign(key: string, assignee: string | null, options: WriteOptions = {}): Promise<void> {
    if (assignee === null) return this.unassign(key, options);
    const action = `assign ${key} to ${assignee}`;
    const path = this.issuePath(key, '/assignee');
    await this.send({
      method: 'PUT',
      path,
      json: this.cloud ? { accountId: assignee } : { name: assignee },
      signal: options.signal,
      context: { action, ticket: key, permission: 'Assign Issues' },
    }).catch(async (e: unknown) => {
      const status = isOpsbookError(e) ? e.details.status : undefined;
      if (this.cloud || (status !== 401 && status !== 404)) throw e;
      // Data Center answers 401 also without Assign Issues, and 404 also for a user it does not
      // have: the ticket read with the same credentials tells which (throwing if it is the ticket
      // or the credentials).
      await this.get(key, options);
      throw assignRefused(this.http.url(path), key, action, status, assignee);
    });
  }

  /**
   * Nobody assigned, through an edit of the field: the assignee operation's body types the account
   * id (Cloud) or name (Data Center) as a string, so the `null` its description allows is a body
   * its own schema refuses.
   */
  private async unassign(key: string, options: WriteOptions): Promise<void> {
    await this.send({
      method: 'PUT',
      path: this.issuePath(key),
      json: { fields: { assignee: null } },
      signal: options.signal,
      context: { action: `unassign ${key}`, ticket: key, permission: 'Assign Issues' },
    });
  }

  async setPriority(key: string, grade: Grade, options: PriorityOptions = {}): Promise<void> {
    const priority = this.priorities[grade];
    const label = priorityLabel(priority);
    const summary = options.summary ? { summary: jiraSummary(options.summary) } : {};
    await this.send({
      method: 'PUT',
      path: this.issuePath(key),
      json: { fields: { priority: priorityField(priority), ...summary } },
      signal: options.signal,
      context: {
        action: `set the priority of ${key} to ${label} (${grade})`,
        ticket: key,
        permission: 'Edit Issues',
        priority: { grade, label },
      },
    });
  }

  async search(jql: string, options: SearchOptions = {}): Promise<Ticket[]> {
    const limit = options.limit ?? 100;
    const tickets: Ticket[] = [];
    const context = { action: `search with JQL ${jql}`, permission: 'Browse Projects' };
    let token: string | undefined;
    // Bounded: at most 1,000 pages; on Data Center each yields a ticket or ends the loop, on
    // Cloud each carries a token other than the one sent or ends it.
    for (let page = 0; tickets.length < limit && page < 1000; page++) {
      const maxResults = Math.min(100, limit - tickets.length);
      const fields = TICKET_FIELDS.split(',');
      // POSTed: the bodies are typed in both documents (fields a list of strings), where the
      // query's `fields` is an array on Cloud and the object StringList on Data Center.
      const json = this.cloud
        ? { jql, fields, maxResults, ...(token ? { nextPageToken: token } : {}) }
        : { jql, fields, maxResults, startAt: tickets.length };
      const res = await this.send({
        method: 'POST',
        path: this.api(this.cloud ? '/search/jql' : '/search'),
        json,
        idempotent: true, // a search reads only
        signal: options.signal,
        context,
      });
      const body = (res.body ?? {}) as Json;
      const issues = listIn(body, 'issues', `the search with JQL ${jql}`, 'issues');
      for (const issue of issues) tickets.push(await this.ticketOf(issue, options));
      if (this.cloud) {
        // Cloud leaves out of a page, once cut, the issues the caller may not browse: a page may
        // be empty with more after it, which only `isLast` or the token's absence rules out.
        const next = typeof body.nextPageToken === 'string' ? body.nextPageToken : undefined;
        if (!next || next === token || body.isLast === true) break;
        token = next;
      } else if (
        issues.length === 0 ||
        (typeof body.total === 'number' && tickets.length >= body.total)
      )
        break;
    }
    return tickets.slice(0, limit);
  }

  /**
   * A property's value. One kept in parts (setProperty: past Jira's 32 KB) is read part by part
   * and joined; a part missing or not matching the head's sha256 is TRACKER_PROPERTY_INCOMPLETE.
   */
  async getProperty(
    key: string,
    property: string,
    options: ReadOptions = {},
  ): Promise<unknown | undefined> {
    const value = await this.readProperty(key, property, options);
    const head = partsHeadOf(value);
    if (!head) return value;
    const texts: string[] = [];
    for (let i = 0; i < head.count; i++) {
      const part = await this.readProperty(key, partKey(property, head.sha256, i), options);
      const text = (part as Json | undefined)?.text;
      if (typeof text !== 'string') break;
      texts.push(text);
    }
    const json = texts.join('');
    if (texts.length !== head.count || sha256Hex(json) !== head.sha256)
      throw new trackerErrors.RefusalError(
        'TRACKER_PROPERTY_INCOMPLETE',
        `property ${property} of ${key} is kept in ${head.count} parts, and ${texts.length === head.count ? 'they do not match its sha256' : `part ${texts.length + 1} is missing`}: it is being written (try again), or someone edited the ticket's properties`,
        { ticket: key, property },
      );
    return JSON.parse(json) as unknown;
  }

  /**
   * A property value as this Jira's spec types it on the wire. Cloud takes the JSON value itself.
   * Data Center's spec types every entity property value as a string (`EntityPropertyBean.value`,
   * and the PUT body `type: string, format: json`); Jira stores the raw JSON it is given, so the
   * value goes as a JSON string holding its JSON text, which any Data Center and a spec-faithful
   * server both take, and is read back with propertyValueOf.
   */
  private propertyWire(value: unknown): unknown {
    return this.cloud ? value : JSON.stringify(value);
  }

  private async readProperty(key: string, property: string, options: ReadOptions) {
    const res = await this.readIssue(
      key,
      `/properties/${enc(property)}`,
      `read property ${property} of ${key}`,
      options,
      { expect: [404] },
    );
    if (res.status === 404) {
      await this.get(key, options); // tells "no such ticket" (throws) from "no such property"
      return undefined;
    }
    // EntityProperty's `value` is optional in both specs; a property Jira has is not one it lacks
    // (a run record read as absent would not count against the approval's maxRuns).
    const body = res.body as Json | undefined;
    if (!body || typeof body !== 'object' || !('value' in body))
      throw new trackerErrors.RefusalError(
        'TRACKER_PROPERTY_INCOMPLETE',
        `Jira answered property ${property} of ${key} without its value: opsbook cannot tell what it holds, and does not take it for absent. Try again; if Jira keeps answering so, check that JIRA_BASE_URL reaches Jira itself (not a proxy that trims its answers).`,
        { ticket: key, property },
      );
    return propertyValueOf(body.value);
  }

  /**
   * Sets a property. Jira refuses a value over 32,768 bytes (an approval for a thousand hosts is
   * more): such a value is written in parts (`{text}`, a piece of its JSON) under keys named by its sha256, then the
   * head that names them; a reader never sees a head whose parts are not all there. The parts of
   * the value it replaces are deleted after (best effort).
   */
  async setProperty(
    key: string,
    property: string,
    value: unknown,
    options: WriteOptions = {},
  ): Promise<void> {
    const json = JSON.stringify(value);
    // Sized as sent: propertyWire is the one place that knows a flavour's wire form.
    if (Buffer.byteLength(JSON.stringify(this.propertyWire(value))) <= PROPERTY_BYTES)
      return this.putProperty(key, property, value, options);
    const earlier = partsHeadOf(await this.readProperty(key, property, options));
    const sha256 = sha256Hex(json);
    const parts = partsOf(json);
    for (const [i, text] of parts.entries())
      await this.putProperty(key, partKey(property, sha256, i), { text }, options);
    await this.putProperty(key, property, { [PARTS]: { count: parts.length, sha256 } }, options);
    if (earlier && earlier.sha256 !== sha256)
      for (let i = 0; i < earlier.count; i++)
        await this.deleteProperty(key, partKey(property, earlier.sha256, i), options).catch(
          () => undefined,
        );
  }

  private async putProperty(key: string, property: string, value: unknown, options: WriteOptions) {
    await this.send({
      method: 'PUT',
      path: this.issuePath(key, `/properties/${enc(property)}`),
      json: this.propertyWire(value),
      signal: options.signal,
      context: {
        action: `set property ${property} of ${key}`,
        ticket: key,
        permission: 'Edit Issues',
      },
    });
  }

  /**
   * The ticket's property keys, without the parts of values kept in parts. Both specs leave the
   * list's `keys`, and each one's `key`, optional; Jira answers `{"keys": []}` for a ticket with
   * none. A list without them is not "none": the runs recorded on the ticket would go uncounted
   * against the approval's maxRuns, so it is TRACKER_PROPERTY_INCOMPLETE.
   */
  async propertyKeys(key: string, options: ReadOptions = {}): Promise<string[]> {
    const res = await this.readIssue(key, '/properties', `list the properties of ${key}`, options);
    const keys = (res.body as Json | undefined)?.keys;
    const unknown = (what: string) =>
      new trackerErrors.RefusalError(
        'TRACKER_PROPERTY_INCOMPLETE',
        `Jira answered the list of properties of ${key} without ${what}: opsbook cannot tell which it holds (the runs recorded on it among them), and does not take it for none. Try again; if Jira keeps answering so, check that JIRA_BASE_URL reaches Jira itself (not a proxy that trims its answers).`,
        { ticket: key },
      );
    if (!Array.isArray(keys)) throw unknown('their keys');
    return keys.flatMap((k: unknown) => {
      const name = (k as Json | null)?.key;
      if (typeof name !== 'string' || name === '') throw unknown('the key of one of them');
      return PART_KEY.test(name) ? [] : [name];
    });
  }

  /** Removes a property, and its parts when it is kept in parts. */
  async deleteProperty(key: string, property: string, options: WriteOptions = {}): Promise<void> {
    const head = PART_KEY.test(property)
      ? undefined
      : partsHeadOf(await this.readProperty(key, property, options));
    await this.deleteOne(key, property, options);
    for (let i = 0; i < (head?.count ?? 0); i++)
      await this.deleteOne(key, partKey(property, head!.sha256, i), options);
  }

  private async deleteOne(key: string, property: string, options: WriteOptions): Promise<void> {
    await this.send({
      method: 'DELETE',
      path: this.issuePath(key, `/properties/${enc(property)}`),
      expect: [404],
      signal: options.signal,
      context: {
        action: `delete property ${property} of ${key}`,
        ticket: key,
        permission: 'Edit Issues',
      },
    });
  }

  async addRemoteLink(key: string, link: RemoteLink, options: WriteOptions = {}): Promise<void> {
    const object: Json = { url: link.url, title: link.title };
    if (link.summary) object.summary = link.summary;
    await this.send({
      method: 'POST',
      path: this.issuePath(key, '/remotelink'),
      json: { globalId: link.globalId, object },
      idempotent: true, // Jira upserts a remote link by globalId: sending it again changes nothing
      signal: options.signal,
      context: { action: `link ${link.url} from ${key}`, ticket: key, permission: 'Link Issues' },
    });
  }

  async remoteLinks(key: string, options: ReadOptions = {}): Promise<RemoteLink[]> {
    const res = await this.readIssue(key, '/remotelink', `list the links of ${key}`, options);
    const list = (Array.isArray(res.body) ? res.body : res.body ? [res.body] : []) as Json[];
    return list.map((l) => {
      const o = (l.object ?? {}) as Json;
      const link: RemoteLink = {
        globalId: String(l.globalId ?? ''),
        url: String(o.url ?? ''),
        title: String(o.title ?? ''),
      };
      if (typeof o.summary === 'string') link.summary = o.summary;
      return link;
    });
  }

  findDelivered(probe: DeliveryProbe, options: ReadOptions = {}): Promise<string | undefined> {
    return findJiraDelivery(this, probe, options);
  }
}

/**
 * The ticket without the fields a 400 named, when every field it named is one the ticket can go
 * without (the reporter, the priority of its grade); undefined when it named another.
 */
function withoutRefused(ticket: NewTicket, named: unknown): NewTicket | undefined {
  if (!Array.isArray(named) || named.length === 0) return undefined;
  // Labels too: a create screen without the Labels field refuses them, and they are only tags.
  const sent = (f: unknown) =>
    (f === 'reporter' && ticket.reporter !== undefined) ||
    (f === 'priority' && ticket.grade !== undefined) ||
    (f === 'labels' && ticket.labels?.length);
  if (!named.every(sent)) return undefined;
  const { reporter, grade, labels, ...rest } = ticket;
  return {
    ...rest,
    ...(reporter !== undefined && !named.includes('reporter') ? { reporter } : {}),
    ...(grade !== undefined && !named.includes('priority') ? { grade } : {}),
    ...(labels !== undefined && !named.includes('labels') ? { labels } : {}),
  };
}

/** A Jira tracker from `tracker.jira` settings and the environment (the CLI passes process.env). */
export function createJiraTracker(
  settings: JiraSettings,
  env: JiraEnv,
  options: JiraHttpOptions = {},
): JiraTracker {
  return new JiraTracker(connectJira(settings, env), settings, options);
}

/**
 * The list a page of Jira's answer holds (`issues`, `comments`). Both specs leave it optional, and
 * Jira sends it, empty where there is none. A page without it says nothing of what Jira holds:
 * taken for empty, a comment or create whose answer was lost would be looked for there, not
 * found, and sent a second time. Unreachable and retryable: the outbox keeps the write pending.
 */
function listIn(
  body: Json,
  member: string,
  what: string,
  items: string,
  ticket?: string,
): unknown[] {
  const list = body[member];
  if (Array.isArray(list)) return list;
  throw new trackerErrors.UnreachableError(
    'TRACKER_ANSWER_INCOMPLETE',
    `Jira answered ${what} without the list of ${items} (\`${member}\`): opsbook cannot tell what it holds, and does not take it for none. Try again; if Jira keeps answering so, check that JIRA_BASE_URL reaches Jira itself (not a proxy that trims its answers). Writes wait in the outbox (opsbook outbox flush).`,
    { retryable: true, ...(ticket ? { ticket } : {}) },
  );
}

/** A comment's id from its 201: `id`, else the last segment of `self` (…/comment/10001). */
function commentIdOf(answer: Json): string | undefined {
  const { id, self } = answer;
  if ((typeof id === 'string' && id !== '') || typeof id === 'number') return String(id);
  const fromSelf = typeof self === 'string' ? /\/comment\/(\d+)\/?$/.exec(self)?.[1] : undefined;
  return fromSelf;
}

/** The newest comments of an issue opsbook reads: 5,000, Cloud's limit of comments on an issue. */
const COMMENT_LIMIT = 5000;
/** Comments asked for per page (Jira may answer fewer). */
const COMMENT_PAGE = 100;
/**
 * How far reading goes where Jira answers without `total` (Data Center has no limit per issue):
 * past this, the newest comments may be unread, which `onLeftOut` says (undefined).
 */
const COMMENT_READ_CAP = 50_000;

/** Comment beans newest first: by `created`, then by id (Jira's ids grow), where each is readable. */
function newestFirst(a: Json, b: Json): number {
  const at = (c: Json) => (typeof c.created === 'string' ? Date.parse(c.created) : Number.NaN);
  const [ta, tb] = [at(a), at(b)];
  if (Number.isFinite(ta) && Number.isFinite(tb) && ta !== tb) return tb - ta;
  const [ia, ib] = [Number(a.id), Number(b.id)];
  return Number.isFinite(ia) && Number.isFinite(ib) ? ib - ia : 0;
}

/** Jira's limit on a property value is 32,768 bytes; past this a value is kept in parts. */
const PROPERTY_BYTES = 32_000;
/**
 * Characters of JSON text per part: at most 3 bytes each once written as a JSON string (`{text}`),
 * and at most 4 once that is written as a string again (Data Center, propertyWire): a `"` or `\\`
 * becomes `\\\"` or `\\\\`. 7,500 × 4 and the key stay under PROPERTY_BYTES.
 */
const PART_CHARS = 7_500;

/**
 * A value's JSON in parts of at most PART_CHARS characters, never cut between the two halves of
 * a character outside the Basic Multilingual Plane (an emoji): a lone half is not text, and a
 * Jira stores it mangled, so the parts would no longer join into the value.
 */
function partsOf(json: string): string[] {
  const parts: string[] = [];
  for (let at = 0; at < json.length; ) {
    let end = Math.min(at + PART_CHARS, json.length);
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(json.slice(at, end));
    at = end;
  }
  return parts;
}
const PARTS = 'opsbook.parts';
const PART_KEY = /\.part\.[0-9a-f]{16}\.\d+$/;

const partKey = (property: string, sha256: string, i: number) =>
  `${property}.part.${sha256.slice(0, 16)}.${i}`;

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The head of a value kept in parts: how many, and the sha256 of their joined text. */
function partsHeadOf(value: unknown): { count: number; sha256: string } | undefined {
  const head = (value as Json | undefined)?.[PARTS] as Json | undefined;
  if (!head || typeof head !== 'object') return undefined;
  const { count, sha256 } = head;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
    return undefined;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  return { count, sha256 };
}

/**
 * A summary as Jira takes it: on one line (it refuses a line break: "The summary is invalid
 * because it contains newline characters"), each run of them a space, and at most 254 characters
 * (it refuses 255 and more), cut with "…".
 */
function jiraSummary(summary: string): string {
  const line = summary.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return line.length > 254 ? `${line.slice(0, 253)}\u2026` : line;
}
