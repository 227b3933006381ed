import { isOpsbookError } from '@opsbook/schema';
import type { Doc } from './document.js';
import {
  connectJira,
  type JiraConnection,
  type JiraEnv,
  type JiraSettings,
} from './jira-connection.js';
import { findJiraDelivery } from './jira-delivery-probe.js';
import { transitionUnavailable } from './jira-errors.js';
import { GRADE_PRIORITY, sameName, TICKET_FIELDS, ticketFromIssue } from './jira-fields.js';
import { JiraHttp, type JiraHttpOptions, type JiraRequest } from './jira-http.js';
import { renderAdf } from './render-adf.js';
import { renderWiki } from './render-wiki.js';
import {
  type Attachment,
  DELIVERY_PROPERTY,
  type DeliveryProbe,
  type FileToAttach,
  type Grade,
  type NewTicket,
  type ReadOptions,
  type RemoteLink,
  resolveStatuses,
  type SearchOptions,
  type StatusNames,
  type Ticket,
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
  readonly statuses: StatusNames;
  readonly http: JiraHttp;
  private readonly settings: JiraSettings;

  constructor(connection: JiraConnection, settings: JiraSettings, options: JiraHttpOptions = {}) {
    this.http = new JiraHttp(connection, options);
    this.settings = settings;
    this.statuses = resolveStatuses(settings.statuses);
  }

  private get cloud(): boolean {
    return this.http.connection.flavour === 'cloud';
  }

  private api(path: string): string {
    return `/rest/api/${this.cloud ? 3 : 2}${path}`;
  }

  /** REST path of an issue (or of `rest` under it) for this flavour. */
  issuePath(key: string, rest = ''): string {
    return this.api(`/issue/${enc(key)}${rest}`);
  }

  private rich(doc: Doc): unknown {
    return this.cloud ? renderAdf(doc) : renderWiki(doc);
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

  async create(ticket: NewTicket, options: WriteOptions = {}): Promise<TicketRef> {
    if (ticket.reporter === undefined) return this.createIssue(ticket, options);
    try {
      return await this.createIssue(ticket, options);
    } catch (e) {
      // Setting the reporter needs Modify Reporter (and the field on the create screen); without
      // it Jira refuses the whole create naming the field. A 400 created nothing: send it again
      // without, and let the caller name the person some other way.
      const fields = isOpsbookError(e) ? e.details.fields : undefined;
      if (!Array.isArray(fields) || !fields.includes('reporter')) throw e;
      const { reporter: _r, ...rest } = ticket;
      return { ...(await this.createIssue(rest, options)), reporterSet: false };
    }
  }

  private async createIssue(ticket: NewTicket, options: WriteOptions): Promise<TicketRef> {
    const project = this.http.connection.project;
    const fields: Json = {
      project: { key: project },
      issuetype: { name: ticket.issueType ?? this.settings.issueType ?? 'Task' },
      summary: ticket.summary,
    };
    if (ticket.description) fields.description = this.rich(ticket.description);
    if (ticket.labels?.length) fields.labels = ticket.labels;
    if (ticket.grade) fields.priority = { name: GRADE_PRIORITY[ticket.grade] };
    if (ticket.reporter !== undefined)
      fields.reporter = this.cloud ? { accountId: ticket.reporter } : { name: ticket.reporter };
    const json: Json = { fields };
    if (options.deliveryId)
      json.properties = [{ key: DELIVERY_PROPERTY, value: { id: options.deliveryId } }];
    const res = await this.send({
      method: 'POST',
      path: this.api('/issue'),
      json,
      signal: options.signal,
      context: {
        action: `create a ticket in project ${project}`,
        permission: 'Create Issues',
        project,
      },
    });
    const key = String((res.body as Json).key);
    return {
      key,
      url: `${this.http.connection.baseUrl}/browse/${key}`,
      ...(ticket.reporter !== undefined ? { reporterSet: true } : {}),
    };
  }

  async get(key: string, options: ReadOptions = {}): Promise<Ticket> {
    const res = await this.readIssue(key, '', `read ${key}`, options, {
      query: { fields: TICKET_FIELDS },
    });
    return ticketFromIssue(res.body, this.http.connection.flavour);
  }

  async comment(key: string, body: Doc, options: WriteOptions = {}): Promise<{ id: string }> {
    const json: Json = { body: this.rich(body) };
    if (options.deliveryId)
      json.properties = [{ key: DELIVERY_PROPERTY, value: { id: options.deliveryId } }];
    const res = await this.send({
      method: 'POST',
      path: this.issuePath(key, '/comment'),
      json,
      signal: options.signal,
      context: { action: `comment on ${key}`, ticket: key, permission: 'Add Comments' },
    });
    return { id: String((res.body as Json).id) };
  }

  async attach(key: string, file: FileToAttach, options: WriteOptions = {}): Promise<Attachment> {
    const form = new FormData();
    const blob = new Blob([file.bytes], { type: file.contentType ?? 'application/octet-stream' });
    form.append('file', blob, file.filename);
    const res = await this.send({
      method: 'POST',
      path: this.issuePath(key, '/attachments'),
      form,
      signal: options.signal,
      context: {
        action: `attach ${file.filename} to ${key}`,
        ticket: key,
        permission: 'Create Attachments',
      },
    });
    const first = (Array.isArray(res.body) ? res.body[0] : res.body) as Json | undefined;
    return {
      id: String(first?.id ?? ''),
      filename: String(first?.filename ?? file.filename),
      size: Number(first?.size ?? file.bytes.byteLength),
    };
  }

  async transitions(key: string, options: ReadOptions = {}): Promise<Transition[]> {
    const res = await this.readIssue(
      key,
      '/transitions',
      `list the transitions of ${key}`,
      options,
    );
    const list = Array.isArray((res.body as Json)?.transitions)
      ? ((res.body as Json).transitions as Json[])
      : [];
    return list.map((t) => ({
      id: String(t.id),
      name: String(t.name),
      to: String((t.to as Json | undefined)?.name ?? ''),
    }));
  }

  async transition(key: string, status: string, options: WriteOptions = {}): Promise<void> {
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
    const offered = await this.transitions(key, options);
    const chosen =
      offered.find((t) => sameName(t.to, status)) ?? offered.find((t) => sameName(t.name, status));
    const browse = `${this.http.connection.baseUrl}/browse/${key}`;
    const unavailable = () =>
      transitionUnavailable(
        browse,
        key,
        current.status,
        status,
        offered.map((t) => t.to),
      );
    if (!chosen) return arrived(unavailable());
    const res = await this.send({
      method: 'POST',
      path: this.issuePath(key, '/transitions'),
      json: { transition: { id: chosen.id } },
      // Data Center answers 500 for a transition id the workflow does not have: that means "not
      // offered", not an outage (packages/tracker/README.md, "Retries, timeouts and the outbox").
      expect: this.cloud ? [] : [500],
      signal: options.signal,
      context: {
        action: `move ${key} to "${status}"`,
        ticket: key,
        permission: 'Transition Issues',
      },
    }).catch(async (e: unknown) => {
      if (isOpsbookError(e) && e.code === 'TRACKER_REQUEST_REJECTED') await arrived(e);
      else throw e;
      return undefined;
    });
    if (res?.status === 500) await arrived(unavailable());
  }

  async assign(key: string, assignee: string | null, options: WriteOptions = {}): Promise<void> {
    await this.send({
      method: 'PUT',
      path: this.issuePath(key, '/assignee'),
      json: this.cloud ? { accountId: assignee } : { name: assignee },
      signal: options.signal,
      context: {
        action: `assign ${key} to ${assignee ?? 'nobody'}`,
        ticket: key,
        permission: 'Assign Issues',
      },
    });
  }

  async setPriority(key: string, grade: Grade, options: WriteOptions = {}): Promise<void> {
    const name = GRADE_PRIORITY[grade];
    await this.send({
      method: 'PUT',
      path: this.issuePath(key),
      json: { fields: { priority: { name } } },
      signal: options.signal,
      context: {
        action: `set the priority of ${key} to ${name} (${grade})`,
        ticket: key,
        permission: 'Edit Issues',
      },
    });
  }

  async search(jql: string, options: SearchOptions = {}): Promise<Ticket[]> {
    const limit = options.limit ?? 100;
    const tickets: Ticket[] = [];
    const context = { action: `search with JQL ${jql}`, permission: 'Browse Projects' };
    let token: string | undefined;
    // Bounded: each page yields at least one ticket or ends the loop.
    for (let page = 0; tickets.length < limit && page < 1000; page++) {
      const maxResults = Math.min(100, limit - tickets.length);
      const query = this.cloud
        ? { jql, fields: TICKET_FIELDS, maxResults, nextPageToken: token }
        : { jql, fields: TICKET_FIELDS, maxResults, startAt: tickets.length };
      const res = await this.send({
        method: 'GET',
        path: this.api(this.cloud ? '/search/jql' : '/search'),
        query,
        signal: options.signal,
        context,
      });
      const body = (res.body ?? {}) as Json;
      const issues = Array.isArray(body.issues) ? body.issues : [];
      tickets.push(...issues.map((i) => ticketFromIssue(i, this.http.connection.flavour)));
      if (issues.length === 0) break;
      if (this.cloud) {
        token = typeof body.nextPageToken === 'string' ? body.nextPageToken : undefined;
        if (!token || body.isLast === true) break;
      } else if (tickets.length >= Number(body.total ?? 0)) break;
    }
    return tickets.slice(0, limit);
  }

  async getProperty(
    key: string,
    property: string,
    options: ReadOptions = {},
  ): Promise<unknown | undefined> {
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
    return (res.body as Json | undefined)?.value;
  }

  async setProperty(
    key: string,
    property: string,
    value: unknown,
    options: WriteOptions = {},
  ): Promise<void> {
    await this.send({
      method: 'PUT',
      path: this.issuePath(key, `/properties/${enc(property)}`),
      json: value,
      signal: options.signal,
      context: {
        action: `set property ${property} of ${key}`,
        ticket: key,
        permission: 'Edit Issues',
      },
    });
  }

  async propertyKeys(key: string, options: ReadOptions = {}): Promise<string[]> {
    const res = await this.readIssue(key, '/properties', `list the properties of ${key}`, options);
    const keys = (res.body as Json | undefined)?.keys;
    return Array.isArray(keys)
      ? keys.flatMap((k: Json) => (typeof k?.key === 'string' ? [k.key as string] : []))
      : [];
  }

  async deleteProperty(key: string, property: string, options: WriteOptions = {}): Promise<void> {
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

/** A Jira tracker from `tracker.jira` settings and the environment (the CLI passes process.env). */
export function createJiraTracker(
  settings: JiraSettings,
  env: JiraEnv,
  options: JiraHttpOptions = {},
): JiraTracker {
  return new JiraTracker(connectJira(settings, env), settings, options);
}
