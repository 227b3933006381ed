import { BeanBuilder } from './fake-beans.js';
import { DEFAULT_PRIORITIES, planEdit, SUMMARY_NEWLINES, schemePriority } from './fake-edit.js';
import {
  isRequiredOnScreen,
  screenFields,
  type TransitionScreens,
  transitionFieldErrors,
} from './fake-screens.js';
import {
  FAKE_ISSUE_TYPES,
  FAKE_TRANSITIONS,
  type FakeGroup,
  type FakeIssue,
  type FakeProjectRole,
  type FakeTransition,
  type FakeUser,
  jiraDate,
  matchesJql,
  parseFakeJql,
  STATUS_IDS,
  type StatusRole,
} from './fake-workflow.js';
import type { Flavour, OpenApiValidator } from './openapi-validator.js';

/** Jira's limits: a comment or description (characters), an entity property's value (bytes). */
const MAX_BODY_CHARS = 32_767;
const MAX_PROPERTY_BYTES = 32_768;
/** The create's fields the fake keeps as issue attributes; any other goes to `otherFields`. */
const MODELLED_FIELDS = new Set([
  'project',
  'issuetype',
  'summary',
  'description',
  'labels',
  'priority',
  'reporter',
]);

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HandlerContext {
  /** Operation path without the API prefix, e.g. `/issue/{issueIdOrKey}/comment`. */
  op: string;
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  files: { field: string; name: string; type: string; bytes: Uint8Array }[];
  caller: FakeUser;
  /** Records a spec-level problem the OpenAPI schema cannot express (ADF, multipart). */
  violate: (problem: string) => void;
}

// biome-ignore lint/suspicious/noExplicitAny: request bodies are arbitrary JSON, checked by the OpenAPI validator first
type Json = Record<string, any>;
const errors = (
  status: number,
  errorMessages: string[],
  fieldErrors: Record<string, string> = {},
): Reply => ({ status, body: { errorMessages, errors: fieldErrors } });

/** Whether a comment body shows anything: text other than spaces, or a mention (ADF). */
function hasWords(body: unknown): boolean {
  if (typeof body === 'string') return /\S/.test(body);
  if (!body || typeof body !== 'object') return false;
  const node = body as Json;
  if (node.type === 'mention' || (typeof node.text === 'string' && /\S/.test(node.text)))
    return true;
  return Array.isArray(node.content) && node.content.some(hasWords);
}

/** `body` less the members `names` (a 201 without what both specs leave optional). */
const without = (body: Json, names: readonly string[] = []): Json =>
  Object.fromEntries(Object.entries(body).filter(([name]) => !names.includes(name)));

/** The fake's in-memory Jira: issues, workflow and the operations opsbook uses. */
export class FakeJiraState {
  readonly issues: FakeIssue[] = [];
  /** Whether the caller has Modify Reporter (and the field is on the create screen). */
  canSetReporter = true;
  expandsCommentProperties = true;
  /** Most comments one page holds, whatever `maxResults` asks (Jira may return fewer). */
  commentsPageSize = 5000;
  omitsTotal = false;
  searchPageSize = 5000;
  searchHides = new Set<string>();
  answersAsDeclared = false;
  /** Whether `GET …/comment` honours `orderBy`; false answers oldest first, as without it. */
  ordersComments = true;
  /** Cloud: 400 for an `orderBy` other than `created`, as the operation's 400 reads literally. */
  commentOrderCreatedOnly = false;
  /** The site's attachment size limit (bytes). */
  maxAttachmentBytes = Number.POSITIVE_INFINITY;
  /** Whether the caller has Assign Issues. */
  canAssign = true;
  /** Data Center's answer to an assignee that does not exist: 400, or 404 as its document says. */
  unknownAssigneeStatus: 400 | 404 = 400;
  searchLagMs = 0;
  /** The fields each move's screen shows and requires; a move without fields has no screen. */
  screens: TransitionScreens = { shown: {}, required: {}, defaulted: {} };
  /** Whether `GET …/transitions` honours `expand=transitions.fields`. */
  expandsTransitionFields = true;
  /**
   * Whom the workflow offers its transitions: everyone, only the issue's assignee (a workflow
   * condition), or nobody (the caller lacks Transition Issues). Jira lists none to the others.
   */
  transitionsOfferedTo: 'everyone' | 'assignee' | 'nobody' = 'everyone';
  labelsOnCreateScreen = true;
  /** Whether the create and edit screens have Priority (a team-managed project may not). */
  priorityOnScreen = true;
  requiredFields: string[] = [];
  /** The project's priority scheme, highest first. */
  priorities: readonly string[] = DEFAULT_PRIORITIES;
  /** Members of a 201's body left out (each optional in both specs): see JiraFakeOptions. */
  answersWithout: {
    create?: ('id' | 'key' | 'self')[];
    comment?: ('id' | 'self')[];
    property?: 'value'[];
    propertyList?: ('keys' | 'key')[];
    commentPage?: 'comments'[];
    searchPage?: 'issues'[];
  } = {};
  groups: FakeGroup[] = [];
  projectRoles: FakeProjectRole[] = [];
  roleActorsUntyped = false;
  private nextId = 10000;
  private nextLink = 1;
  readonly beans: BeanBuilder;

