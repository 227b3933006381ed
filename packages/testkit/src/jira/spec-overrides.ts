/**
 * Narrow, documented corrections of Atlassian's OpenAPI documents (listed in
 * packages/testkit/README.md, "The Jira fake"), applied to an in-memory copy when the validator
 * loads the vendored spec. The JSON files are never edited; each override names the defect it
 * works around. Nothing here loosens a 2xx/4xx check beyond the one defect it names.
 */
import type { Flavour } from './openapi-validator.js';

export interface SchemaOverride {
  /** JSON pointer inside the spec document. */
  pointer: string;
  /** The schema that replaces what the pointer names. */
  schema: unknown;
  why: string;
}

export interface ResponseOverride {
  method: string;
  /** Spec path template (`/api/2/...` for DC, `/rest/api/3/...` for Cloud). */
  path: string;
  status: string;
  /** Jira answers an array of what the spec declares as one object. */
  arrayOfDeclared: true;
  why: string;
}

export const SCHEMA_OVERRIDES: Record<Flavour, SchemaOverride[]> = {
  cloud: [
    {
      pointer:
        '/paths/~1rest~1api~13~1issue~1{issueIdOrKey}~1properties~1{propertyKey}/put/parameters/1/schema',
      schema: { type: 'string', maxLength: 255 },
      why: 'A tightening, not a correction: the parameter\'s description says "The maximum length is 255 characters" (Data Center\'s schema says so too), its schema does not.',
    },
  ],
  datacenter: [
    {
      pointer: '/components/schemas/IssueBean/properties/fields/additionalProperties',
      schema: {},
      why: 'DC declares every issue field value as an object, so a string summary fails.',
    },
    {
      pointer: '/components/schemas/IssueUpdateBean/properties/fields/additionalProperties',
      schema: {},
      why: 'The same defect on the create/edit body: a string summary or description would be refused.',
    },
  ],
};

export interface QueryOverride {
  method: string;
  path: string;
  name: string;
  schema: unknown;
  why: string;
}

export const QUERY_OVERRIDES: Record<Flavour, QueryOverride[]> = {
  cloud: [],
  datacenter: ['fields', 'expand'].map((name) => ({
    method: 'get',
    path: '/api/2/search',
    name,
    schema: { type: 'string' },
    why: 'DC types this parameter as the Java wrapper StringList (an object); on the wire it is a comma-separated string.',
  })),
};

/**
 * Query parameters an operation's own text documents but its `parameters` leave out: added to
 * the operation, so a request using them is checked (and one using anything else still flagged).
 * Loading fails when the spec declares one already (the override is then obsolete).
 */
export const ADDED_QUERY_PARAMETERS: Record<Flavour, QueryOverride[]> = {
  cloud: [],
  datacenter: [
    {
      method: 'get',
      path: '/api/2/issue/{issueIdOrKey}/transitions',
      name: 'expand',
      schema: { type: 'string' },
      why: "The operation's description says the screen's fields are returned only with `expand=transitions.fields` (TransitionBean.fields); the parameter is not declared.",
    },
  ],
};

export const RESPONSE_OVERRIDES: Record<Flavour, ResponseOverride[]> = {
  cloud: [],
  datacenter: [
    {
      method: 'post',
      path: '/api/2/issue/{issueIdOrKey}/attachments',
      status: '200',
      arrayOfDeclared: true,
      why: 'DC declares one AttachmentJsonBean; Jira returns an array of them.',
    },
    {
      method: 'get',
      path: '/api/2/project/{projectIdOrKey}/statuses',
      status: '200',
      arrayOfDeclared: true,
      why: 'DC declares one IssueTypeWithStatusJsonBean; Jira returns an array, one per issue type of the project.',
    },
    {
      method: 'get',
      path: '/api/2/user/assignable/search',
      status: '200',
      arrayOfDeclared: true,
      why: 'DC declares one UserBean; Jira returns an array of the users found.',
    },
    {
      method: 'get',
      path: '/api/2/issue/{issueIdOrKey}/remotelink',
      status: '200',
      arrayOfDeclared: true,
      why: 'DC declares one RemoteIssueLinkBean; Jira returns the list.',
    },
  ],
};

/**
 * DC request bodies have no `required` anywhere, so the Cloud minimums are asserted in addition:
 * keyed by `METHOD path-template`.
 */
export const DC_REQUEST_MINIMUMS: Record<string, unknown> = {
  'post /api/2/issue': {
    type: 'object',
    required: ['fields'],
    properties: { fields: { type: 'object', required: ['project', 'summary', 'issuetype'] } },
  },
  'post /api/2/issue/{issueIdOrKey}/comment': {
    type: 'object',
    required: ['body'],
    properties: { body: { type: 'string', minLength: 1 } },
  },
  'post /api/2/issue/{issueIdOrKey}/transitions': {
    type: 'object',
    required: ['transition'],
    properties: { transition: { type: 'object', required: ['id'] } },
  },
  'post /api/2/issue/{issueIdOrKey}/remotelink': {
    type: 'object',
    required: ['object'],
    properties: { object: { type: 'object', required: ['url', 'title'] } },
  },
  'put /api/2/issue/{issueIdOrKey}/assignee': {
    type: 'object',
    required: ['name'],
  },
};

/**
 * Statuses the fake sends on purpose although no vendored operation declares them: rate limiting
 * (429), outages (5xx) and Cloud's removed search (410). Their bodies are not validated; everything
 * else is.
 */
export const OUT_OF_SPEC_STATUSES = new Set([429, 500, 502, 503, 504, 410]);

/**
 * Error statuses Jira sends on every issue-scoped operation although the generated DC spec
 * omits them on some (e.g. 404 on POST …/comment for a missing issue). Only their presence is
 * excused; a declared body schema, if any, is still checked.
 */
export const UNDECLARED_ERROR_STATUSES: Record<Flavour, Set<number>> = {
  cloud: new Set(),
  datacenter: new Set([401, 403, 404]),
};
