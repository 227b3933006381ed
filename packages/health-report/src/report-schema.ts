import type { FromSchema } from 'json-schema-to-ts';

/**
 * The JSON report, as other tools read it. This schema is the one source of truth: the
 * TypeScript types below are derived from it, and the package ships it as report.schema.json.
 */
const status = { enum: ['ok', 'warn', 'crit', 'unknown'] } as const;
const score = { type: ['number', 'null'], minimum: 0, maximum: 100 } as const;
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;

const counts = {
  type: 'object',
  additionalProperties: false,
  required: ['ok', 'warn', 'crit', 'unknown'],
  properties: {
    ok: { type: 'integer', minimum: 0 },
    warn: { type: 'integer', minimum: 0 },
    crit: { type: 'integer', minimum: 0 },
    unknown: { type: 'integer', minimum: 0 },
  },
} as const;

const findingRow = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'check', 'status', 'value', 'message', 'at'],
  properties: {
    host: { type: 'string' },
    check: { type: 'string' },
    subject: { type: 'string' },
    status,
    value: { type: ['number', 'string', 'boolean', 'null'] },
    threshold: { type: ['number', 'null'] },
    unit: { type: 'string' },
    message: { type: 'string' },
    /** When it was reported (ISO 8601, the journal event's time). */
    at: { type: 'string' },
  },
} as const;

const findingChange = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'check', 'from', 'to', 'message'],
  properties: {
    host: { type: 'string' },
    check: { type: 'string' },
    subject: { type: 'string' },
    /** `null` when the finding did not exist in the baseline. */
    from: { anyOf: [status, { type: 'null' }] },
    to: status,
    message: { type: 'string' },
  },
} as const;

const hostEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'groups', 'state', 'score', 'lastSeen', 'counts', 'daily'],
  properties: {
    host: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    /** reporting: has inspection results; unreachable: did not answer; no-data: answered, but ran no inspection. */
    state: { enum: ['reporting', 'unreachable', 'no-data'] },
    /** Score of the last day the host reported; null without results. */
    score,
    lastSeen: { type: ['string', 'null'] },
    /** Did the host answer in the newest run that targeted it? */
    answeredLastRun: { type: 'boolean' },
    counts: counts,
    /** One score per day of `days`; null where the host reported nothing that day. */
    daily: { type: 'array', items: score },
  },
} as const;

export const healthReportSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/health-report.schema.json',
  title: 'opsbook health report',
  type: 'object',
  additionalProperties: false,
  required: [
    'kind',
    'version',
    'generatedAt',
    'range',
    'formula',
    'days',
    'environment',
    'groups',
    'hosts',
    'trend',
    'changes',
    'topOffenders',
    'headroom',
    'findings',
    'unknownOnly',
    'notes',
    'problems',
  ],
  properties: {
    kind: { const: 'HealthReport' },
    version: { const: 1 },
    generatedAt: { type: 'string' },
    range: {
      type: 'object',
      additionalProperties: false,
      required: ['since', 'until'],
      properties: { since: { type: 'string' }, until: { type: 'string' } },
    },
    formula: {
      type: 'object',
      additionalProperties: false,
      required: ['severityFactors', 'checkWeights', 'defaultWeight'],
      properties: {
        severityFactors: {
          type: 'object',
          additionalProperties: false,
          required: ['ok', 'warn', 'crit', 'unknown'],
          properties: {
            ok: { type: 'number' },
            warn: { type: 'number' },
            crit: { type: 'number' },
            unknown: { type: 'number' },
          },
        },
        checkWeights: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
        defaultWeight: { type: 'number', minimum: 0 },
      },
    },
    /** The UTC days of the range that hold any inspection result, oldest first. */
    days: { type: 'array', items: day },
    environment: {
      type: 'object',
      additionalProperties: false,
      required: ['score', 'hosts', 'reporting', 'unreachable', 'noData', 'counts'],
      properties: {
        score,
        hosts: { type: 'integer', minimum: 0 },
        reporting: { type: 'integer', minimum: 0 },
        unreachable: { type: 'integer', minimum: 0 },
        noData: { type: 'integer', minimum: 0 },
        counts: counts,
      },
    },
    groups: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['group', 'score', 'hosts', 'reporting', 'daily'],
        properties: {
          group: { type: 'string' },
          score,
          hosts: { type: 'integer', minimum: 0 },
          reporting: { type: 'integer', minimum: 0 },
          daily: { type: 'array', items: score },
        },
      },
    },
    hosts: { type: 'array', items: hostEntry },
    trend: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['day', 'score', 'reporting', 'counts'],
        properties: {
          day,
          score,
          reporting: { type: 'integer', minimum: 0 },
          counts: counts,
        },
      },
    },
    changes: {
      type: 'object',
      additionalProperties: false,
      required: ['baseline', 'newCriticals', 'worsened', 'recovered', 'hostsWorsening'],
      properties: {
        /** The moment compared with (ISO 8601); null when there was nothing before. */
        baseline: { type: ['string', 'null'] },
        newCriticals: { type: 'array', items: findingChange },
        worsened: { type: 'array', items: findingChange },
        recovered: { type: 'array', items: findingChange },
        hostsWorsening: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['host', 'from', 'to'],
            properties: {
              host: { type: 'string' },
              from: { type: 'number' },
              to: { type: 'number' },
            },
          },
        },
      },
    },
    topOffenders: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'score', 'counts', 'worst'],
        properties: {
          host: { type: 'string' },
          score: { type: 'number' },
          counts: counts,
          /** Messages of its worst current findings. */
          worst: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    headroom: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: [
          'host',
          'resource',
          'points',
          'lastPercent',
          'growthPerDay',
          'daysUntilFull',
          'status',
        ],
        properties: {
          host: { type: 'string' },
          /** `memory` or `filesystem <mount>`. */
          resource: { type: 'string' },
          points: { type: 'integer', minimum: 0 },
          lastPercent: { type: 'number' },
          /** Percentage points per day, by least squares; null below 3 points. */
          growthPerDay: { type: ['number', 'null'] },
          daysUntilFull: { type: ['number', 'null'] },
          status: { enum: ['projected', 'not-enough-data', 'not-growing'] },
        },
      },
    },
    /** The newest finding of every (host, check, subject) in the range, worst first. */
    findings: { type: 'array', items: findingRow },
    /** Checks whose every result in the range was `unknown`: nothing was measured. */
    unknownOnly: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'check'],
        properties: {
          host: { type: 'string' },
          check: { type: 'string' },
          subject: { type: 'string' },
        },
      },
    },
    /** Plain sentences for what the numbers cannot say: no history, silent hosts, unread files. */
    notes: { type: 'array', items: { type: 'string' } },
    /** Journal files or lines that could not be read. */
    problems: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['file', 'line', 'message'],
        properties: {
          file: { type: 'string' },
          line: { type: 'integer', minimum: 0 },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

export type HealthReport = FromSchema<typeof healthReportSchema>;
export type ReportFinding = FromSchema<typeof findingRow>;
export type FindingChange = FromSchema<typeof findingChange>;
export type HostHealth = FromSchema<typeof hostEntry>;
export type FindingStatus = ReportFinding['status'];
export type StatusCounts = HealthReport['environment']['counts'];
export type HeadroomEntry = HealthReport['headroom'][number];
export type TopOffender = HealthReport['topOffenders'][number];
export type GroupHealth = HealthReport['groups'][number];
export type TrendPoint = HealthReport['trend'][number];
export type JournalProblem = HealthReport['problems'][number];