  constructor(
    readonly flavour: Flavour,
    readonly project: string,
    readonly users: FakeUser[],
    readonly statusName: (r: StatusRole) => string,
    private readonly validator: OpenApiValidator,
    private readonly now: () => Date,
    private readonly base: string,
  ) {
    this.beans = new BeanBuilder(flavour, base, statusName, () => this.priorities);
  }

  find(idOrKey: string): FakeIssue | undefined {
    const k = idOrKey.toUpperCase(); // Jira finds issue keys case-insensitively: ops-1 is OPS-1
    return this.issues.find((i) => i.key === k || i.id === idOrKey);
  }

  addIssue(fields: {
    summary: string;
    description?: unknown;
    labels?: string[];
    status?: StatusRole;
    issueType?: string;
    priority?: string;
    reporter?: FakeUser | null;
    otherFields?: Record<string, unknown>;
  }): FakeIssue {
    const id = String(this.nextId++);
    const issue: FakeIssue = {
      id,
      key: `${this.project}-${this.issues.length + 1}`,
      project: this.project,
      issueType: fields.issueType ?? 'Task',
      summary: fields.summary,
      description: fields.description,
      labels: fields.labels ?? [],
      status: fields.status ?? 'open',
      assignee: null,
      reporter: fields.reporter ?? null,
      created: this.now(),
      comments: [],
      attachments: [],
      properties: new Map(),
      remoteLinks: [],
      otherFields: fields.otherFields ?? {},
      transitionFields: [],
      history: [],
    };
    if (fields.priority) issue.priority = fields.priority;
    this.issues.push(issue);
    return issue;
  }

