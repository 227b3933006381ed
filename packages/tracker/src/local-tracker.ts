import { randomUUID } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createFileAtomic, UsageError, writeFileAtomic } from '@opsbook/schema';
import { type Doc, docText } from './document.js';
import { trackerErrors } from './error-codes.js';
import { transitionUnavailable } from './jira-errors.js';
import { compileJql } from './jql-subset.js';
import { parseStateJson } from './state-json.js';
import {
  type Attachment,
  type DeliveryProbe,
  type FileToAttach,
  type Grade,
  type NewTicket,
  type PriorityOptions,
  type RemoteLink,
  resolveStatuses,
  roleCategory,
  type SearchOptions,
  type StatusNames,
  type StatusRole,
  type Ticket,
  type TicketComment,
  type TicketRef,
  type TicketWrite,
  type Tracker,
  type Transition,
  WORKFLOW,
  type WriteOptions,
} from './tracker.js';

export interface HistoryEntry {
  at: string;
  by: string;
  field: string;
  from: unknown;
  to: unknown;
}

/** One ticket of the local tracker, as stored in `<stateDir>/tracker/tickets/<KEY>.json`. */
export interface LocalTicket {
  key: string;
  summary: string;
  description?: Doc;
  labels: string[];
  grade?: Grade;
  status: string;
  assignee: string | null;
  /** Who opened it: `NewTicket.reporter`, else the actor who created it. */
  reporter?: string;
  created: string;
  updated: string;
  deliveryId?: string;
  comments: { id: string; author: string; created: string; body: Doc; deliveryId?: string }[];
  attachments: (Attachment & {
    created: string;
    author: string;
    file: string;
    deliveryId?: string;
  })[];
  properties: Record<string, unknown>;
  remoteLinks: RemoteLink[];
  history: HistoryEntry[];
}

export interface LocalTrackerOptions {
  stateDir: string;
  /** Key prefix, like a Jira project key (default OPS). */
  project?: string;
  statuses?: Partial<StatusNames>;
  /** Who makes the changes (recorded in each ticket's history). */
  actor: string;
  now?: () => Date;
}

/** Tracker state is private to the person who runs: files 0600, folders 0700. */
const STATE_FILE = { mode: 0o600, dirMode: 0o700 } as const;
const KEY = /^[A-Z][A-Z0-9_]{0,31}-[1-9]\d{0,8}$/;

