import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findFreePort } from '../sshd.js';
import { FakeJiraState, type Reply } from './fake-handlers.js';
import {
  FAKE_STATUS_NAMES,
  type FakeComment,
  type FakeGroup,
  type FakeIssue,
  type FakeProjectRole,
  type FakeUser,
  type StatusRole,
} from './fake-workflow.js';
import { type Flavour, OpenApiValidator } from './openapi-validator.js';

export interface JiraFakeOptions {
  flavour: Flavour;
  project?: string;
  /** Path prefix the fake serves under (`/jira`, `/ex/jira/<cloudId>`), so prefixes are exercised. */
  basePath?: string;
  statuses?: Partial<Record<StatusRole, string>>;
  /** Known users; the first one is the caller (`/myself`). */
  users?: FakeUser[];
  /**
   * Whether the caller has Assign Issues (default true): without, Cloud answers an assign 403 and
   * Data Center 401, as each document says.
   */
  canAssign?: boolean;
  /**
   * Data Center's answer to an assignee that does not exist (default 400, Jira's ErrorCollection
   * naming `assignee`): 404 is what its document says ("the issue or the user does not exist").
   */
  unknownAssigneeStatus?: 400 | 404;
  /**
   * The site's attachment size limit in bytes (default none): a file over it is answered 413 on
   * Cloud and 404 on Data Center, as each document says.
   */
  maxAttachmentBytes?: number;
  /** Whether the caller may set an issue's reporter (Modify Reporter); default true. */
  canSetReporter?: boolean;
  /**
   * Whether `GET …/comment?expand=properties` returns the comments' properties (default true).
   * The spec documents only `renderedBody` for that expand; false answers as a strict Jira may.
   */
  expandsCommentProperties?: boolean;
  /**
   * Most comments a page of `GET …/comment` holds, whatever `maxResults` asks (default 5000): Jira
   * may return fewer than asked, the rest by `startAt`.
   */
  commentsPageSize?: number;
  /**
   * Answer pages of comments and of Data Center search results without `total`, which neither
   * spec requires (default false): a client must then read on until a page comes back empty.
   */
  omitsTotal?: boolean;
  /**
   * Most issues a page of search results holds, whatever `maxResults` asks (default 5000): Jira
   * may return fewer ("when many fields are requested"), the rest by `startAt` or the page token.
   */
  searchPageSize?: number;
  /**
   * Cloud: issues the caller may not browse, counted in the pages of `POST /search/jql` but left
   * out of them, as Jira Cloud filters a page after cutting it: a page may hold fewer issues than
   * asked, none at all, and still carry a `nextPageToken`. Default none.
   */
  searchHides?: string[];
  /** Whether `GET …/comment` honours `orderBy` (default true); false answers oldest first. */
  ordersComments?: boolean;
  /**
   * Cloud: answer 400 to `GET …/comment` with an `orderBy` other than `created`, as the
   * operation's 400 ("if `orderBy` is set to a value other than *created*") reads literally,
   * though its enum lists `-created`. Default false.
   */
  commentOrderCreatedOnly?: boolean;
  /** How long a created issue stays out of search results (Jira's index lag); default 0. */
  searchLagMs?: number;
  /** Whether the create screen has Labels; default true (Jira refuses labels otherwise). */
  labelsOnCreateScreen?: boolean;
  /**
   * Fields a transition to each status must carry: its screen's required fields (on the screen,
   * so the move to that status has a screen).
   */
  transitionRequires?: Partial<Record<StatusRole, string[]>>;
  /**
   * Required fields of `transitionRequires` that have a default value (`hasDefaultValue: true`):
   * a move without them takes the default instead of being refused.
   */
  transitionDefaults?: Partial<Record<StatusRole, string[]>>;
  /**
   * Fields on the screen of a transition to each status, besides the required ones. A move to a
   * status with no fields here nor in `transitionRequires` has no screen (Cloud's `hasScreen:
   * false`): Jira refuses any field it carries as not on the appropriate screen.
   */
  transitionScreens?: Partial<Record<StatusRole, string[]>>;
  /** Whether `GET …/transitions` honours `expand=transitions.fields`; default true. */
  expandsTransitionFields?: boolean;
  /**
   * Whom the workflow offers its transitions (default everyone): only the issue's assignee (a
   * workflow condition), or nobody (the caller lacks Transition Issues). Jira lists none to the
   * others, and refuses their moves as not valid.
   */
  transitionsOfferedTo?: 'everyone' | 'assignee' | 'nobody';
  /** Whether the create and edit screens have Priority (default true; false refuses the field). */
  priorityOnScreen?: boolean;
  /** Fields a create must carry (a project's required custom fields); default none. */
  requiredFields?: string[];
  /** The project's priority scheme (names, highest first); default Jira's Highest…Lowest. */
  priorities?: string[];
  /**
   * Check query parameters against the spec as published, without the corrections of
   * spec-overrides.ts (QUERY_OVERRIDES, ADDED_QUERY_PARAMETERS): a fake built straight from
   * Atlassian's document refuses with 400 (recorded as a violation) a parameter the operation's
   * text documents but its `parameters` leave out (Data Center's `expand=transitions.fields`),
   * and Data Center's search `fields` as a string (typed as the object StringList). Default false.
   */
  queryAsPublished?: boolean;
  /**
   * Members left out of a 201's body: the create's `id`, `key`, `self` (CreatedIssue /
   * IssueCreateResponse) and the comment's `id`, `self` are all optional in both specs, though
   * Jira always sends them. Default none. `status`: members left out of every status bean
   * (StatusDetails, optional in both specs), in issues and in the project's statuses alike;
   * `GET /status/{idOrName}` answers whole.
   */
  answersWithout?: {
    create?: ('id' | 'key' | 'self')[];
    comment?: ('id' | 'self')[];
    status?: ('statusCategory' | 'name')[];
    /** Members left out of a transition screen's field metadata (optional in both specs). */
    fieldMetadata?: 'hasDefaultValue'[];
    /** Members left out of every issue bean (IssueBean, all optional): `GET …/issue`, search. */
    issue?: 'key'[];
    /**
     * Fields left out of every issue bean's `fields` though asked for (IssueBean's `fields` is an
     * open map in both specs): Jira sends `attachment: []` for an issue with none.
     */
    issueFields?: 'attachment'[];
    /** Members left out of every transition `GET …/transitions` lists (all optional). */
    transition?: 'name'[];
    /** Members left out of an issue property read (EntityProperty: `key`, `value` optional). */
    property?: 'value'[];
    /**
     * Members left out of `GET …/properties` (PropertyKeys / EntityPropertiesKeysBean: `keys` and
     * each PropertyKey's `key` are optional in both specs): `keys` answers `{}`, `key` lists each
     * property by its `self` only.
     */
    propertyList?: ('keys' | 'key')[];
    /** `comments` left out of every page of `GET …/comment` (PageOfComments: all optional). */
    commentPage?: 'comments'[];
    /** `issues` left out of every page of search results (both specs: all optional). */
    searchPage?: 'issues'[];
  };
  /**
   * Answer descriptions and comment bodies in the other flavour's form (default: the flavour's
   * own, ADF on Cloud, wiki markup on Data Center): `adf` as an ADF document (Data Center, whose
   * document types every issue field as an object: its description only, the comment body being
   * typed a string), `wiki` as a string (Cloud, whose document leaves both untyped).
   */
  bodiesAs?: 'adf' | 'wiki';
  now?: () => Date;
  /**
   * How far the site's clock (its answers' `Date` header) is ahead of `now` (negative: behind):
   * a runner machine whose clock was set back or forward. Default 0.
   */
  clockOffsetMs?: number;
  /**
   * Whether answers carry a `Date` header (default true: RFC 9110 §6.6.1, an origin server with a
   * clock MUST send one in every 2xx, 3xx and 4xx answer, and Jira does). False answers without,
   * as a proxy that strips it would. Read at every answer, as `clockOffsetMs` is.
   */
  datesAnswers?: boolean;
  /**
   * The site's groups and their members (user names); default: `jira-software-users` holding
   * every user. Cloud's `GET /myself?expand=groups` lists the caller's.
   */
  groups?: FakeGroup[];
  /**
   * The project's roles and their actors (user names, group names), served by `GET
   * /project/{key}/role` and `…/role/{id}`; default Administrators (no one) and Developers (the
   * group jira-software-users).
   */
  projectRoles?: FakeProjectRole[];
  /**
   * Data Center: answer as its document declares where it declares one object and Jira sends an
   * array (spec-overrides.ts, RESPONSE_OVERRIDES): the project's statuses as one issue type (the
   * first), an assignable-user search that finds one user as that user. Default false.
   */
  answersAsDeclared?: boolean;
  /** Data Center role actors without `type` (its RoleActorBean declares only `name`). */
  roleActorsUntyped?: boolean;
}

