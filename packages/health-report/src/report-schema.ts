import { closedObject, documentSchema } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { alertsSectionSchema } from './alerts-section.js';

/**
 * The JSON report, as other tools read it. This schema is the one source of truth: the
 * TypeScript types below are derived from it, and the package ships it as report.schema.json.
 */
const status = { enum: ['ok', 'warn', 'crit', 'unknown'] } as const;
const score = { type: ['number', 'null'], minimum: 0, maximum: 100 } as const;
const day = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const strings = { type: 'array', items: { type: 'string' } } as const;

/** One `value` per finding status. */
const perStatus = <const S>(value: S) =>
  closedObject({ ok: value, warn: value, crit: value, unknown: value });

const counts = perStatus(count);

const findingRow = closedObject(
  {
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
  ['subject', 'threshold', 'unit'],
);

const findingChange = closedObject(
  {
    host: { type: 'string' },
    check: { type: 'string' },
    subject: { type: 'string' },
    /** `null` when the finding did not exist in the baseline. */
    from: { anyOf: [status, { type: 'null' }] },
    to: status,
    message: { type: 'string' },
  },
  ['subject'],
);

const hostEntry = closedObject(
  {
    host: { type: 'string' },
    groups: strings,
    /** reporting: has inspection results; unreachable: did not answer; no-data: answered, but ran no inspection. */
    state: { enum: ['reporting', 'unreachable', 'no-data'] },
    /** Score of the last day the host reported; null without results. */
    score,
    lastSeen: { type: ['string', 'null'] },
    /** Did the host answer in the newest run that targeted it? */
    answeredLastRun: { type: 'boolean' },
    counts,
    /** One score per day of `days`; null where the host reported nothing that day. */
    daily: { type: 'array', items: score },
  },
  ['answeredLastRun'],
);

/** A reason the headline is not green: a crit finding now, or a resource full within days. */
const urgentItem = closedObject({
  host: { type: 'string' },
  /** crit: a crit finding in the host's latest results; full-soon: predicted full within `urgentDays`. */
  reason: { enum: ['crit', 'full-soon'] },
  /** The check and its subject (crit), or the resource (full-soon). */
  what: { type: 'string' },
  /** Days until full (full-soon); null for crit. */
  days: { type: ['number', 'null'] },
  message: { type: 'string' },
});

const headline = closedObject({
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
});

const scope = closedObject({
  /** How the hosts were chosen (inventory, --limit, --host, --group); null: every host in the history. */
  selection: { type: ['string', 'null'] },
  /** Hosts with results in the range that the selection leaves out (old test runs, removed hosts). */
  leftOut: strings,
  /** Hosts of the selection that no run in the range touched. */
  noRuns: strings,
});

const chartPoint = closedObject({ day, value: { type: 'number' } });

const chartSeries = closedObject({
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
      closedObject({
        from: chartPoint,
        to: chartPoint,
        fullOn: day,
        daysUntilFull: { type: 'number' },
      }),
      { type: 'null' },
    ],
  },
});

const charts = closedObject({
  /** Which hosts are drawn and why, as a sentence. */
  rule: { type: 'string' },
  /** Hosts with any disk, memory or load value: the drawn ones are chosen from these. */
  candidates: count,
  hosts: {
    type: 'array',
    items: closedObject({
      host: { type: 'string' },
      /** e.g. "filesystem /data full in 6.5 days", "score 42". */
      why: { type: 'string' },
      series: { type: 'array', items: chartSeries },
    }),
  },
});

export const healthReportSchema = documentSchema(
  'health-report.schema',
  'opsbook health report',
  {
    kind: { const: 'HealthReport' },
    version: { const: 2 },
    generatedAt: { type: 'string' },
    /** What to read first: urgency dominates the average score. */
    headline,
    range: closedObject({ since: { type: 'string' }, until: { type: 'string' } }),
    scope,
    formula: closedObject({
      severityFactors: perStatus({ type: 'number' }),
      checkWeights: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
      defaultWeight: { type: 'number', minimum: 0 },
    }),
    /** The UTC days of the range that hold any inspection result, oldest first. */
    days: { type: 'array', items: day },
    environment: closedObject({
      score,
      hosts: count,
      reporting: count,
      unreachable: count,
      noData: count,
      counts,
    }),
    groups: {
      type: 'array',
      items: closedObject({
        group: { type: 'string' },
        score,
        hosts: count,
        reporting: count,
        daily: { type: 'array', items: score },
      }),
    },
    hosts: { type: 'array', items: hostEntry },
    trend: {
      type: 'array',
      items: closedObject({ day, score, reporting: count, counts }),
    },
    changes: closedObject({
      /** The moment compared with (ISO 8601); null when there was nothing before. */
      baseline: { type: ['string', 'null'] },
      newCriticals: { type: 'array', items: findingChange },
      worsened: { type: 'array', items: findingChange },
      recovered: { type: 'array', items: findingChange },
      hostsWorsening: {
        type: 'array',
        items: closedObject({
          host: { type: 'string' },
          from: { type: 'number' },
          to: { type: 'number' },
        }),
      },
    }),
    topOffenders: {
      type: 'array',
      items: closedObject({
        host: { type: 'string' },
        score: { type: 'number' },
        counts,
        /** Messages of its worst current findings. */
        worst: strings,
      }),
    },
    /** When a headroom fit is meaningful enough to project a day; below it, `reason` says why. */
    fitRule: closedObject({
      minPoints: { type: 'integer', minimum: 2 },
      minSpanDays: count,
      minR2: { type: 'number', minimum: 0, maximum: 1 },
    }),
    headroom: {
      type: 'array',
      items: closedObject({
        host: { type: 'string' },
        /** `memory` or `filesystem <mount>`. */
        resource: { type: 'string' },
        /** Daily points (each day's last value). */
        points: count,
        /** Days between the first and the last point. */
        spanDays: count,
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
      }),
    },
    /** Disk, memory and load over time of the hosts that matter most (not every host). */
    charts,
    /** The newest finding of every (host, check, subject) in the range, worst first. */
    findings: { type: 'array', items: findingRow },
    /** Checks whose every result in the range was `unknown`: nothing was measured. */
    unknownOnly: {
      type: 'array',
      items: closedObject(
        { host: { type: 'string' }, check: { type: 'string' }, subject: { type: 'string' } },
        ['subject'],
      ),
    },
    /** Plain sentences for what the numbers cannot say: no history, silent hosts, unread files. */
    notes: strings,
    /** Journal files or lines that could not be read. */
    problems: {
      type: 'array',
      items: closedObject({ file: { type: 'string' }, line: count, message: { type: 'string' } }),
    },
    /**
     * Runs left out of every number: their journal does not verify against the ledger (edited,
     * cut, or not a run of this store), so nothing it says is counted. Always written by
     * computeReport; absent only from reports made before it existed.
     */
    leftOutRuns: {
      type: 'array',
      items: closedObject({ runId: { type: 'string' }, reason: { type: 'string' } }),
    },
    /** Alerts and incidents of the range (opsbook alerts); absent when there were none. */
    alerts: alertsSectionSchema,
  },
  ['alerts', 'leftOutRuns'],
);

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
