import {
  apiVersion,
  closedObject,
  documentSchema,
  durationPattern,
  ISO_TIME_PATTERN,
  identifier,
  runbookGrade,
} from '@opsbook/schema';

/**
 * `alerts.yaml` (kind AlertRules): how a senior's alerts converge into incidents, how incidents
 * are graded, which runbooks they suggest and who gets them. Versioned and reviewed like a
 * runbook; docs/alerts.md explains every key with a sample.
 */

const labelName = { type: 'string', minLength: 1, maxLength: 256 } as const;

/** Label matchers: each named label equals the value, or one of the values. */
const matchers = {
  type: 'object',
  minProperties: 1,
  maxProperties: 32,
  propertyNames: { minLength: 1, maxLength: 256 },
  additionalProperties: {
    oneOf: [
      { type: 'string', maxLength: 4096 },
      {
        type: 'array',
        minItems: 1,
        maxItems: 256,
        uniqueItems: true,
        items: { type: 'string', maxLength: 4096 },
      },
    ],
  },
} as const;

/** Inventory group names or globs (`db-*`). */
const groupPatterns = {
  type: 'array',
  minItems: 1,
  maxItems: 256,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 256 },
} as const;

const window = { type: 'string', pattern: durationPattern(['s', 'm', 'h', 'd']) } as const;

const people = {
  type: 'array',
  minItems: 1,
  maxItems: 256,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 128 },
} as const;

/** How the alerts a rule takes are keyed: alerts with a key in common converge. */
const correlateBy = {
  oneOf: [
    closedObject({ labels: { type: 'array', minItems: 1, maxItems: 16, items: labelName } }),
    closedObject({ groups: groupPatterns }),
    closedObject({ hostVar: { type: 'string', minLength: 1, maxLength: 256 } }),
    closedObject({ host: { const: true } }),
  ],
} as const;

const correlateRule = closedObject(
  {
    name: identifier,
    match: matchers,
    by: correlateBy,
    /** This rule's window instead of the file's. */
    window,
  },
  ['match', 'window'],
);

const gradeWhen = {
  ...closedObject(
    {
      /** The incident's worst firing severity is this or worse (`severities` order). */
      minSeverity: { type: 'string', minLength: 1, maxLength: 64 },
      minHosts: { type: 'integer', minimum: 1 },
      minServices: { type: 'integer', minimum: 1 },
      minAlerts: { type: 'integer', minimum: 1 },
      /** Some alert of the incident has these labels. */
      labels: matchers,
    },
    ['minSeverity', 'minHosts', 'minServices', 'minAlerts', 'labels'],
  ),
  minProperties: 1,
} as const;

const ownershipMatch = {
  ...closedObject({ labels: matchers, groups: groupPatterns }, ['labels', 'groups']),
  minProperties: 1,
} as const;

const onCallFile = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** Who gets an incident: a list taken in turn, or whoever an on-call file (relative to alerts.yaml) names. */
const ownershipRule = {
  oneOf: [
    closedObject({ match: ownershipMatch, roundRobin: people }),
    closedObject({ match: ownershipMatch, onCall: onCallFile }),
  ],
} as const;

const ownershipDefault = {
  oneOf: [closedObject({ roundRobin: people }), closedObject({ onCall: onCallFile })],
} as const;

export const alertRulesSchema = documentSchema(
  'alert-rules',
  'opsbook AlertRules (alerts.yaml)',
  {
    apiVersion,
    kind: { const: 'AlertRules' },
    /** Raised with every change, like a runbook's version: tickets name the version that made them. */
    version: { type: 'integer', minimum: 1 },
    /** Values of the `severity` label, worst first. */
    severities: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 64 },
    },
    /** Alerts that start within this of an incident's alerts may join it (default 15m). */
    window,
    /** An incident whose alerts all resolved and stayed quiet this long takes no more (default 6h). */
    quiet: window,
    /** Labels naming an alert's host, first present wins; a port after ':' is dropped. */
    hostLabels: { type: 'array', minItems: 1, maxItems: 16, items: labelName },
    /** The label naming an alert's service (default `service`). */
    serviceLabel: labelName,
    /** The inventory host variable listing the services a host runs (default `services`). */
    servicesVar: labelName,
    correlate: { type: 'array', maxItems: 256, items: correlateRule },
    /** Labels that key the alerts no rule takes (default [alertname]). */
    fallback: { type: 'array', minItems: 1, maxItems: 16, items: labelName },
    grading: closedObject(
      {
        default: runbookGrade,
        rules: {
          type: 'array',
          maxItems: 256,
          items: closedObject({ grade: runbookGrade, when: gradeWhen }),
        },
      },
      ['default', 'rules'],
    ),
    runbooks: {
      type: 'array',
      maxItems: 1024,
      items: closedObject({ match: matchers, runbook: identifier }),
    },
    ownership: closedObject(
      {
        rules: {
          type: 'array',
          maxItems: 256,
          items: ownershipRule,
        },
        default: ownershipDefault,
      },
      ['rules', 'default'],
    ),
  },
  [
    'severities',
    'window',
    'quiet',
    'hostLabels',
    'serviceLabel',
    'servicesVar',
    'correlate',
    'fallback',
    'grading',
    'runbooks',
    'ownership',
  ],
);

/** The on-call file an ownership rule names (kind OnCall): who is on call from when. */
export const onCallSchema = documentSchema('on-call', 'opsbook OnCall', {
  apiVersion,
  kind: { const: 'OnCall' },
  shifts: {
    type: 'array',
    minItems: 1,
    maxItems: 10_000,
    items: closedObject({
      from: { type: 'string', pattern: ISO_TIME_PATTERN },
      person: { type: 'string', minLength: 1, maxLength: 128 },
    }),
  },
});