export type Fault =
  | {
      kind: 'status';
      status: number;
      retryAfter?: string;
      /**
       * The body as sent, instead of Jira's ErrorCollection: what a proxy, a sign-in page or a
       * gateway answers (`text/html` unless `contentType` says).
       */
      raw?: string;
      contentType?: string;
      /** Where a redirect (3xx) points. */
      location?: string;
    }
  | { kind: 'hang' }
  | { kind: 'reset' };

export interface FaultRule {
  fault: Fault;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** How many matching requests go through untouched before the fault applies (default 0). */
  skip?: number;
  method?: string;
  /** Substring of the path the rule applies to. */
  path?: string;
  /** Apply the request first, then fail: the client cannot know the write happened. */
  afterHandling?: boolean;
}

export interface Violation {
  method: string;
  path: string;
  kind: 'request' | 'response' | 'route';
  problems: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  status: number | 'reset' | 'hang';
}

export const FAKE_CREDENTIALS = {
  email: 'ops.engineer@example.com',
  apiToken: 'fake-cloud-token-7Hq2',
  pat: 'fake-dc-pat-Xy93kLm',
};

const DEFAULT_USERS: FakeUser[] = [
  {
    accountId: '5b10ac8d82e05b22cc7d4ef5',
    name: 'engineer',
    displayName: 'Eve Engineer',
    emailAddress: FAKE_CREDENTIALS.email,
  },
  {
    accountId: '5b10ac8d82e05b22cc7d4ef6',
    name: 'senior',
    displayName: 'Sam Senior',
    emailAddress: 'senior@example.com',
  },
];

