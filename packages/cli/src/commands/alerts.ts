import { readFile } from 'node:fs/promises';
import {
  AlertIntake,
  type AlertRecord,
  alertStoreOf,
  alreadyGraded,
  decideUncertain,
  dispatchIncidents,
  dispatchPending,
  firingCount,
  type Grade,
  type GradeDecision,
  grades,
  type Incident,
  incidentHosts,
  needsDispatch,
  parseWebhookBody,
  processAlerts,
  proposeCommand,
  recordedRegrades,
  regradeIncident,
  unknownIncident,
} from '@opsbook/alerts';
import { parseReportTime } from '@opsbook/health-report';
import { seniorDecisionChecker, signSeniorDecision, unprovenDecisions } from '@opsbook/runner';
import { UsageError, ValidationError } from '@opsbook/schema';
import { defineCommand, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { showControlsOnLine } from '../terminal-safe.js';
import { trackerFor } from '../tracker-services.js';
import {
  pipelineFor,
  pipelineOptions,
  processedText,
  rulesFileOf,
  rulesFor,
} from './alerts-pipeline.js';
import { signerFor, signerOptions } from './ticket-signer.js';

const WEEK_MS = 7 * 86_400_000;

async function readPayload(file: string): Promise<{ source: string; bytes: Buffer }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { source: '(stdin)', bytes: Buffer.concat(chunks) };
  }
  try {
    return { source: file, bytes: await readFile(file) };
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read the payload (${(e as NodeJS.ErrnoException).code}): give a file holding one Alertmanager webhook body, or - for stdin`,
      'missing-file',
    );
  }
}

export const ingest = defineCommand({
  args: '<FILE|->…',
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  options: { ...pipelineOptions },
  details: `Each FILE holds one Alertmanager webhook body (version 4), as serve receives it; - reads
one from stdin. Every payload is checked before any is stored: one that is not valid stores
nothing and names each problem at its line and column. Alerts already stored (same
fingerprint, startsAt and status) are counted, not stored again. With alerts.yaml (--rules), the
alerts are then converged, graded and dispatched as opsbook alerts serve would.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const records: AlertRecord[] = [];
    const now = new Date();
    for (const file of ctx.positionals) {
      const { source, bytes } = await readPayload(file);
      records.push(...parseWebhookBody(bytes, now, source));
    }
    const rules = await rulesFor(ctx, config, true);
    const store = alertStoreOf(config);
    try {
      const intake = new AlertIntake(store);
      await intake.warm(new Date(now.getTime() - WEEK_MS));
      const result = await intake.accept(records);
      const processed = rules
        ? await processAlerts(await pipelineFor(ctx, config, store, rules))
        : undefined;
      if (ctx.out.json) {
        ctx.out.printJson({ ...result, store: store.location, ...processed });
        return exitCodes.ok;
      }
      ctx.out.print(
        `stored ${result.accepted} alert(s) in ${store.location}${result.duplicates ? `; ${result.duplicates} already stored` : ''}`,
      );
      if (processed)
        for (const line of processedText(processed.converged, processed.dispatched))
          ctx.out.print(line);
      if (!processed)
        ctx.out.note(
          `no ${rulesFileOf(ctx, config)}: the alerts are stored, not converged (docs/alerts.md)`,
        );
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});

/** What `alerts list` shows of an incident. */
function incidentRow(i: Incident): string[] {
  return [
    i.id,
    i.grade.grade,
    `${firingCount(i)}/${i.alerts.length}`,
    String(incidentHosts(i).length),
    i.ticket.key ?? (needsDispatch(i) ? 'waiting' : '-'),
    i.assignee ?? '-',
    i.openedAt.slice(0, 16).replace('T', ' '),
    stateText(i),
  ];
}

/** open, closed (quiet), or closed with the status its ticket was found in. */
function stateText(i: Incident): string {
  if (i.open) return 'open';
  return i.ticket.closed ? `closed (${i.ticket.key} ${i.ticket.closed.status})` : 'closed';
}

