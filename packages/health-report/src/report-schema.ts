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

/** A reason the headline is not green: a crit finding now, or a resource full within days. */
const urgentItem = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'reason', 'what', 'days', 'message'],
  properties: {
    host: { type: 'string' },
    /** crit: a crit finding in the host's latest results; full-soon: predicted full within `urgentDays`. */
    reason: { enum: ['crit', 'full-soon'] },
    /** The check and its subject (crit), or the resource (full-soon). */
    what: { type: 'string' },
    /** Days until full (full-soon); null for crit. */
    days: { type: ['number', 'null'] },
    message: { type: 'string' },
  },
} as const;

const headline = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'text', 'urgentDays', 'urgent'],
  properties: {
    /**
     * urgent: any crit finding in the latest results or any resource full within `urgentDays`,
     * whatever the score; attention: score below 90 or a host that did not answer; healthy:
     * neither; no-data: nothing scored.
     */
    status: { enum: ['urgent', 'attention', 'healthy', 'no-data'] },
    /** One sentence: the status, and for urgent the hosts, resources and days. */
    text: { type: 'string' },
    urgentDays: { type: 'integer', minimum: 1 },
    /** Most urgent first: crit findings, then by days until full. */
    urgent: { type: 'array', items: urgentItem },
  },
} as const;

const scope = {
  type: 'object',
  additionalProperties: false,
  required: ['selection', 'leftOut', 'noRuns'],
  properties: {
    /** How the hosts were chosen (inventory, --limit, --host, --group); null: every host in the history. */
    selection: { type: ['string', 'null'] },
    /** Hosts with results in the range that the selection leaves out (old test runs, removed hosts). */
    leftOut: { type: 'array', items: { type: 'string' } },
    /** Hosts of the selection that no run in the range touched. */
    noRuns: { type: 'array', items: { type: 'string' } },
  },
} as const;

const chartPoint = {
  type: 'object',
  additionalProperties: false,
  required: ['day', 'value'],
  properties: { day, value: { type: 'number' } },
} as const;

const chartSeries = {
  type: 'object',
  additionalProperties: false,
  required: ['metric', 'resource', 'threshold', 'values', 'projection'],
  properties: {
    /** disk and memory in percent; load per core. */
    metric: { enum: ['disk', 'memory', 'load'] },
    /** `filesystem <mount>`, `memory`, or the load window (`load5`). */
    resource: { type: 'string' },
    /** The warn threshold of the newest finding; null when none gave one. */
    threshold: { type: ['number', 'null'] },
    /** One value per day of `days`; null where the host reported none. */
    values: { type: 'array', items: { type: ['number', 'null'] } },
    /**
     * The fitted line of a `projected` headroom entry, from the series' first day to the first
     * whole day at or past 100 % (or to the chart's horizon when that is further); else null.
     */
    projection: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['from', 'to', 'fullOn', 'daysUntilFull'],
          properties: {
            from: chartPoint,
            to: chartPoint,
            fullOn: day,
            daysUntilFull: { type: 'number' },
          },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

const charts = {
  type: 'object',
  additionalProperties: false,
  required: ['rule', 'candidates', 'hosts'],
  properties: {
    /** Which hosts are drawn and why, as a sentence. */
    rule: { type: 'string' },
    /** Hosts with any disk, memory or load value: the drawn ones are chosen from these. */
    candidates: { type: 'integer', minimum: 0 },
    hosts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'why', 'series'],
        properties: {
          host: { type: 'string' },
          /** e.g. "filesystem /data full in 6.5 days", "score 42". */
          why: { type: 'string' },
          series: { type: 'array', items: chartSeries },
        },
      },
    },
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
    'headline',
    'range',
    'scope',
    'formula',
    'days',
    'environment',
    'groups',
    'hosts',
    'trend',
    'changes',
    'topOffenders',
    'fitRule',
    'headroom',
    'charts',
    'findings',
    'unknownOnly',
    'notes',
    'problems',
  ],
  properties: {
    kind: { const: 'HealthReport' },
    version: { const: 2 },
    generatedAt: { type: 'string' },
    /** What to read first: urgency dominates the average score. */
    headline,
    range: {
      type: 'object',
      additionalProperties: false,
      required: ['since', 'until'],
      properties: { since: { type: 'string' }, until: { type: 'string' } },
    },
    scope,
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
    /** When a headroom fit is meaningful enough to project a day; below it, `reason` says why. */
    fitRule: {
      type: 'object',
      additionalProperties: false,
      required: ['minPoints', 'minSpanDays', 'minR2'],
      properties: {
        minPoints: { type: 'integer', minimum: 2 },
        minSpanDays: { type: 'integer', minimum: 0 },
        minR2: { type: 'number', minimum: 0, maximum: 1 },
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
          'spanDays',
          'lastPercent',
          'growthPerDay',
          'r2',
          'daysUntilFull',
          'fullOn',
          'status',
          'reason',
        ],
        properties: {
          host: { type: 'string' },
          /** `memory` or `filesystem <mount>`. */
          resource: { type: 'string' },
          /** Daily points (each day's last value). */
          points: { type: 'integer', minimum: 0 },
          /** Days between the first and the last point. */
          spanDays: { type: 'integer', minimum: 0 },
          lastPercent: { type: 'number' },
          /** Percentage points per day, by least squares; null when too little data to fit. */
          growthPerDay: { type: ['number', 'null'] },
          /** Share of the variation the line explains (0–1); null when too little data to fit. */
          r2: { type: ['number', 'null'] },
          /** Only when `projected`. */
          daysUntilFull: { type: ['number', 'null'] },
          /** The UTC day the line reaches 100 %; only when `projected`. */
          fullOn: { anyOf: [day, { type: 'null' }] },
          /**
           * projected: a meaningful fit that grows; not-enough-data: too few points or too
           * short a span; no-trend: R² below the rule; not-growing: flat or falling.
           */
          status: { enum: ['projected', 'not-enough-data', 'no-trend', 'not-growing'] },
          /** Why there is no projection, e.g. "too few points (3 < 5)"; null when projected. */
          reason: { type: ['string', 'null'] },
        },
      },
    },
    /** Disk, memory and load over time of the hosts that matter most (not every host). */
    charts,
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
export type ReportHeadline = HealthReport['headline'];
export type UrgentItem = ReportHeadline['urgent'][number];
export type ReportScope = HealthReport['scope'];
export type ResourceCharts = HealthReport['charts'];
export type ChartSeries = ResourceCharts['hosts'][number]['series'][number];