  handle(c: HandlerContext): Reply {
    if (c.op === '/myself') return this.myself(c);
    if (c.op === '/project/{projectIdOrKey}/role') return this.roles(c);
    if (c.op === '/project/{projectIdOrKey}/role/{id}') return this.role(c);
    if (c.op === '/project/{projectIdOrKey}/statuses') return this.projectStatuses(c);
    if (c.op === '/user/assignable/search') return this.assignable(c);
    if (c.op === '/serverInfo') return this.serverInfo();
    if (c.op === '/status/{idOrName}') return this.status(c);
    if (c.op === '/issue') return this.create(c);
    if (c.op === '/search' || c.op === '/search/jql') return this.search(c);
    if (c.op === '/comment/{commentId}/properties/{propertyKey}') return this.commentProperty(c);
    const issue = this.find(c.params.issueIdOrKey ?? '');
    if (!issue)
      return errors(404, ['Issue does not exist or you do not have permission to see it.']);
    const route = `${c.method} ${c.op}`;
    switch (route) {
      case 'get /issue/{issueIdOrKey}':
        return {
          status: 200,
          body: this.beans.issue(issue, (c.query.get('fields') ?? '').split(',').filter(Boolean)),
        };
      case 'put /issue/{issueIdOrKey}':
        return this.edit(c, issue);
      case 'get /issue/{issueIdOrKey}/comment': {
        // The spec documents only `renderedBody` for this expand: a strict Jira may ignore it.
        const withProps =
          this.expandsCommentProperties && (c.query.get('expand') ?? '').includes('properties');
        const orderBy = c.query.get('orderBy');
        if (
          this.commentOrderCreatedOnly &&
          this.flavour === 'cloud' &&
          orderBy !== null &&
          orderBy !== 'created'
        )
          return errors(400, [`orderBy '${orderBy}' is not supported: use 'created'.`]);
        // orderBy ([-]created), startAt and maxResults (Jira's default page is 5000), as Jira does.
        const ordered =
          this.ordersComments && c.query.get('orderBy') === '-created'
            ? [...issue.comments].reverse()
            : issue.comments;
        const startAt = Number(c.query.get('startAt') ?? 0);
        const maxResults = Math.min(
          Number(c.query.get('maxResults') ?? 5000),
          this.commentsPageSize,
        );
        const comments = ordered
          .slice(startAt, startAt + maxResults)
          .map((x) => this.beans.comment(issue, x, withProps));
        return {
          status: 200,
          body: {
            startAt,
            maxResults,
            ...(this.omitsTotal ? {} : { total: issue.comments.length }),
            ...(this.answersWithout.commentPage?.includes('comments') ? {} : { comments }),
          },
        };
      }
      case 'post /issue/{issueIdOrKey}/comment':
        return this.comment(c, issue);
      case 'post /issue/{issueIdOrKey}/attachments':
        return this.attach(c, issue);
      case 'get /issue/{issueIdOrKey}/transitions': {
        const expand =
          this.expandsTransitionFields &&
          (c.query.get('expand') ?? '').split(',').includes('transitions.fields');
        const transitions = this.offered(issue, c.caller).map((t) =>
          this.beans.transition(t, this.screenOf(t), expand),
        );
        return { status: 200, body: { transitions } };
      }
      case 'post /issue/{issueIdOrKey}/transitions':
        return this.transition(c, issue);
      case 'put /issue/{issueIdOrKey}/assignee':
        return this.assign(c, issue);
      case 'get /issue/{issueIdOrKey}/remotelink':
        return this.links(c, issue);
      case 'post /issue/{issueIdOrKey}/remotelink':
        return this.link(c, issue);
      case 'get /issue/{issueIdOrKey}/properties/{propertyKey}': {
        const key = c.params.propertyKey ?? '';
        if (!issue.properties.has(key))
          return errors(404, [`The property '${key}' does not exist.`]);
        const bean = { key, value: issue.properties.get(key) };
        if (this.answersWithout.property?.includes('value')) delete (bean as Partial<Json>).value;
        return { status: 200, body: bean };
      }
      case 'get /issue/{issueIdOrKey}/properties': {
        const self = (k: string) =>
          `${this.base}/rest/api/${this.flavour === 'cloud' ? 3 : 2}/issue/${issue.key}/properties/${encodeURIComponent(k)}`;
        const left = this.answersWithout.propertyList ?? [];
        if (left.includes('keys')) return { status: 200, body: {} };
        const keys = [...issue.properties.keys()].map((key) =>
          left.includes('key') ? { self: self(key) } : { key, self: self(key) },
        );
        return { status: 200, body: { keys } };
      }
      case 'delete /issue/{issueIdOrKey}/properties/{propertyKey}': {
        const key = c.params.propertyKey ?? '';
        if (!issue.properties.delete(key))
          return errors(404, [`The property '${key}' does not exist.`]);
        return { status: 204, body: undefined };
      }
      case 'put /issue/{issueIdOrKey}/properties/{propertyKey}': {
        if (Buffer.byteLength(JSON.stringify(c.body ?? null)) > MAX_PROPERTY_BYTES)
          return errors(400, [
            `The property value is too long: it must be no more than ${MAX_PROPERTY_BYTES} bytes.`,
          ]);
        const existed = issue.properties.has(c.params.propertyKey ?? '');
        issue.properties.set(c.params.propertyKey ?? '', c.body);
        return { status: existed ? 200 : 201, body: this.flavour === 'cloud' ? {} : undefined };
      }
    }
    return errors(404, [`no handler for ${route}`]);
  }

  /**
   * The instance: its `baseUrl` is the site people browse, which behind Atlassian's API gateway
   * (a base of `…/ex/jira/<cloudId>`) is not the base the API is called at.
   */
  private serverInfo(): Reply {
    const cloud = this.flavour === 'cloud';
    return {
      status: 200,
      body: {
        baseUrl: this.siteUrl,
        version: cloud ? '1001.0.0-SNAPSHOT' : '10.3.24',
        versionNumbers: cloud ? [1001, 0, 0] : [10, 3, 24],
        deploymentType: cloud ? 'Cloud' : 'Server',
        buildNumber: 100000,
        serverTitle: 'Jira',
      },
    };
  }

  /** Where people browse this Jira: the base, less the API gateway's `/ex/jira/<cloudId>`. */
  get siteUrl(): string {
    return this.base.replace(/\/ex\/jira\/[^/]+$/, '');
  }

