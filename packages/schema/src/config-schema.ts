import { CRON_PATTERN } from './cron-pattern.js';
import { apiVersion, closedObject, timeoutDuration } from './schema-fragments.js';

/**
 * A priority of a Jira project's scheme: its name, or `{id: 10001}` (docs/working-with-jira.md).
 * One schema of two types, not an anyOf, so that a wrong key is named as such.
 */
const jiraPriority = {
  type: ['string', 'object'],
  minLength: 1,
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: ['string', 'integer'], pattern: '^[0-9]+$', minimum: 1 } },
} as const;

/** A field `tracker.jira.fields` may set: not one opsbook sets itself. */
export const JIRA_EXTRA_FIELD =
  '^(?!(project|issuetype|summary|description|labels|priority|reporter|assignee)$)(customfield_[0-9]+|[a-z][A-Za-z0-9]*)$';

/** Text that is not blank: a group's or role's name. */
export const NOT_BLANK = '\\S';

/**
 * `tracker.jira.commentVisibility`: the group or role every comment opsbook posts is restricted
 * to, as Jira's comment `visibility` takes it (Cloud's Visibility, Data Center's
 * VisibilityJsonBean). `identifier` (Cloud only) is the group's id, which survives a rename.
 */
const commentVisibility = closedObject(
  {
    type: { enum: ['role', 'group'] },
    value: { type: 'string', pattern: NOT_BLANK },
    identifier: { type: 'string', pattern: NOT_BLANK },
  },
  ['identifier'],
);

/** The opsbook.yaml format (root README, Inventory and configuration). */
export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/config.json',
  title: 'opsbook Config',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind'],
  properties: {
    apiVersion,
    kind: { const: 'Config' },
    runbooks: { type: 'string', minLength: 1 },
    stateDir: { type: 'string', minLength: 1 },
    inventory: { type: 'string', minLength: 1 },
    trustStore: { type: 'string', minLength: 1 },
    knownHosts: { type: 'string', minLength: 1 },
    /**
     * Where runs, journals and findings live: `files` (stateDir, the default) or one PostgreSQL
     * database a team shares. Keep the password out of the url: libpq's PGPASSWORD or
     * ~/.pgpass supply it, or OPSBOOK_DATABASE_URL sets the whole url.
     */
    state: closedObject(
      {
        kind: { enum: ['files', 'postgres'] },
        url: { type: 'string', pattern: '^postgres(ql)?://' },
      },
      ['url'],
    ),
    tracker: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kind: { enum: ['local', 'jira'] },
        jira: {
          type: 'object',
          additionalProperties: false,
          properties: {
            baseUrl: { type: 'string', pattern: '^https?://' },
            /** Where people open tickets, when baseUrl is Atlassian's API gateway. */
            siteUrl: { type: 'string', pattern: '^https?://' },
            project: { type: 'string', minLength: 1 },
            flavour: { enum: ['cloud', 'datacenter'] },
            email: { type: 'string' },
            /** How long one request may take before it counts as failed (and is retried). */
            timeout: timeoutDuration,
            statuses: {
              type: 'object',
              additionalProperties: false,
              properties: {
                open: { type: 'string' },
                awaitingApproval: { type: 'string' },
                approved: { type: 'string' },
                inProgress: { type: 'string' },
                review: { type: 'string' },
                done: { type: 'string' },
              },
            },
            /** The issue type of the tickets opsbook creates (default Task). */
            issueType: { type: 'string', minLength: 1 },
            /**
             * Fields every created ticket carries besides opsbook's own: the project's required
             * custom fields or components, as Jira's create takes them.
             */
            fields: {
              type: 'object',
              propertyNames: { pattern: JIRA_EXTRA_FIELD },
            },
            /** Fields a move to each status carries, where its transition screen requires them. */
            transitionFields: {
              type: 'object',
              additionalProperties: false,
              properties: {
                open: { type: 'object' },
                awaitingApproval: { type: 'object' },
                approved: { type: 'object' },
                inProgress: { type: 'object' },
                review: { type: 'object' },
                done: { type: 'object' },
              },
            },
            /** The priority each grade sets, where the scheme lacks Highest/High/Medium/Low. */
            priorities: {
              type: 'object',
              additionalProperties: false,
              properties: {
                P1: jiraPriority,
                P2: jiraPriority,
                P3: jiraPriority,
                P4: jiraPriority,
              },
            },
            /** The group or role opsbook's comments are restricted to (default: everyone). */
            commentVisibility,
          },
        },
      },
    },
    standing: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
      additionalProperties: { type: 'string', minLength: 1 },
    },
    /**
     * Routine runs the scheduler (`opsbook schedule run`) starts by itself, each under the
     * standing approval `standing:` names for its runbook, verified at every run as a typed
     * command would be: a schedule widens nothing. Needs the PostgreSQL state store.
     */
    schedules: {
      type: 'object',
      propertyNames: { pattern: '^[a-z][a-z0-9-]*$' },
      additionalProperties: closedObject(
        {
          /** The routine runbook; its standing approval is `standing.<runbook>`. */
          runbook: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
          /** When, in UTC: minute hour day-of-month month day-of-week (graphile-worker's crontab). */
          cron: { type: 'string', pattern: CRON_PATTERN },
          /** Must equal the standing approval's selector when given, as `--target` must. */
          target: { type: 'string', minLength: 1 },
          /** Slots this far back that no scheduler ran are run late when one starts (default none). */
          backfill: { type: 'string', pattern: '^[1-9][0-9]*(m|h|d)$' },
        },
        ['target', 'backfill'],
      ),
    },
  },
} as const;