/** The embedded tracker: tickets as JSON files in the state dir, the same workflow as Jira. */
export class LocalTracker implements Tracker {
  readonly kind = 'local' as const;
  readonly site = 'local';
  readonly statuses: StatusNames;
  private readonly dir: string;
  private readonly project: string;
  private readonly actor: string;
  private readonly now: () => Date;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: LocalTrackerOptions) {
    this.dir = path.join(options.stateDir, 'tracker');
    this.project = options.project ?? 'OPS';
    this.actor = options.actor;
    this.now = options.now ?? (() => new Date());
    this.statuses = resolveStatuses(options.statuses);
  }

  private file(key: string): string {
    // The key becomes a file name: anything but PROJECT-N could leave the folder.
    if (!KEY.test(key)) {
      // Jira takes `ops-1` for OPS-1; here the key is a file name, so it is said, not guessed.
      const upper = key.toUpperCase();
      throw new UsageError(
        `"${key}" is not a ticket key: ${KEY.test(upper) ? `did you mean ${upper}? Keys are upper case` : `use the form ${this.project}-12`}`,
      );
    }
    return path.join(this.dir, 'tickets', `${key}.json`);
  }

  /** The whole stored ticket, history included. */
  async read(key: string): Promise<LocalTicket> {
    let text: string;
    try {
      text = await readFile(this.file(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      throw new trackerErrors.RefusalError(
        'TRACKER_TICKET_NOT_FOUND',
        `the local tracker in ${this.dir} has no ticket ${key}: check the key (the tickets are the files in that folder), or set tracker.kind: jira if the ticket lives in Jira.`,
        { ticket: key },
      );
    }
    return parseStateJson<LocalTicket>(
      this.file(key),
      text,
      `the local ticket ${key} is damaged: restore ${key}.json from a backup or repair it by hand; opsbook leaves it as it is`,
    );
  }

  // Read-modify-write under a per-ticket lock so concurrent writes in one process do not lose changes.
  private update<T>(
    key: string,
    change: (t: LocalTicket, at: string) => T | Promise<T>,
  ): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const ticket = await this.read(key);
        const at = this.now().toISOString();
        const result = await change(ticket, at);
        ticket.updated = at;
        await writeFileAtomic(this.file(key), `${JSON.stringify(ticket, null, 2)}\n`, STATE_FILE);
        return result;
      });
    this.locks.set(key, run);
    return run;
  }

  private record(t: LocalTicket, at: string, field: string, from: unknown, to: unknown): void {
    t.history.push({ at, by: this.actor, field, from, to });
  }

  private async nextNumber(): Promise<number> {
    const names = await readdir(path.join(this.dir, 'tickets')).catch(() => [] as string[]);
    const prefix = `${this.project}-`;
    const numbers = names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.json'))
      .map((n) => Number(n.slice(prefix.length, -5)));
    return Math.max(0, ...numbers.filter(Number.isInteger)) + 1;
  }

  async create(input: NewTicket, options: WriteOptions = {}): Promise<TicketRef> {
    const at = this.now().toISOString();
    // Bounded claim loop: another process may take the same number; link(2) tells us.
    for (let tries = 0; tries < 100; tries++) {
      const key = `${this.project}-${await this.nextNumber()}`;
      const ticket: LocalTicket = {
        key,
        summary: input.summary,
        labels: input.labels ?? [],
        status: this.statuses.open,
        assignee: null,
        reporter: input.reporter ?? this.actor,
        created: at,
        updated: at,
        comments: [],
        attachments: [],
        properties: {},
        remoteLinks: [],
        history: [],
      };
      if (input.description) ticket.description = input.description;
      if (input.grade) ticket.grade = input.grade;
      if (options.deliveryId) ticket.deliveryId = options.deliveryId;
      this.record(ticket, at, 'status', null, ticket.status);
      if (
        await createFileAtomic(this.file(key), `${JSON.stringify(ticket, null, 2)}\n`, STATE_FILE)
      )
        return {
          key,
          url: this.file(key),
          ...(input.reporter !== undefined ? { reporterSet: true } : {}),
        };
    }
    throw new trackerErrors.UnreachableError(
      'TRACKER_BUSY',
      `could not claim a new ticket number in ${this.dir} after 100 tries: check that no other process is creating tickets in a loop.`,
    );
  }

  async get(key: string): Promise<Ticket> {
    const t = await this.read(key);
    const role = this.role(t.status);
    return {
      key: t.key,
      summary: t.summary,
      status: t.status,
      ...(role ? { statusCategory: roleCategory(role) } : {}),
      assignee: t.assignee ? { id: t.assignee } : null,
      reporter: t.reporter ? { id: t.reporter } : null,
      labels: t.labels,
    };
  }

  async comment(key: string, body: Doc, options: WriteOptions = {}): Promise<{ id: string }> {
    return this.update(key, (t, at) => this.addComment(t, at, body, options.deliveryId));
  }

  private addComment(t: LocalTicket, at: string, body: Doc, deliveryId?: string): { id: string } {
    const id = String(t.comments.length + 1);
    t.comments.push({
      id,
      author: this.actor,
      created: at,
      body,
      ...(deliveryId ? { deliveryId } : {}),
    });
    this.record(t, at, 'comment', null, id);
    return { id };
  }

  async description(key: string): Promise<string> {
    const t = await this.read(key);
    return t.description ? docText(t.description) : '';
  }

  async comments(key: string): Promise<TicketComment[]> {
    const t = await this.read(key);
    return t.comments.map((c) => ({
      id: c.id,
      author: c.author,
      created: c.created,
      text: docText(c.body),
    }));
  }

  async attach(key: string, file: FileToAttach, options: WriteOptions = {}): Promise<Attachment> {
    return this.update(key, async (t, at) => {
      const stored = await this.storeAttachment(key, file);
      return this.addAttachment(t, at, file, stored, options.deliveryId);
    });
  }

  /** Writes an attachment's bytes (fsynced) under a new id; the ticket names it once updated. */
  private async storeAttachment(
    key: string,
    file: FileToAttach,
  ): Promise<{ id: string; rel: string }> {
    const id = randomUUID();
    // Only the base name, with path and control characters replaced: the name comes from outside.
    const safe =
      path
        .basename(file.filename)
        .replace(/[^\w.+-]/g, '_')
        .replace(/^\.+/, '_') || 'file';
    const rel = path.join('attachments', key, `${id}-${safe}`);
    await writeFileAtomic(path.join(this.dir, rel), file.bytes, STATE_FILE);
    return { id, rel };
  }

  private addAttachment(
    t: LocalTicket,
    at: string,
    file: FileToAttach,
    stored: { id: string; rel: string },
    deliveryId?: string,
  ): Attachment {
    const attachment = { id: stored.id, filename: file.filename, size: file.bytes.byteLength };
    t.attachments.push({
      ...attachment,
      created: at,
      author: this.actor,
      file: stored.rel,
      ...(deliveryId ? { deliveryId } : {}),
    });
    this.record(t, at, 'attachment', null, file.filename);
    return attachment;
  }

  /** Bytes of a stored attachment. */
  async readAttachment(key: string, id: string): Promise<Uint8Array> {
    const a = (await this.read(key)).attachments.find((x) => x.id === id);
    if (!a)
      throw new trackerErrors.RefusalError(
        'TRACKER_ATTACHMENT_NOT_FOUND',
        `ticket ${key} has no attachment ${id}: list them with \`opsbook ticket show ${key}\`.`,
        { ticket: key },
      );
    return readFile(path.join(this.dir, a.file));
  }

  private role(status: string): StatusRole | undefined {
    return (Object.keys(this.statuses) as StatusRole[]).find((r) => this.statuses[r] === status);
  }

  async transitions(key: string): Promise<Transition[]> {
    const role = this.role((await this.read(key)).status);
    return (role ? WORKFLOW[role] : []).map((r) => ({
      id: r,
      name: this.statuses[r],
      to: this.statuses[r],
    }));
  }

  async transition(key: string, status: string): Promise<void> {
    await this.update(key, (t, at) => this.moveTo(t, at, status));
  }

  private moveTo(t: LocalTicket, at: string, status: string): void {
    if (t.status.toLowerCase() === status.toLowerCase()) return;
    const role = this.role(t.status);
    const offered = (role ? WORKFLOW[role] : []).map((r) => this.statuses[r]);
    const target = offered.find((s) => s.toLowerCase() === status.toLowerCase());
    if (!target)
      throw transitionUnavailable(`local tracker ${this.dir}`, t.key, t.status, status, offered);
    this.record(t, at, 'status', t.status, target);
    t.status = target;
  }

  async assign(key: string, assignee: string | null): Promise<void> {
    await this.update(key, (t, at) => this.assignTo(t, at, assignee));
  }

  private assignTo(t: LocalTicket, at: string, assignee: string | null): void {
    if (t.assignee === assignee) return;
    this.record(t, at, 'assignee', t.assignee, assignee);
    t.assignee = assignee;
  }

  async setPriority(key: string, grade: Grade, options: PriorityOptions = {}): Promise<void> {
    await this.update(key, (t, at) => this.grade(t, at, grade, options.summary));
  }

  private grade(t: LocalTicket, at: string, grade: Grade, summary: string | undefined): void {
    if (summary !== undefined && summary !== t.summary) {
      this.record(t, at, 'summary', t.summary, summary);
      t.summary = summary;
    }
    if (t.grade === grade) return;
    this.record(t, at, 'grade', t.grade ?? null, grade);
    t.grade = grade;
  }

  async search(jql: string, options: SearchOptions = {}): Promise<Ticket[]> {
    const test = compileJql(jql);
    const names = await readdir(path.join(this.dir, 'tickets')).catch(() => [] as string[]);
    const found: Ticket[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort(byNumber)) {
      const t = await this.read(name.slice(0, -5));
      const text = [
        t.summary,
        t.description ? docText(t.description) : '',
        ...t.comments.map((c) => docText(c.body)),
      ].join('\n');
      const subject = {
        project: this.project,
        key: t.key,
        status: t.status,
        summary: t.summary,
        text,
        labels: t.labels,
        assignee: t.assignee,
        created: t.created,
      };
      if (test(subject)) found.push(await this.get(t.key));
      if (found.length >= (options.limit ?? 100)) break;
    }
    return found;
  }

  async getProperty(key: string, property: string): Promise<unknown | undefined> {
    return (await this.read(key)).properties[property];
  }

  async setProperty(key: string, property: string, value: unknown): Promise<void> {
    await this.update(key, (t, at) => this.putProperty(t, at, property, value));
  }

  private putProperty(t: LocalTicket, at: string, property: string, value: unknown): void {
    this.record(t, at, `property:${property}`, t.properties[property] ?? null, value);
    t.properties[property] = value;
  }

  async propertyKeys(key: string): Promise<string[]> {
    return Object.keys((await this.read(key)).properties);
  }

  async deleteProperty(key: string, property: string): Promise<void> {
    await this.update(key, (t, at) => {
      if (!Object.hasOwn(t.properties, property)) return;
      this.record(t, at, `property:${property}`, t.properties[property], null);
      delete t.properties[property];
    });
  }

  async addRemoteLink(key: string, link: RemoteLink): Promise<void> {
    await this.update(key, (t, at) => this.link(t, at, link));
  }

  private link(t: LocalTicket, at: string, link: RemoteLink): void {
    const i = t.remoteLinks.findIndex((l) => l.globalId === link.globalId);
    this.record(t, at, 'link', i >= 0 ? t.remoteLinks[i]?.url : null, link.url);
    if (i >= 0)
      t.remoteLinks[i] = link; // same globalId: update, as Jira does
    else t.remoteLinks.push(link);
  }

  /**
   * The writes in one read-modify-write of the ticket: one fsynced file (and one per new
   * attachment, written first, at once) where each write alone costs one; a run's end is six.
   * All or none: a write the workflow refuses (a transition it does not offer) leaves the ticket
   * as it was. A comment or attachment whose delivery id the ticket holds already is not added
   * again: an outbox whose process died after the file was replaced sends the batch once more.
   */
  async writeAll(key: string, writes: readonly TicketWrite[]): Promise<(string | undefined)[]> {
    return this.update(key, async (t, at) => {
      const stored = await Promise.all(
        writes.map((w) =>
          w.kind === 'attach' && deliveredId(t.attachments, w.deliveryId) === undefined
            ? this.storeAttachment(key, w.file)
            : undefined,
        ),
      );
      try {
        return writes.map((w, i) => this.applyWrite(t, at, w, stored[i]));
      } catch (e) {
        // Refused: nothing of the batch is kept, its new attachments' files neither.
        await Promise.all(
          stored.map((f) => f && unlink(path.join(this.dir, f.rel)).catch(() => undefined)),
        );
        throw e;
      }
    });
  }

  private applyWrite(
    t: LocalTicket,
    at: string,
    w: TicketWrite,
    stored: { id: string; rel: string } | undefined,
  ): string | undefined {
    switch (w.kind) {
      case 'comment':
        return (
          deliveredId(t.comments, w.deliveryId) ?? this.addComment(t, at, w.body, w.deliveryId).id
        );
      case 'attach':
        return stored
          ? this.addAttachment(t, at, w.file, stored, w.deliveryId).id
          : deliveredId(t.attachments, w.deliveryId);
      case 'transition':
        return void this.moveTo(t, at, w.status);
      case 'assign':
        return void this.assignTo(t, at, w.assignee);
      case 'priority':
        return void this.grade(t, at, w.grade, w.summary);
      case 'setProperty':
        return void this.putProperty(t, at, w.property, w.value);
      case 'remoteLink':
        return void this.link(t, at, w.link);
    }
  }

  async remoteLinks(key: string): Promise<RemoteLink[]> {
    return (await this.read(key)).remoteLinks;
  }

  async findDelivered(probe: DeliveryProbe): Promise<string | undefined> {
    if (probe.kind === 'create') {
      const names = await readdir(path.join(this.dir, 'tickets')).catch(() => [] as string[]);
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        const t = await this.read(name.slice(0, -5));
        if (t.deliveryId === probe.deliveryId) return t.key;
      }
      return undefined;
    }
    const t = await this.read(probe.key);
    return deliveredId(probe.kind === 'comment' ? t.comments : t.attachments, probe.deliveryId);
  }
}

/** The id of the comment or attachment in `list` that a delivery `deliveryId` made, if any. */
function deliveredId(
  list: readonly { id: string; deliveryId?: string }[],
  deliveryId: string,
): string | undefined {
  return list.find((x) => x.deliveryId === deliveryId)?.id;
}

function byNumber(a: string, b: string): number {
  return Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));
}