/** A running Jira fake on 127.0.0.1, on a port `findFreePort` found. */
export interface JiraFake {
  readonly baseUrl: string;
  /** The site people browse (`serverInfo.baseUrl`): baseUrl less an API gateway's `/ex/jira/<id>`. */
  readonly siteUrl: string;
  readonly flavour: Flavour;
  /** JIRA_BASE_URL plus the credentials the fake accepts, ready to pass as `env`. */
  readonly env: Record<string, string>;
  readonly users: FakeUser[];
  /**
   * Requests or responses the spec does not allow (`closeExpectingNone()` ends a test that expects
   * none). Reading them marks them examined: `close()` fails on any recorded after the last read.
   */
  violations(): Violation[];
  clearViolations(): void;
  requests(): RecordedRequest[];
  inject(rule: FaultRule): void;
  clearFaults(): void;
  issue(key: string): FakeIssue | undefined;
  issues(): FakeIssue[];
  /** Put an issue in place directly (test setup), bypassing HTTP. */
  seed(fields: { summary: string; status?: StatusRole; labels?: string[] }): FakeIssue;
  /**
   * Put `count` comments (`c0`, `c1`, …, in the flavour's body format, by the first user) on an
   * issue directly, bypassing HTTP: one a second from `from`, ids from `firstId`; `properties`
   * gives a comment its entity properties (a delivery mark).
   */
  seedComments(key: string, count: number, options: SeedComments): void;
  /** Stop listening (connection refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  /**
   * Stops the fake, and rejects naming every violation no one read (`violations()`) or cleared:
   * a test that forgets to assert on them still fails on a request the spec does not allow.
   */
  close(): Promise<void>;
  /**
   * The end of a test that expects no violation: stops the fake, and rejects naming every
   * violation recorded and not cleared, whether a test read it (`violations()`) or not.
   */
  closeExpectingNone(): Promise<void>;
}

export interface SeedComments {
  from: Date;
  firstId: number;
  properties?: (i: number) => FakeComment['properties'];
}

