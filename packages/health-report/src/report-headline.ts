import type { HeadroomEntry, HealthReport, ReportHeadline, UrgentItem } from './report-schema.js';

/** Default of `urgentDays`: a resource predicted full sooner than this makes the report urgent. */
export const URGENT_DAYS = 14;
/** At or above this environment score, and with nothing urgent or silent, the report is healthy. */
export const HEALTHY_SCORE = 90;
/** The urgent items the headline sentence names; the rest are counted. */
const NAMED = 3;

/**
 * The first thing a reader sees. An average hides the one database whose disk is full next
 * week, so urgency comes first: a crit finding in any host's latest results, or a resource
 * whose meaningful fit reaches 100 % within `urgentDays`, makes the report urgent whatever the
 * score, and the sentence names the host, the resource and the days.
 */
export function describeHeadline(
  report: Pick<HealthReport, 'environment' | 'hosts' | 'findings' | 'headroom'>,
  urgentDays: number,
): ReportHeadline {
  const urgent = urgentItems(report.findings, report.headroom, urgentDays);
  const env = report.environment;
  const score = env.score === null ? 'no score' : `score ${env.score}/100`;
  const within = `within ${urgentDays} days`;
  if (urgent.length > 0) {
    const named = urgent.slice(0, NAMED).map(sayItem).join('; ');
    const more = urgent.length > NAMED ? `; and ${urgent.length - NAMED} more` : '';
    return {
      status: 'urgent',
      text: `URGENT: ${named}${more}.${env.score === null ? '' : ` The average ${score} does not show this.`}`,
      urgentDays,
      urgent,
    };
  }
  if (env.score === null) {
    return {
      status: 'no-data',
      text: 'No data: no host has inspection results in this range.',
      urgentDays,
      urgent,
    };
  }
  const silent = report.hosts.filter((h) => h.state === 'unreachable' || !h.answeredLastRun);
  if (env.score < HEALTHY_SCORE || silent.length > 0) {
    const why = [
      ...(env.score < HEALTHY_SCORE ? [`${score} is below ${HEALTHY_SCORE}`] : []),
      ...(silent.length > 0
        ? [`${silent.length} host${silent.length === 1 ? '' : 's'} did not answer the latest run`]
        : []),
    ];
    return {
      status: 'attention',
      text: `Needs attention: ${why.join(', ')}; nothing critical, nothing full ${within}.`,
      urgentDays,
      urgent,
    };
  }
  return {
    status: 'healthy',
    text: `Healthy: ${score}, nothing critical, nothing full ${within}.`,
    urgentDays,
    urgent,
  };
}

function urgentItems(
  findings: HealthReport['findings'],
  headroom: readonly HeadroomEntry[],
  urgentDays: number,
): UrgentItem[] {
  const crit: UrgentItem[] = findings
    .filter((f) => f.status === 'crit')
    .map((f) => ({
      host: f.host,
      reason: 'crit',
      what: f.subject ? `${f.check} ${f.subject}` : f.check,
      days: null,
      message: f.message,
    }));
  const full: UrgentItem[] = headroom
    .filter(
      (h): h is HeadroomEntry & { daysUntilFull: number } =>
        h.status === 'projected' && h.daysUntilFull !== null && h.daysUntilFull < urgentDays,
    )
    .sort((a, b) => a.daysUntilFull - b.daysUntilFull || a.host.localeCompare(b.host))
    .map((h) => ({
      host: h.host,
      reason: 'full-soon',
      what: h.resource,
      days: h.daysUntilFull,
      message: `${h.lastPercent}% used, +${h.growthPerDay} pp/day (R² ${h.r2}): full on ~${h.fullOn}`,
    }));
  return [...crit, ...full];
}

function sayItem(u: UrgentItem): string {
  return u.reason === 'crit'
    ? `${u.host} ${u.what} is critical: ${clip(u.message)}`
    : `${u.host} ${u.what} full in ${u.days} days`;
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 100 ? `${one.slice(0, 99)}…` : one;
}