  /**
   * The users who may be assigned the project's issues (every known user here), narrowed to the
   * one `accountId` (Cloud) or `username` (DC) names: none when no such user exists.
   */
  private assignable(c: HandlerContext): Reply {
    const project = c.query.get('project');
    if (project !== null && project.toUpperCase() !== this.project)
      return errors(404, [`No project could be found with key '${project}'.`]);
    const who = c.query.get(this.flavour === 'cloud' ? 'accountId' : 'username');
    const users = who === null ? this.users : this.users.filter((u) => u === this.userById(who));
    const body = users.map((u) => this.beans.user(u));
    return { status: 200, body: this.asDeclared() && body.length === 1 ? body[0] : body };
  }

  /** Whether to answer DC's one declared object where Jira sends an array (`answersAsDeclared`). */
  private asDeclared(): boolean {
    return this.answersAsDeclared && this.flavour === 'datacenter';
  }

  /** The caller; on Cloud with `expand=groups`, the groups it is in (User.groups). */
  private myself(c: HandlerContext): Reply {
    const body = this.beans.user(c.caller);
    const expand = (c.query.get('expand') ?? '').split(',');
    if (this.flavour === 'cloud' && expand.includes('groups')) {
      const api = `${this.base}/rest/api/3`;
      const mine = this.groups.filter((g) => g.members.includes(c.caller.name));
      body.groups = {
        size: mine.length,
        items: mine.map((g) => ({
          name: g.name,
          groupId: g.groupId,
          self: `${api}/group?groupId=${g.groupId}`,
        })),
      };
    }
    return { status: 200, body };
  }

  /**
   * Jira's refusal of a comment restricted to a role or group its author is not in (or that does
   * not exist), as Jira words it; undefined when the author may post it.
   */
  private visibilityRefusal(caller: FakeUser, visibility: Json | undefined): string | undefined {
    if (!visibility) return undefined;
    const same = (a: string, b: unknown) => a.toLowerCase() === String(b ?? '').toLowerCase();
    const inGroup = (g: FakeGroup) => g.members.includes(caller.name);
    if (visibility.type === 'group') {
      const group = this.groups.find((g) =>
        visibility.identifier !== undefined
          ? g.groupId === visibility.identifier
          : same(g.name, visibility.value),
      );
      return group && inGroup(group)
        ? undefined
        : `You are currently not a member of the group: ${String(visibility.value ?? visibility.identifier)}.`;
    }
    const role = this.projectRoles.find((r) => same(r.name, visibility.value));
    if (!role) return `Project role with name '${String(visibility.value)}' does not exist.`;
    const member =
      role.users.includes(caller.name) ||
      this.groups.some((g) => role.groups.includes(g.name) && inGroup(g));
    return member ? undefined : `You are currently not a member of the project role: ${role.name}.`;
  }

  private isProject(asked: string): boolean {
    return asked.toUpperCase() === this.project || asked === '10000';
  }

  /** The project's roles: each name with the URL of its details (`…/role/{id}`). */
  private roles(c: HandlerContext): Reply {
    const asked = c.params.projectIdOrKey ?? '';
    if (!this.isProject(asked))
      return errors(404, [`No project could be found with key '${asked}'.`]);
    const api = `${this.base}/rest/api/${this.flavour === 'cloud' ? 3 : 2}`;
    return {
      status: 200,
      body: Object.fromEntries(
        this.projectRoles.map((r) => [r.name, `${api}/project/${this.project}/role/${r.id}`]),
      ),
    };
  }