/** Violations one a line, as close() names them. */
function listed(violations: readonly Violation[]): string {
  return violations
    .map((v) => `${v.kind} ${v.method.toUpperCase()} ${v.path}: ${v.problems.join('; ')}`)
    .join('\n');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startJiraFake(options: JiraFakeOptions): Promise<JiraFake> {
  const flavour = options.flavour;
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const names = { ...FAKE_STATUS_NAMES, ...options.statuses };
  const users = options.users ?? DEFAULT_USERS;
  const validator = new OpenApiValidator(flavour, {
    asPublished: options.queryAsPublished ?? false,
  });
  const violations: Violation[] = [];
  // How many of `violations` a test has read: close() fails on the rest.
  let examined = 0;
  const recorded: RecordedRequest[] = [];
  const rules: (FaultRule & { left: number; passes: number })[] = [];
  const hanging = new Set<ServerResponse>();
  let port = 0;
  let server: Server | undefined;
  const origin = () => `http://127.0.0.1:${port}${basePath}`;
  /** The site's clock, as its answers' `Date` header says it: `now`, moved by `clockOffsetMs`. */
  const siteNow = () =>
    new Date((options.now?.() ?? new Date()).getTime() + (options.clockOffsetMs ?? 0));
  const state = { current: undefined as FakeJiraState | undefined };
  const auth =
    flavour === 'cloud'
      ? `Basic ${Buffer.from(`${FAKE_CREDENTIALS.email}:${FAKE_CREDENTIALS.apiToken}`).toString('base64')}`
      : `Bearer ${FAKE_CREDENTIALS.pat}`;

  /** The `Date` header of an answer; none (Node's own left out too) where `datesAnswers` is false. */
  const dated = (res: ServerResponse): Record<string, string> => {
    if (options.datesAnswers !== false) return { date: siteNow().toUTCString() };
    res.sendDate = false;
    return {};
  };

  const send = (res: ServerResponse, reply: Reply) => {
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, {
      ...dated(res),
      ...(text ? { 'content-type': 'application/json;charset=UTF-8' } : {}),
      ...reply.headers,
    });
    res.end(text);
  };

  const takeFault = (method: string, path: string) => {
    const rule = rules.find(
      (r) =>
        r.left > 0 &&
        (!r.method || r.method.toLowerCase() === method) &&
        (!r.path || path.includes(r.path)),
    );
    if (rule && rule.passes > 0) {
      rule.passes--;
      return undefined;
    }
    if (rule) rule.left--;
    return rule;
  };

  const applyFault = (
    req: IncomingMessage,
    res: ServerResponse,
    fault: Fault,
    entry: RecordedRequest,
  ) => {
    if (fault.kind === 'reset') {
      entry.status = 'reset';
      req.socket.destroy();
    } else if (fault.kind === 'hang') {
      entry.status = 'hang';
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
    } else {
      entry.status = fault.status;
      if (fault.raw !== undefined) {
        res.writeHead(fault.status, {
          ...dated(res),
          'content-type': fault.contentType ?? 'text/html;charset=UTF-8',
          ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}),
          ...(fault.location ? { location: fault.location } : {}),
        });
        res.end(fault.raw);
        return;
      }
      send(res, {
        status: fault.status,
        body: { errorMessages: [`injected ${fault.status}`], errors: {} },
        headers: fault.retryAfter ? { 'retry-after': fault.retryAfter } : {},
      });
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toLowerCase();
    const entry: RecordedRequest = { method, path: url.pathname, query: url.search, status: 0 };
    recorded.push(entry);
    const violate = (kind: Violation['kind'], problems: string[]) =>
      violations.push({ method, path: url.pathname, kind, problems });
    const reply = (r: Reply) => {
      entry.status = r.status;
      send(res, r);
    };
    if (!url.pathname.startsWith(`${basePath}/`)) {
      violate('route', [`path outside the base ${basePath || '/'}`]);
      return reply({ status: 404 });
    }
    const route = url.pathname.slice(basePath.length);
    if (req.headers.authorization !== auth)
      return reply({
        status: 401,
        body: {
          errorMessages: [
            'You are not authenticated. Authentication required to perform this operation.',
          ],
          errors: {},
        },
      });
    const matched = validator.match(method, route);
    if (!matched) {
      // Cloud replaced /rest/api/3/search by /search/jql: answer 410 as Jira does, flag the client.
      if (flavour === 'cloud' && route === '/rest/api/3/search') {
        violate('route', ['the removed /rest/api/3/search was called; use /rest/api/3/search/jql']);
        return reply({
          status: 410,
          body: {
            errorMessages: [
              'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.',
            ],
            errors: {},
          },
        });
      }
      violate('route', [
        `${method.toUpperCase()} ${route} is not an operation of the vendored spec`,
      ]);
      return reply({ status: 404, body: { errorMessages: ['Not found'], errors: {} } });
    }
    const early = [
      ...validator.validatePath(matched.op, matched.params),
      ...validator.validateHeaders(matched.op, req.headers),
    ];
    if (early.length) {
      violate('request', early);
      const notAcceptable = early.some((p) => p.startsWith('header Accept'));
      return reply({
        status: notAcceptable ? 406 : 400,
        body: { errorMessages: early, errors: {} },
      });
    }
    const contentType = req.headers['content-type'];
    let body: unknown;
    const files: { field: string; name: string; type: string; bytes: Uint8Array }[] = [];
    if (raw.length > 0 && contentType?.startsWith('application/json')) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        violate('request', ['the body is not JSON']);
        return reply({
          status: 400,
          body: { errorMessages: ['Unexpected character in the request body.'], errors: {} },
        });
      }
    } else if (raw.length > 0 && contentType?.startsWith('multipart/form-data')) {
      if (req.headers['x-atlassian-token'] !== 'no-check') {
        violate('request', ['attachments need the header X-Atlassian-Token: no-check']);
        return reply({ status: 403, body: { errorMessages: ['XSRF check failed'], errors: {} } });
      }
      const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string')
          files.push({
            field,
            name: '',
            type: 'text/plain',
            bytes: new Uint8Array(Buffer.from(value)),
          });
        else
          files.push({
            field,
            name: value.name,
            type: value.type,
            bytes: new Uint8Array(await value.arrayBuffer()),
          });
      }
      body = files;
    } else if (raw.length > 0) body = raw.toString('utf8');
    const problems = validator.validateRequest(matched.op, url.searchParams, contentType, body);
    if (problems.length) {
      violate('request', problems);
      return reply({ status: 400, body: { errorMessages: problems, errors: {} } });
    }
    const fault = takeFault(method, route);
    if (fault && !fault.afterHandling) return applyFault(req, res, fault.fault, entry);
    const op = matched.op.template.replace(/^\/rest\/api\/3|^\/api\/2/, '');
    const adfProblems: string[] = [];
    const result = state.current!.handle({
      op,
      method,
      params: matched.params,
      query: url.searchParams,
      body,
      files,
      caller: users[0]!,
      violate: (p) => adfProblems.push(p),
    });
    if (adfProblems.length) violate('request', adfProblems);
    const responseProblems = validator.validateResponse(matched.op, result.status, result.body);
    if (responseProblems.length) violate('response', responseProblems);
    if (fault) return applyFault(req, res, fault.fault, entry);
    reply(result);
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        handle(req, res).catch((e: unknown) => {
          violations.push({
            method: req.method ?? '',
            path: req.url ?? '',
            kind: 'response',
            problems: [`fake crashed: ${(e as Error).stack}`],
          });
          if (!res.headersSent)
            send(res, { status: 500, body: { errorMessages: ['fake crashed'], errors: {} } });
        });
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      for (const res of hanging) res.destroy();
      s.close(() => resolve());
      s.closeAllConnections();
    });

  // On a port outside the range of outgoing connections' local ports (findFreePort), so that
  // `up()` after `down()` finds it free again; another server may take it between the probe and
  // the listen: a few tries.
  for (let attempt = 1; ; attempt++) {
    port = await findFreePort('127.0.0.1');
    try {
      await listen();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw e;
    }
  }
  state.current = new FakeJiraState(
    flavour,
    options.project ?? 'OPS',
    users,
    (r) => names[r],
    validator,
    options.now ?? (() => new Date()),
    origin(),
  );
  state.current.canSetReporter = options.canSetReporter ?? true;
  state.current.labelsOnCreateScreen = options.labelsOnCreateScreen ?? true;
  state.current.expandsCommentProperties = options.expandsCommentProperties ?? true;
  state.current.screens = {
    shown: options.transitionScreens ?? {},
    required: options.transitionRequires ?? {},
    defaulted: options.transitionDefaults ?? {},
  };
  state.current.expandsTransitionFields = options.expandsTransitionFields ?? true;
  state.current.transitionsOfferedTo = options.transitionsOfferedTo ?? 'everyone';
  state.current.priorityOnScreen = options.priorityOnScreen ?? true;
  state.current.searchLagMs = options.searchLagMs ?? 0;
  state.current.commentsPageSize = options.commentsPageSize ?? 5000;
  state.current.omitsTotal = options.omitsTotal ?? false;
  state.current.searchPageSize = options.searchPageSize ?? 5000;
  state.current.searchHides = new Set(options.searchHides ?? []);
  state.current.ordersComments = options.ordersComments ?? true;
  state.current.commentOrderCreatedOnly = options.commentOrderCreatedOnly ?? false;
  state.current.canAssign = options.canAssign ?? true;
  state.current.maxAttachmentBytes = options.maxAttachmentBytes ?? Number.POSITIVE_INFINITY;
  state.current.unknownAssigneeStatus = options.unknownAssigneeStatus ?? 400;
  state.current.requiredFields = options.requiredFields ?? [];
  if (options.priorities) state.current.priorities = options.priorities;
  state.current.answersWithout = options.answersWithout ?? {};
  state.current.beans.statusWithout = options.answersWithout?.status ?? [];
  state.current.beans.fieldMetadataWithout = options.answersWithout?.fieldMetadata ?? [];
  state.current.beans.issueWithout = options.answersWithout?.issue ?? [];
  state.current.beans.issueFieldsWithout = options.answersWithout?.issueFields ?? [];
  state.current.beans.bodiesAs = options.bodiesAs;
  state.current.beans.transitionWithout = options.answersWithout?.transition ?? [];
  state.current.groups = options.groups ?? [
    {
      name: 'jira-software-users',
      groupId: 'a1b2c3d4-0000-4000-8000-000000000001',
      members: users.map((u) => u.name),
    },
  ];
  state.current.projectRoles = options.projectRoles ?? [
    { id: 10002, name: 'Administrators', users: [], groups: [] },
    { id: 10001, name: 'Developers', users: [], groups: ['jira-software-users'] },
  ];
  state.current.roleActorsUntyped = options.roleActorsUntyped ?? false;
  state.current.answersAsDeclared = options.answersAsDeclared ?? false;

  return {
    baseUrl: origin(),
    siteUrl: state.current.siteUrl,
    flavour,
    users,
    env:
      flavour === 'cloud'
        ? {
            JIRA_BASE_URL: origin(),
            JIRA_EMAIL: FAKE_CREDENTIALS.email,
            JIRA_API_TOKEN: FAKE_CREDENTIALS.apiToken,
          }
        : { JIRA_BASE_URL: origin(), JIRA_PAT: FAKE_CREDENTIALS.pat },
    violations: () => {
      examined = violations.length;
      return [...violations];
    },
    clearViolations: () => {
      violations.splice(0);
      examined = 0;
    },
    requests: () => [...recorded],
    inject: (rule) => void rules.push({ ...rule, left: rule.times ?? 1, passes: rule.skip ?? 0 }),
    clearFaults: () => void rules.splice(0),
    issue: (key) => state.current!.find(key),
    issues: () => [...state.current!.issues],
    seed: (fields) => state.current!.addIssue(fields),
    seedComments(key, count, { from, firstId, properties }) {
      const issue = state.current!.find(key);
      if (!issue) throw new Error(`seedComments: the fake has no issue ${key}`);
      for (let i = 0; i < count; i++) {
        const text = `c${i}`;
        issue.comments.push({
          id: String(firstId + i),
          author: users[0]!,
          body:
            flavour === 'cloud'
              ? {
                  type: 'doc',
                  version: 1,
                  content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
                }
              : text,
          created: new Date(from.getTime() + i * 1000).toISOString().replace('Z', '+0000'),
          properties: properties?.(i) ?? [],
        });
      }
    },
    down: stop,
    up: listen,
    close: async () => {
      await stop();
      const unread = violations.slice(examined);
      examined = violations.length; // said once, not again by a second close()
      if (unread.length)
        throw new Error(
          `the Jira fake recorded ${unread.length} request(s) or response(s) the spec does not allow, and the test never looked at them (assert fake.violations(), or clearViolations() where they are expected):\n${listed(unread)}`,
        );
    },
    closeExpectingNone: async () => {
      await stop();
      const left = [...violations];
      examined = violations.length;
      if (left.length)
        throw new Error(
          `the Jira fake recorded ${left.length} request(s) or response(s) the spec does not allow (clearViolations() where they are expected):\n${listed(left)}`,
        );
    },
  };
}
