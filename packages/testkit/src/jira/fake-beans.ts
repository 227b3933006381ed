import { FAKE_RESOLUTIONS } from './fake-screens.js';
import {
  type FakeAttachment,
  type FakeComment,
  type FakeIssue,
  type FakeTransition,
  type FakeUser,
  jiraDate,
  STATUS_IDS,
  type StatusRole,
  statusCategory,
} from './fake-workflow.js';
import type { Flavour } from './openapi-validator.js';

/** Builds the response beans of each product, shaped to pass Atlassian's (closed) schemas. */
export class BeanBuilder {
  constructor(
    private readonly flavour: Flavour,
    private readonly base: string,
    private readonly statusName: (r: StatusRole) => string,
    private readonly priorities: () => readonly string[],
  ) {}

  private get api(): string {
    return `${this.base}/rest/api/${this.flavour === 'cloud' ? 3 : 2}`;
  }

  user(u: FakeUser): Record<string, unknown> {
    return this.flavour === 'cloud'
      ? {
          accountId: u.accountId,
          accountType: 'atlassian',
          active: true,
          displayName: u.displayName,
          emailAddress: u.emailAddress,
          self: `${this.api}/user?accountId=${u.accountId}`,
          timeZone: 'UTC',
          avatarUrls: { '48x48': `${this.base}/avatar/${u.accountId}` },
        }
      : {
          name: u.name,
          key: u.name,
          displayName: u.displayName,
          emailAddress: u.emailAddress,
          active: true,
          self: `${this.api}/user?username=${u.name}`,
          timeZone: 'UTC',
        };
  }

  /** Members every status bean leaves out (`JiraFakeOptions.answersWithout.status`). */
  statusWithout: readonly string[] = [];
  /** Members every screen field's metadata leaves out (`answersWithout.fieldMetadata`). */
  fieldMetadataWithout: readonly string[] = [];
  /** Members every issue bean leaves out (`answersWithout.issue`). */
  issueWithout: readonly string[] = [];
  /** Fields every issue bean leaves out of `fields` (`answersWithout.issueFields`). */
  issueFieldsWithout: readonly string[] = [];
  /** Members every transition leaves out (`answersWithout.transition`). */
  transitionWithout: readonly string[] = [];
  /** The form document bodies are answered in, where not the flavour's own (`bodiesAs`). */
  bodiesAs: 'adf' | 'wiki' | undefined;

  /**
   * A description or comment body in the `bodiesAs` form: a string as an ADF document (a
   * paragraph a line), an ADF document as its text (a line a block). Data Center's comment body is
   * typed a string, so only its description is answered as ADF.
   */
  private body(value: unknown, comment: boolean): unknown {
    if (
      this.bodiesAs === 'adf' &&
      typeof value === 'string' &&
      !(comment && this.flavour === 'datacenter')
    )
      return {
        type: 'doc',
        version: 1,
        content: value
          .split('\n')
          .filter((line) => line !== '')
          .map((text) => ({ type: 'paragraph', content: [{ type: 'text', text }] })),
      };
    if (this.bodiesAs === 'wiki' && value && typeof value === 'object') return textOf(value);
    return value;
  }

  /** A status bean; `whole` keeps the members `statusWithout` leaves out elsewhere. */
  status(role: StatusRole, whole = false): Record<string, unknown> {
    const bean: Record<string, unknown> = {
      self: `${this.api}/status/${STATUS_IDS[role]}`,
      description: '',
      iconUrl: `${this.base}/images/status.png`,
      name: this.statusName(role),
      id: STATUS_IDS[role],
      statusCategory: statusCategory(role, this.base),
    };
    if (!whole) for (const member of this.statusWithout) delete bean[member];
    return bean;
  }

  /**
   * A transition as `GET …/transitions` lists it: Cloud says whether it has a screen; with
   * `expand=transitions.fields` both products list the screen's fields (`screen`, required first).
   */
  transition(
    t: FakeTransition,
    screen: { fields: string[]; required: string[]; defaulted?: string[] },
    expand: boolean,
  ): Record<string, unknown> {
    const bean: Record<string, unknown> =
      this.flavour === 'cloud'
        ? {
            id: t.id,
            name: t.name,
            to: this.status(t.to),
            hasScreen: screen.fields.length > 0,
            isGlobal: false,
            isInitial: false,
            isAvailable: true,
            isConditional: false,
          }
        : {
            id: t.id,
            name: t.name,
            description: '',
            opsbarSequence: Number(t.id),
            to: this.status(t.to),
          };
    for (const member of this.transitionWithout) delete bean[member];
    if (expand)
      bean.fields = Object.fromEntries(
        screen.fields.map((f) => [
          f,
          this.fieldMetadata(f, screen.required.includes(f), screen.defaulted?.includes(f)),
        ]),
      );
    return bean;
  }