  /** One role of the project with its actors: users (Cloud by account id) and groups. */
  private role(c: HandlerContext): Reply {
    const asked = c.params.projectIdOrKey ?? '';
    if (!this.isProject(asked))
      return errors(404, [`No project could be found with key '${asked}'.`]);
    const role = this.projectRoles.find((r) => String(r.id) === c.params.id);
    if (!role) return errors(404, [`Can not retrieve a role actor for a null project role.`]);
    const api = `${this.base}/rest/api/${this.flavour === 'cloud' ? 3 : 2}`;
    let actorId = 20000;
    const cloud = this.flavour === 'cloud';
    const typed = cloud || !this.roleActorsUntyped;
    const users = role.users.flatMap((name) => {
      const u = this.users.find((x) => x.name === name);
      if (!u) return [];
      return [
        cloud
          ? {
              id: actorId++,
              displayName: u.displayName,
              type: 'atlassian-user-role-actor',
              actorUser: { accountId: u.accountId },
            }
          : {
              name: u.name,
              ...(typed ? { type: 'atlassian-user-role-actor', displayName: u.displayName } : {}),
            },
      ];
    });
    const groups = role.groups.map((name) => {
      const g = this.groups.find((x) => x.name === name);
      return cloud
        ? {
            id: actorId++,
            displayName: name,
            type: 'atlassian-group-role-actor',
            actorGroup: { name, displayName: name, ...(g ? { groupId: g.groupId } : {}) },
          }
        : { name, ...(typed ? { type: 'atlassian-group-role-actor', displayName: name } : {}) };
    });
    return {
      status: 200,
      body: {
        self: `${api}/project/${this.project}/role/${role.id}`,
        name: role.name,
        id: role.id,
        description: `A project role: ${role.name}`,
        actors: [...users, ...groups],
      },
    };
  }

  /** Every issue type of the project, each with its workflow's statuses (one workflow here). */
  /** `GET /status/{idOrName}`: a status of the workflow by id or name, whole (see `answersWithout`). */
  private status(c: HandlerContext): Reply {
    const wanted = c.params.idOrName ?? '';
    const role = (Object.keys(STATUS_IDS) as StatusRole[]).find(
      (r) => STATUS_IDS[r] === wanted || this.statusName(r).toLowerCase() === wanted.toLowerCase(),
    );
    if (!role) return errors(404, [`The status with id '${wanted}' does not exist.`]);
    return { status: 200, body: this.beans.status(role, true) };
  }

  private projectStatuses(c: HandlerContext): Reply {
    const asked = c.params.projectIdOrKey ?? '';
    if (asked.toUpperCase() !== this.project && asked !== '10000')
      return errors(404, [`No project could be found with key '${asked}'.`]);
    const api = `${this.base}/rest/api/${this.flavour === 'cloud' ? 3 : 2}`;
    const roles = Object.keys(STATUS_IDS) as StatusRole[];
    const body = FAKE_ISSUE_TYPES.map((name, i) => ({
      id: String(10001 + i),
      name,
      self: `${api}/issueType/${10001 + i}`,
      subtask: false,
      statuses: roles.map((r) => this.beans.status(r)),
    }));
    return { status: 200, body: this.asDeclared() ? body[0] : body };
  }

  private rich(c: HandlerContext, value: unknown, where: string): string | undefined {
    // Jira refuses a comment or description past 32,767 characters (the ADF as sent, on Cloud).
    const length = typeof value === 'string' ? value.length : JSON.stringify(value ?? '').length;
    if (length > MAX_BODY_CHARS)
      return `The entered text is too long. It exceeds the allowed limit of ${MAX_BODY_CHARS.toLocaleString('en')} characters.`;
    if (this.flavour === 'cloud') {
      const problems = this.validator.validateAdf(value, where);
      for (const p of problems) c.violate(`ADF: ${p}`);
      if (problems.length) return `${where} must be an Atlassian Document Format document`;
    } else if (typeof value !== 'string') return `${where} must be a string`;
    for (const id of this.mentioned(value))
      if (!this.userById(id)) c.violate(`${where} mentions ${id}, who is not a user of this Jira`);
    return undefined;
  }