export const list = defineCommand({
  options: {
    all: { type: 'boolean', description: 'closed (quiet) incidents too' },
    since: {
      type: 'string',
      value: 'WHEN',
      description: 'opened since: days back (7d), a UTC day or an ISO time (implies --all)',
    },
  },
  details: `Lists the incidents, newest first: the open ones (taking new alerts), or with --all or
--since the closed ones too. "alerts" counts firing/all; "ticket" says "waiting" while the
tracker has not got it yet (opsbook alerts dispatch sends it).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const sinceText = stringOption(ctx, 'since');
    const since = sinceText ? parseReportTime(sinceText, new Date(), '--since') : undefined;
    const store = alertStoreOf(config);
    try {
      const incidents = await store.incidents({
        ...(ctx.options.all || since ? {} : { open: true }),
        ...(since ? { since } : {}),
      });
      if (ctx.out.json) {
        ctx.out.printJson({
          incidents: incidents.map((i) => ({
            id: i.id,
            grade: i.grade.grade,
            open: i.open,
            /** The ticket was found closed (its status then), which closed the incident. */
            ticketClosed: i.ticket.closed ?? null,
            follows: i.follows ?? null,
            firing: firingCount(i),
            alerts: i.alerts.length,
            hosts: incidentHosts(i),
            ticket: i.ticket.key ?? null,
            /** The tracker lacks something of it yet (its ticket, a comment, the assignee). */
            waiting: needsDispatch(i),
            assignee: i.assignee ?? null,
            openedAt: i.openedAt,
            rule: i.rule,
            keys: i.keys,
          })),
        });
        return exitCodes.ok;
      }
      if (incidents.length === 0) {
        ctx.out.print(
          ctx.options.all || since
            ? 'no incidents'
            : 'no open incidents (opsbook alerts list --all shows closed ones)',
        );
        return exitCodes.ok;
      }
      ctx.out.print(
        formatTable(
          ['incident', 'grade', 'alerts', 'hosts', 'ticket', 'assignee', 'opened (UTC)', 'state'],
          incidents.map((i) => incidentRow(i).map(showControlsOnLine)),
          ctx.out.style,
        ),
      );
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});

function decisionText(d: GradeDecision, unproven?: ReadonlyMap<GradeDecision, string>): string {
  const by = d.by ? ` — by ${d.by.name} (${d.by.id}, key ${d.by.fingerprint}), ${d.at}` : '';
  const why = unproven?.get(d);
  return `${d.reason}${by}${why ? ` — ${why}` : ''}`;
}

function showText(i: Incident, unproven: ReadonlyMap<GradeDecision, string>): string {
  const hosts = incidentHosts(i);
  const lines = [
    `${i.id}  ${i.grade.grade}  ${stateText(i)}  ${i.ticket.key ? `ticket ${i.ticket.key}${i.ticket.url ? ` ${i.ticket.url}` : ''}` : 'no ticket yet'}`,
    `rule ${i.rule} (${i.keys.join('; ')}), alerts.yaml version ${i.rulesVersion}`,
    `opened ${i.openedAt}, last alert ${i.lastActivity}`,
    ...(i.ticket.closed
      ? [
          `closed ${i.ticket.closed.at}: its ticket ${i.ticket.key} was ${i.ticket.closed.status} when new alerts came (they opened another incident)`,
        ]
      : []),
    ...(i.follows
      ? [
          `follows ${i.follows.incident}: its ticket ${i.follows.ticket} was ${i.follows.status} when these alerts came`,
        ]
      : []),
    `assigned to ${i.assignee ? `${i.assignee} (${i.assignedBy ?? ''})` : 'nobody'}${i.ticket.assignError ? ` — the tracker refused: ${i.ticket.assignError}` : ''}`,
    `grade ${i.grade.grade}: ${decisionText(i.grade, unproven)}`,
  ];
  const refusal = i.ticket.priorityError;
  if (refusal?.grade === i.grade.grade)
    lines.push(`priority for ${refusal.grade} refused by the tracker: ${refusal.message}`);
  if (i.regrades.length) lines.push(`the rules say: ${i.ruleGrade.reason}`);
  for (const r of i.regrades) lines.push(`re-graded ${r.grade}: ${decisionText(r, unproven)}`);
  if (i.runbooks.length) {
    lines.push(`runbooks: ${i.runbooks.map((r) => `${r.runbook} (${r.because})`).join(', ')}`);
    if (i.ticket.key && i.open)
      for (const r of i.runbooks) lines.push(`  propose: ${proposeCommand(i, r.runbook)}`);
  }
  lines.push(`hosts (${hosts.length}): ${hosts.join(', ') || '-'}`);
  const waiting = i.comments.filter((c) => c.commentId === undefined).length;
  lines.push(
    `comments: ${i.comments.length - waiting} posted${waiting ? `, ${waiting} waiting` : ''}${i.ticket.lastError ? `; last refusal: ${i.ticket.lastError.message}` : ''}`,
  );
  lines.push('', `alerts (${i.alerts.length}, ${firingCount(i)} firing):`);
  // Labels, annotations and the tracker's messages are the sender's: each line stays one.
  return `${lines.map(showControlsOnLine).join('\n')}\n`;
}

export const show = defineCommand({
  args: '<INC|KEY>',
  positionals: { min: 1, max: 1 },
  details: `Shows one incident (by its id, INC-7, or its ticket's key): its rule and keys, grade and
why, re-grades and who made them, assignee, suggested runbooks, ticket and comments, and every
alert (--json: the whole record).`,
  async run(ctx) {
    const config = await configFor(ctx);
    const store = alertStoreOf(config);
    try {
      const id = incidentRef(ctx.positionals[0]!);
      const incident = await store.incident(id);
      if (!incident) throw unknownIncident(id);
      if (ctx.out.json) {
        ctx.out.printJson({ incident });
        return exitCodes.ok;
      }
      const unproven = await unprovenDecisions(config, recordedRegrades(incident));
      ctx.out.print(showText(incident, unproven));
      ctx.out.print(
        formatTable(
          ['alert', 'host / service', 'severity', 'status', 'since', 'fired', 'summary'],
          incident.alerts.map((a) =>
            [
              a.alertname,
              a.host ?? a.service ?? '-',
              a.severity ?? '-',
              a.status,
              a.startsAt,
              String(a.fired),
              a.summary ?? '',
            ].map(showControlsOnLine),
          ),
          ctx.out.style,
        ),
      );
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});

export const grade = defineCommand({
  args: '<INC|KEY> <P1|P2|P3|P4>',
  positionals: { min: 2, max: 2 },
  options: {
    ...signerOptions,
    reason: { type: 'string', value: 'TEXT', description: 'why (required): the ticket shows it' },
    'no-dispatch': pipelineOptions['no-dispatch']!,
  },
  details: `Re-grades an incident (seniors). You are who the pinned trust store lists for your key
(--key or --agent), never a name from the environment; the decision is signed with that key
and kept with the incident, and one comment on its ticket says who re-graded it, from what,
and why. The rules of alerts.yaml no longer change its grade.

Example:
  opsbook alerts grade INC-7 P2 --reason "one replica of three; no user impact" --agent`,
  async run(ctx) {
    const [given, typed] = ctx.positionals as [string, string];
    const id = incidentRef(given);
    // In any case, as the incident id: p2 is P2.
    const to = /^p[1-4]$/i.test(typed) ? typed.toUpperCase() : typed;
    if (!(grades as readonly string[]).includes(to))
      throw new UsageError(`grade ${to} is not one of ${grades.join(', ')}`);
    const reason = stringOption(ctx, 'reason');
    if (!reason?.trim())
      throw new UsageError('say why with --reason TEXT: the ticket records it with your name');
    const config = await configFor(ctx);
    const store = alertStoreOf(config);
    try {
      const current = await store.incident(id);
      if (!current) throw unknownIncident(id);
      if (current.grade.grade === to) throw alreadyGraded(current);
      const signer = await signerFor(ctx);
      // Signed on the incident as it stands in the store's exclusive step (its grade then).
      const { incident, from, decision } = await regradeIncident(store, id, (about) =>
        signSeniorDecision(config, signer, () => ({
          ...about,
          grade: to as Grade,
          reason: reason.trim(),
          at: new Date().toISOString(),
        })),
      );
      const dispatched = ctx.options['no-dispatch']
        ? undefined
        : await dispatchIncidents({
            store,
            tracker: trackerFor(config).tracker,
            isProven: seniorDecisionChecker(config),
            only: [incident.id],
          });
      if (ctx.out.json) {
        ctx.out.printJson({ incident: incident.id, from, to, by: decision.by, dispatched });
        return exitCodes.ok;
      }
      ctx.out.print(
        `${incident.id} re-graded ${from} → ${to} by ${decision.by.name} (${decision.by.id}, key ${decision.by.fingerprint})`,
      );
      if (dispatched)
        for (const line of processedText(
          { alerts: 0, opened: [], updated: [], closed: [], skipped: 0 },
          dispatched,
        ))
          ctx.out.note(line);
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});

export const dispatch = defineCommand({
  options: {
    ...pipelineOptions,
    'uncertain-posted': {
      type: 'string',
      value: 'INC',
      description:
        'you found on its ticket the comment opsbook could not tell posted (TRACKER_DELIVERY_UNCERTAIN): record it posted, send nothing',
    },
    'resend-uncertain': {
      type: 'string',
      value: 'INC',
      description:
        'you did not find it there: post it without looking again (incident id or ticket key)',
    },
  },
  details: `Converges the alerts stored and not converged yet, then sends what the tracker lacks:
tickets of new incidents, comments of new alerts and re-grades. What opsbook alerts serve does
after each delivery, for when it does not run, or the tracker was down. Exits 4
(DISPATCH_PENDING) when the tracker could not be reached: run it again later.

A comment sent before whose answer was lost, on a ticket past the 5,000 comments opsbook reads,
may be among the older ones it cannot read (TRACKER_DELIVERY_UNCERTAIN): the incident waits for
you to look on the ticket. Found there: --uncertain-posted INC; not there: --resend-uncertain INC.
The decision is kept in the alert store, so alerts serve acts on it too.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const posted = stringOption(ctx, 'uncertain-posted');
    const resend = stringOption(ctx, 'resend-uncertain');
    if (posted !== undefined && resend !== undefined)
      throw new UsageError(
        '--uncertain-posted and --resend-uncertain say opposite things of a comment: give the one that says what you found on the ticket',
      );
    const rules = await rulesFor(ctx, config, false);
    const store = alertStoreOf(config);
    try {
      const ref = posted ?? resend;
      if (ref !== undefined) {
        const decided = await decideUncertain(
          store,
          incidentRef(ref),
          posted !== undefined ? 'posted' : 'absent',
        );
        const where = decided.ticket ? ` on ${decided.ticket}` : '';
        ctx.out.note(
          posted !== undefined
            ? `${decided.incident}: ${decided.comments} comment(s) recorded as posted${where}; not sent again`
            : `${decided.incident}: ${decided.comments} comment(s) to post${where} without looking again`,
        );
      }
      const { converged, dispatched } = await processAlerts(
        await pipelineFor(ctx, config, store, rules!),
      );
      if (ctx.out.json) ctx.out.printJson({ converged, dispatched });
      else {
        const lines = processedText(converged, dispatched);
        ctx.out.print(lines.length ? lines.join('\n') : 'nothing to converge or send');
      }
      const pending = dispatched && dispatchPending(dispatched);
      if (pending) throw pending;
      return exitCodes.ok;
    } finally {
      await store.close();
    }
  },
});

/** An incident id or ticket key as typed: `inc-7` and `ops-42` are INC-7 and OPS-42, as in Jira. */
function incidentRef(text: string): string {
  return /^[A-Za-z][A-Za-z0-9_]*-\d+$/.test(text) ? text.toUpperCase() : text;
}
