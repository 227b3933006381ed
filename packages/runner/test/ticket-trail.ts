import type { JiraFake } from '@opsbook/testkit/jira';
import { type Doc, docText, type LocalTracker } from '@opsbook/tracker';
import type { TicketWorld } from './ticket-world.js';

/**
 * What a person sees on a ticket, whichever tracker holds it: the path of statuses, each comment
 * as its readers see the text, who each comment mentions (notified), attachments, assignee.
 */
export interface Trail {
  statuses: string[];
  comments: string[];
  /** Per comment, the tracker ids it mentions (ADF mention nodes, `[~name]`, model mentions). */
  mentions: string[][];
  /** Per comment, the text of its text nodes alone (what is not a mention or a link). */
  raw: unknown[];
  attachments: string[];
  assignee: string | null;
}

const NAMES = {
  open: 'Open',
  awaitingApproval: 'Awaiting Approval',
  approved: 'Approved',
  inProgress: 'In Progress',
  review: 'In Review',
  done: 'Done',
};

interface AdfNode {
  type: string;
  text?: string;
  attrs?: { id?: string; text?: string };
  content?: AdfNode[];
}

function adfWalk(node: AdfNode, visit: (n: AdfNode) => void): void {
  visit(node);
  for (const child of node.content ?? []) adfWalk(child, visit);
}

/** A comment body (ADF, wiki markup, or the model) as the text a reader sees. */
export function plainText(body: unknown): string {
  // Wiki markup: bold markers dropped, escapes undone.
  if (typeof body === 'string') return body.replace(/(?<!\\)\*/g, '').replace(/\\(.)/g, '$1');
  if (Array.isArray((body as Doc).blocks)) return docText(body as Doc);
  const out: string[] = [];
  adfWalk(body as AdfNode, (n) => {
    if (n.type === 'text') out.push(n.text ?? '');
    if (n.type === 'mention') out.push(n.attrs?.text ?? '');
    if (n.type === 'paragraph' || n.type === 'heading' || n.type === 'listItem') out.push('\n');
  });
  return out.join('').trim();
}

/** The ids a comment body mentions. */
export function mentionsIn(body: unknown): string[] {
  if (typeof body === 'string') return [...body.matchAll(/\[~([^\]]+)\]/g)].map((m) => m[1]!);
  if (Array.isArray((body as Doc).blocks))
    return (body as Doc).blocks.flatMap((b) =>
      b.type === 'paragraph' ? b.content.flatMap((i) => (i.type === 'mention' ? [i.id] : [])) : [],
    );
  const ids: string[] = [];
  adfWalk(body as AdfNode, (n) => {
    if (n.type === 'mention') ids.push(n.attrs?.id ?? '');
  });
  return ids;
}

/** The text nodes alone of an ADF body (a raw id there is what a mention must replace). */
export function textNodesOf(body: unknown): string {
  if (typeof body === 'string' || Array.isArray((body as Doc).blocks)) return plainText(body);
  const out: string[] = [];
  adfWalk(body as AdfNode, (n) => {
    if (n.type === 'text') out.push(n.text ?? '');
  });
  return out.join(' ');
}

export async function trailOf(
  world: TicketWorld,
  fake: JiraFake | undefined,
  key: string,
): Promise<Trail> {
  if (fake) {
    const issue = fake.issue(key)!;
    const bodies = issue.comments.map((c) => c.body);
    return {
      statuses: ['Open', ...issue.history.map((h) => NAMES[h.to])],
      comments: bodies.map(plainText),
      mentions: bodies.map(mentionsIn),
      raw: bodies,
      attachments: issue.attachments.map((a) => a.filename),
      assignee: issue.assignee
        ? fake.flavour === 'cloud'
          ? issue.assignee.accountId
          : issue.assignee.name
        : null,
    };
  }
  const t = await (world.as('eve').tracker as LocalTracker).read(key);
  const bodies = t.comments.map((c) => c.body);
  return {
    statuses: t.history.filter((h) => h.field === 'status').map((h) => String(h.to)),
    comments: bodies.map(plainText),
    mentions: bodies.map(mentionsIn),
    raw: bodies,
    attachments: t.attachments.map((a) => a.filename),
    assignee: t.assignee,
  };
}