  /** A screen field's metadata (Cloud FieldMetadata, DC FieldMetaBean). */
  fieldMetadata(id: string, required: boolean, hasDefault = false): Record<string, unknown> {
    const custom = /^customfield_(\d+)$/.exec(id);
    const known: Record<string, { name: string; schema: Record<string, unknown> }> = {
      resolution: { name: 'Resolution', schema: { type: 'resolution', system: 'resolution' } },
      comment: { name: 'Comment', schema: { type: 'comment', system: 'comment' } },
      assignee: { name: 'Assignee', schema: { type: 'user', system: 'assignee' } },
      fixVersions: {
        name: 'Fix versions',
        schema: { type: 'array', items: 'version', system: 'fixVersions' },
      },
    };
    const field = custom
      ? {
          name: `Custom field ${custom[1]}`,
          schema: {
            type: 'string',
            custom: 'com.atlassian.jira.plugin.system.customfieldtypes:textfield',
            customId: Number(custom[1]),
          },
        }
      : (known[id] ?? { name: id, schema: { type: 'string', system: id } });
    const bean: Record<string, unknown> = {
      required,
      schema: field.schema,
      name: field.name,
      [this.flavour === 'cloud' ? 'key' : 'fieldId']: id,
      hasDefaultValue: hasDefault,
      operations: id === 'comment' ? ['add'] : ['set'],
      ...(id === 'resolution'
        ? {
            allowedValues: FAKE_RESOLUTIONS.map((r) => ({
              self: `${this.api}/resolution/${r.id}`,
              id: r.id,
              name: r.name,
            })),
          }
        : {}),
    };
    for (const member of this.fieldMetadataWithout) delete bean[member];
    return bean;
  }

  attachment(a: FakeAttachment): Record<string, unknown> {
    return {
      id: a.id,
      self: `${this.api}/attachment/${a.id}`,
      filename: a.filename,
      author: this.user(a.author),
      created: a.created,
      size: a.size,
      mimeType: a.mimeType,
      content: `${this.base}/secure/attachment/${a.id}/${encodeURIComponent(a.filename)}`,
    };
  }

  comment(issue: FakeIssue, c: FakeComment, withProperties: boolean): Record<string, unknown> {
    const bean: Record<string, unknown> = {
      id: c.id,
      self: `${this.api}/issue/${issue.id}/comment/${c.id}`,
      author: this.user(c.author),
      updateAuthor: this.user(c.author),
      body: this.body(c.body, true),
      created: c.created,
      updated: c.created,
    };
    if (c.visibility !== undefined) bean.visibility = c.visibility;
    if (withProperties) bean.properties = c.properties;
    return bean;
  }

  private priority(name: string): Record<string, unknown> {
    const id = String(this.priorities().indexOf(name) + 1);
    return { name, id, self: `${this.api}/priority/${id}` };
  }

  private field(issue: FakeIssue, name: string): unknown {
    switch (name) {
      case 'summary':
        return issue.summary;
      case 'status':
        return this.status(issue.status);
      case 'assignee':
        return issue.assignee ? this.user(issue.assignee) : null;
      case 'reporter':
        return issue.reporter ? this.user(issue.reporter) : null;
      case 'labels':
        return issue.labels;
      case 'description':
        return this.body(issue.description ?? null, false);
      case 'attachment':
        return issue.attachments.map((a) => this.attachment(a));
      case 'created':
        return jiraDate(issue.created);
      case 'project':
        return {
          key: issue.project,
          id: '10000',
          name: issue.project,
          self: `${this.api}/project/10000`,
        };
      case 'issuetype':
        return {
          name: issue.issueType,
          id: '10001',
          self: `${this.api}/issuetype/10001`,
          subtask: false,
        };
      case 'priority':
        return issue.priority ? this.priority(issue.priority) : null;
      default:
        return undefined;
    }
  }

  issue(issue: FakeIssue, fieldList: string[]): Record<string, unknown> {
    const all = [
      'summary',
      'status',
      'assignee',
      'reporter',
      'labels',
      'description',
      'attachment',
      'created',
      'project',
      'issuetype',
      'priority',
    ];
    const wanted =
      fieldList.length === 0 || fieldList.includes('*all') || fieldList.includes('*navigable')
        ? all
        : fieldList;
    const fields: Record<string, unknown> = {};
    for (const name of wanted) {
      const value = this.field(issue, name);
      // DC declares every field value as an object (a spec defect, overridden for strings/arrays);
      // null is not an object, so DC omits unset fields as Jira DC does for absent values.
      if (this.issueFieldsWithout.includes(name)) continue;
      if (value !== undefined && !(value === null && this.flavour === 'datacenter'))
        fields[name] = value;
    }
    const bean: Record<string, unknown> = {
      expand: '',
      id: issue.id,
      self: `${this.api}/issue/${issue.id}`,
      key: issue.key,
      fields,
    };
    for (const member of this.issueWithout) delete bean[member];
    return bean;
  }
}

/** An ADF document's text: its text nodes, each block (a node with content of text) a line. */
function textOf(node: unknown): string {
  const n = node as { type?: unknown; text?: unknown; content?: unknown };
  if (n.type === 'text' && typeof n.text === 'string') return n.text;
  const parts = Array.isArray(n.content) ? n.content.map(textOf) : [];
  return parts.join(n.type === 'doc' ? '\n' : '');
}