  /** The people a body mentions: ADF mention nodes (Cloud), `[~name]` (Data Center). */
  private mentioned(value: unknown): string[] {
    if (typeof value === 'string')
      return [...value.matchAll(/\[~([^\]]+)\]/g)].map((m) => m[1] ?? '');
    const ids: string[] = [];
    const walk = (n: unknown) => {
      if (!n || typeof n !== 'object') return;
      const node = n as Json;
      if (node.type === 'mention') ids.push(String(node.attrs?.id ?? ''));
      if (Array.isArray(node.content)) node.content.forEach(walk);
    };
    walk(value);
    return ids;
  }

  /** A user by Cloud accountId or Data Center user name, as this flavour names people. */
  userById(id: unknown): FakeUser | undefined {
    return this.users.find((u) => (this.flavour === 'cloud' ? u.accountId : u.name) === id);
  }

  private create(c: HandlerContext): Reply {
    const fields = ((c.body as Json)?.fields ?? {}) as Json;
    if (fields.project?.key !== this.project && fields.project?.id !== '10000')
      return errors(400, [], { project: 'valid project is required' });
    if (!FAKE_ISSUE_TYPES.includes(fields.issuetype?.name))
      return errors(400, [], { issuetype: 'valid issue type is required' });
    if (typeof fields.summary !== 'string' || fields.summary.trim() === '')
      return errors(400, [], { summary: 'You must specify a summary of the issue.' });
    // Jira's limits on what a create may carry (SummarySystemField: length, line breaks).
    if (fields.summary.length > 254)
      return errors(400, [], { summary: 'Summary must be less than 255 characters.' });
    if (/[\r\n]/.test(fields.summary)) return errors(400, [], { summary: SUMMARY_NEWLINES });
    const missing = this.requiredFields.find((f) => fields[f] === undefined || fields[f] === null);
    if (missing) return errors(400, [], { [missing]: `${missing} is required.` });
    if (fields.labels !== undefined && !this.labelsOnCreateScreen)
      return errors(400, [], {
        labels: "Field 'labels' cannot be set. It is not on the appropriate screen, or unknown.",
      });
    const spaced = ((fields.labels ?? []) as unknown[]).find((l) => /\s/.test(String(l)));
    if (spaced !== undefined)
      return errors(400, [], {
        labels: `The label '${String(spaced)}' contains spaces which is invalid.`,
      });
    if (fields.description !== undefined) {
      const bad = this.rich(c, fields.description, 'description');
      if (bad) return errors(400, [], { description: bad });
    }
    if (fields.priority !== undefined && !this.priorityOnScreen)
      return errors(400, [], {
        priority:
          "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown.",
      });
    const priority = fields.priority ? schemePriority(fields.priority, this.priorities) : undefined;
    if (priority && 'error' in priority) return errors(400, [], { priority: priority.error });
    let reporter: FakeUser | undefined = c.caller;
    if (fields.reporter !== undefined) {
      // Jira's answers when the caller lacks Modify Reporter, or names nobody it knows.
      if (!this.canSetReporter)
        return errors(400, [], {
          reporter:
            "Field 'reporter' cannot be set. It is not on the appropriate screen, or unknown.",
        });
      reporter = this.userById(
        this.flavour === 'cloud' ? fields.reporter?.accountId : fields.reporter?.name,
      );
      if (!reporter) return errors(400, [], { reporter: 'Specified reporter is not a user.' });
    }
    const issue = this.addIssue({
      reporter,
      summary: fields.summary,
      description: fields.description,
      labels: fields.labels,
      issueType: fields.issuetype.name,
      otherFields: Object.fromEntries(
        Object.entries(fields).filter(([name]) => !MODELLED_FIELDS.has(name)),
      ),
      ...(priority && 'name' in priority ? { priority: priority.name } : {}),
    });
    for (const p of ((c.body as Json).properties ?? []) as Json[])
      issue.properties.set(String(p.key), p.value);
    return {
      status: 201,
      body: without(
        { id: issue.id, key: issue.key, self: this.beans.issue(issue, []).self },
        this.answersWithout.create,
      ),
    };
  }

  /** Edit issue: 204 with the fields applied (200 with the issue for `returnIssue=true`). */
  private edit(c: HandlerContext, issue: FakeIssue): Reply {
    const outcome = planEdit(
      c.body as Json | undefined,
      this.priorities,
      this.priorityOnScreen,
      (v) => this.userById(this.flavour === 'cloud' ? v.accountId : v.name),
    );
    if ('errors' in outcome) return errors(400, [], outcome.errors);
    outcome.apply(issue);
    return c.query.get('returnIssue') === 'true'
      ? { status: 200, body: this.beans.issue(issue, []) }
      : { status: 204 };
  }

  /** GET /comment/{commentId}/properties/{propertyKey}: a comment's entity property. */
  private commentProperty(c: HandlerContext): Reply {
    const id = c.params.commentId ?? '';
    const key = c.params.propertyKey ?? '';
    const comment = this.issues.flatMap((i) => i.comments).find((x) => x.id === id);
    if (!comment) return errors(404, ['Comment does not exist or you do not have permission.']);
    const property = comment.properties.find((p) => p.key === key);
    if (!property) return errors(404, [`The property '${key}' does not exist.`]);
    return { status: 200, body: { key, value: property.value } };
  }

  private comment(c: HandlerContext, issue: FakeIssue): Reply {
    const body = (c.body as Json)?.body;
    const bad = this.rich(c, body, 'body');
    if (bad) return errors(400, [], { comment: bad });
    // Jira refuses a blank comment: `""` or spaces (Data Center), an ADF document without text.
    if (!hasWords(body)) return errors(400, [], { comment: 'Comment body can not be empty!' });
    const refusal = this.visibilityRefusal(
      c.caller,
      (c.body as Json).visibility as Json | undefined,
    );
    if (refusal) return errors(400, [], { commentLevel: refusal });
    const comment = {
      id: String(this.nextId++),
      author: c.caller,
      body,
      created: jiraDate(this.now()),
      properties: (((c.body as Json).properties ?? []) as Json[]).map((p) => ({
        key: String(p.key),
        value: p.value,
      })),
      // Checked against the spec's Visibility (Cloud) or VisibilityJsonBean (DC) with the body.
      ...((c.body as Json).visibility ? { visibility: (c.body as Json).visibility } : {}),
    };
    issue.comments.push(comment);
    return {
      status: 201,
      body: without(this.beans.comment(issue, comment, false), this.answersWithout.comment),
    };
  }

  private attach(c: HandlerContext, issue: FakeIssue): Reply {
    const files = c.files.filter((f) => f.field === 'file');
    if (files.length === 0 || files.length !== c.files.length) {
      c.violate(
        'attachments: every multipart part must be named "file" and at least one is required',
      );
      return errors(400, ['The file part must be named "file".']);
    }
    if (files.length > 60) return errors(413, ['Too many files in one request.']);
    // Over the site's limit: Cloud 413; Data Center 404, as its document says.
    if (files.some((f) => f.bytes.byteLength > this.maxAttachmentBytes))
      return errors(this.flavour === 'cloud' ? 413 : 404, [
        `The attachment exceeds the maximum attachment size (${this.maxAttachmentBytes} bytes).`,
      ]);
    const added = files.map((f) => {
      const a = {
        id: String(this.nextId++),
        filename: f.name,
        size: f.bytes.byteLength,
        mimeType: f.type || 'application/octet-stream',
        created: jiraDate(this.now()),
        author: c.caller,
        bytes: f.bytes,
      };
      issue.attachments.push(a);
      return this.beans.attachment(a);
    });
    return { status: 200, body: added };
  }

  /** The transitions from the issue's status that the workflow offers the caller. */
  private offered(issue: FakeIssue, caller: FakeUser): FakeTransition[] {
    const offeredTo = this.transitionsOfferedTo;
    if (
      offeredTo === 'nobody' ||
      (offeredTo === 'assignee' && issue.assignee?.name !== caller.name)
    )
      return [];
    return FAKE_TRANSITIONS.filter((t) => t.from === issue.status);
  }

  private screenOf(t: FakeTransition): {
    fields: string[];
    required: string[];
    defaulted: string[];
  } {
    const fields = screenFields(this.screens, t.to);
    return {
      fields,
      required: fields.filter((f) => isRequiredOnScreen(this.screens, t.to, f)),
      defaulted: this.screens.defaulted[t.to] ?? [],
    };
  }

  private transition(c: HandlerContext, issue: FakeIssue): Reply {
    const id = String((c.body as Json)?.transition?.id ?? '');
    const t = this.offered(issue, c.caller).find((x) => x.id === id);
    if (!t) {
      // DC's spec documents 500 for an incorrect transition id; Cloud answers 400.
      return this.flavour === 'cloud'
        ? errors(400, [`Transition id '${id}' is not valid for this issue.`])
        : errors(500, [`Transition id '${id}' is not valid for this issue.`]);
    }
    // Only fields on the move's screen, and its required ones (Done asking for a Resolution, say).
    const given = ((c.body as Json)?.fields ?? {}) as Json;
    const refused = transitionFieldErrors(this.screens, t.to, given);
    if (Object.keys(refused).length) return errors(400, [], refused);
    issue.history.push({ from: issue.status, to: t.to, by: c.caller.name });
    issue.status = t.to;
    issue.transitionFields.push({ to: t.to, fields: given });
    return { status: 204 };
  }

  private assign(c: HandlerContext, issue: FakeIssue): Reply {
    // Without Assign Issues: Cloud 403; Data Center 401, as its document says.
    if (!this.canAssign)
      return this.flavour === 'cloud'
        ? errors(403, ['You do not have permission to assign issues.'])
        : errors(401, ['You do not have permission to assign issues.']);
    const who = this.flavour === 'cloud' ? (c.body as Json)?.accountId : (c.body as Json)?.name;
    if (who === null || who === '-1') {
      issue.assignee = null;
      return { status: 204 };
    }
    const user = this.userById(who);
    if (!user)
      return this.flavour === 'datacenter' && this.unknownAssigneeStatus === 404
        ? errors(404, [`User '${String(who)}' does not exist.`])
        : errors(400, [], { assignee: `User '${String(who)}' does not exist.` });
    issue.assignee = user;
    return { status: 204 };
  }

  private linkBean(issue: FakeIssue, l: FakeIssue['remoteLinks'][number]): Json {
    return {
      id: l.id,
      self: `${this.beans.issue(issue, []).self}/remotelink/${l.id}`,
      ...(l.globalId ? { globalId: l.globalId } : {}),
      object: l.object,
    };
  }

  private links(c: HandlerContext, issue: FakeIssue): Reply {
    const globalId = c.query.get('globalId');
    if (globalId !== null) {
      const l = issue.remoteLinks.find((x) => x.globalId === globalId);
      return l
        ? { status: 200, body: this.linkBean(issue, l) }
        : errors(404, ['No remote link with that globalId.']);
    }
    return { status: 200, body: issue.remoteLinks.map((l) => this.linkBean(issue, l)) };
  }

  private link(c: HandlerContext, issue: FakeIssue): Reply {
    const body = c.body as Json;
    const object = body?.object as Json | undefined;
    if (!object?.url || !object?.title) return errors(400, [], { title: "'title' is required." });
    const existing = body.globalId
      ? issue.remoteLinks.find((l) => l.globalId === body.globalId)
      : undefined;
    const value = {
      url: String(object.url),
      title: String(object.title),
      ...(object.summary ? { summary: String(object.summary) } : {}),
    };
    if (existing) existing.object = value; // Jira upserts by globalId: one link, updated
    const link = existing ?? {
      id: this.nextLink++,
      ...(body.globalId ? { globalId: String(body.globalId) } : {}),
      object: value,
    };
    if (!existing) issue.remoteLinks.push(link);
    const ids = { id: link.id, self: `${this.beans.issue(issue, []).self}/remotelink/${link.id}` };
    return { status: this.flavour === 'cloud' && !existing ? 201 : 200, body: ids };
  }

  private search(c: HandlerContext): Reply {
    const input = (c.method === 'post' ? c.body : Object.fromEntries(c.query)) as Json;
    const jql = String(input.jql ?? '');
    const parsed = parseFakeJql(jql);
    if (!parsed) return errors(400, [`Error in the JQL Query: cannot parse "${jql}".`]);
    if (this.flavour === 'cloud' && parsed.clauses.length === 0) {
      return errors(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ]);
    }
    const fieldsRaw = input.fields ?? '';
    const fields = Array.isArray(fieldsRaw)
      ? fieldsRaw.map(String)
      : String(fieldsRaw).split(',').filter(Boolean);
    const max = Math.min(Number(input.maxResults ?? 50), this.searchPageSize);
    // Jira's index lags a create ("recent updates might not be immediately visible").
    const indexed = this.now().getTime() - this.searchLagMs;
    const hits = this.issues.filter(
      (i) =>
        i.created.getTime() <= indexed &&
        matchesJql(i, parsed.clauses, this.statusName, this.now()),
    );
    if (parsed.orderDesc) hits.reverse();
    if (this.flavour === 'cloud') {
      const start = input.nextPageToken
        ? Number(Buffer.from(String(input.nextPageToken), 'base64url').toString())
        : 0;
      const page = hits.slice(start, start + max).filter((i) => !this.searchHides.has(i.key));
      const isLast = start + max >= hits.length;
      const body: Json = {
        issues: page.map((i) => this.beans.issue(i, fields.length ? fields : ['id'])),
        isLast,
      };
      if (this.answersWithout.searchPage?.includes('issues')) delete body.issues;
      if (!isLast) body.nextPageToken = Buffer.from(String(start + max)).toString('base64url');
      return { status: 200, body };
    }
    const startAt = Number(input.startAt ?? 0);
    const page = hits.slice(startAt, startAt + max);
    return {
      status: 200,
      body: {
        startAt,
        maxResults: max,
        ...(this.omitsTotal ? {} : { total: hits.length }),
        ...(this.answersWithout.searchPage?.includes('issues')
          ? {}
          : { issues: page.map((i) => this.beans.issue(i, fields)) }),
      },
    };
  }
}
