import type { AcceptedHostKey, HostRoute } from '@opsbook/exec';
import type { JournalLine } from '@opsbook/state';
import type { Block, Doc } from '@opsbook/tracker';

/** One finished step, as the journal recorded it. */
export interface StepRecord {
  host: string;
  phase: string;
  step: string;
  name: string;
  status: string;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
  reason?: string;
}

/** What a ticket is told about a run: read back from its journal, never from memory. */
export interface RunDigest {
  runId: string;
  ticket: string;
  runbook: string;
  status: string;
  executor: string;
  /** The fingerprint of the key that signed the run claim. */
  executorKey: string;
  /** The run whose hosts that did not end ok this one ran again (`--retry-failed`). */
  retryOf?: string;
  hosts: Array<{
    host: string;
    status: string;
    failedStep?: string;
    rolledBack: boolean;
    /** Why it did not end ok (an unreachable host's connection error). */
    error?: string;
  }>;
  steps: StepRecord[];
  journal: { head: string; count: number };
  /** The inspection findings its steps journaled: counts by status, and those not ok. */
  findings: { counts: Record<string, number>; notable: FindingRecord[] };
  /** Host keys the run took as new (`--accept-new-host-keys`): trusted without a check. */
  acceptedHostKeys?: AcceptedHostKey[];
  /** Hosts whose port or user ~/.ssh/config chose (the plan left them unset), with the route taken. */
  sshConfigRoutes?: Array<HostRoute & { host: string; destination?: string }>;
}

/** An inspection finding that is not ok, as a ticket lists it. */
export interface FindingRecord {
  host: string;
  check: string;
  subject?: string;
  status: string;
  message: string;
}

/** Fold a journal's events into the facts a ticket comment needs. */
export function digestJournal(events: readonly JournalLine[]): RunDigest {
  const start = events.find((e) => e.type === 'run-start') ?? ({} as JournalLine);
  const end = events.findLast((e) => e.type === 'run-end');
  const names = new Map<string, string>();
  const steps: StepRecord[] = [];
  const hosts: RunDigest['hosts'] = [];
  const findings: RunDigest['findings'] = { counts: {}, notable: [] };
  const acceptedHostKeys: AcceptedHostKey[] = [];
  const sshConfigRoutes: NonNullable<RunDigest['sshConfigRoutes']> = [];
  for (const e of events) {
    if (e.type === 'host-route' && Array.isArray(e.fromSshConfig) && e.fromSshConfig.length > 0)
      sshConfigRoutes.push(e as unknown as HostRoute & { host: string; destination?: string });
    if (e.type === 'host-key-accepted')
      acceptedHostKeys.push({
        host: String(e.host),
        address: String(e.address),
        port: Number(e.port),
        keyType: String(e.keyType),
        fingerprint: String(e.fingerprint),
        knownHostsFile: String(e.knownHostsFile),
      });
    if (e.type === 'step-end') collectFindings(e.result, String(e.host), findings);
    const key = `${e.host}/${e.phase}/${e.step}`;
    if (e.type === 'step-start') names.set(key, String(e.name ?? e.step));
    if (e.type === 'step-end')
      steps.push({
        host: String(e.host),
        phase: String(e.phase),
        step: String(e.step),
        name: names.get(key) ?? String(e.step),
        status: String(e.status),
        ...(e.exitCode !== undefined ? { exitCode: e.exitCode as number | null } : {}),
        ...(typeof e.stdout === 'string' ? { stdout: e.stdout } : {}),
        ...(typeof e.stderr === 'string' ? { stderr: e.stderr } : {}),
        ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
      });
    if (e.type === 'host-end') {
      const failed = e.failedStep as { phase: string; id: string } | undefined;
      hosts.push({
        host: String(e.host),
        status: String(e.status),
        ...(failed ? { failedStep: `${failed.phase}/${failed.id}` } : {}),
        rolledBack: Boolean(e.rolledBack),
        ...(typeof e.error === 'string' && e.error ? { error: e.error } : {}),
      });
    }
  }
  // A host the run never started has no host-end: only the run's end names it.
  const ended = new Set(hosts.map((h) => h.host));
  for (const [host, status] of Object.entries((end?.hosts ?? {}) as Record<string, unknown>))
    if (!ended.has(host)) hosts.push({ host, status: String(status), rolledBack: false });
  const runbook = start.runbook as { name?: string; version?: string } | undefined;
  const last = events[events.length - 1];
  return {
    runId: String(start.runId ?? ''),
    ticket: String(start.ticket ?? ''),
    runbook: `${runbook?.name ?? '?'} ${runbook?.version ?? ''}`.trim(),
    status: end ? String(end.status) : 'incomplete',
    executor: String(start.executor ?? ''),
    executorKey: String(start.executorKey ?? ''),
    ...(typeof start.retryOf === 'string' && start.retryOf ? { retryOf: start.retryOf } : {}),
    hosts,
    steps,
    journal: { head: last?.hash ?? '', count: events.length },
    findings,
    ...(acceptedHostKeys.length > 0 ? { acceptedHostKeys } : {}),
    ...(sshConfigRoutes.length > 0 ? { sshConfigRoutes } : {}),
  };
}

/** The findings of one step-end's `result` (inspection actions journal `{findings}`). */
export function collectFindings(result: unknown, host: string, into: RunDigest['findings']): void {
  const list = (result as { findings?: unknown } | undefined)?.findings;
  if (!Array.isArray(list)) return;
  for (const f of list as Array<Partial<FindingRecord>>) {
    const status = String(f.status ?? 'unknown');
    into.counts[status] = (into.counts[status] ?? 0) + 1;
    if (status !== 'ok')
      into.notable.push({
        host: String(f.host ?? host),
        check: String(f.check ?? ''),
        ...(typeof f.subject === 'string' ? { subject: f.subject } : {}),
        status,
        message: String(f.message ?? ''),
      });
  }
}

/** At most this many findings are listed in the comment; `opsbook report` has them all. */
const MAX_FINDINGS_LISTED = 30;
const SEVERITY: Record<string, number> = { crit: 0, warn: 1, unknown: 2 };

/** `3 crit, 1 warn, 9 ok`: the counts by status, worst first; '' when there are none. */
export function findingCountsText(counts: Record<string, number>): string {
  const order = ['crit', 'warn', 'unknown', 'ok'];
  const others = Object.keys(counts)
    .filter((s) => !order.includes(s))
    .sort();
  return [...order, ...others]
    .filter((s) => counts[s])
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

/** The run's inspection findings: counts, then the worst ones first (none: no blocks). */
function findingBlocks(findings: RunDigest['findings']): Block[] {
  const total = Object.values(findings.counts).reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const counts = findingCountsText(findings.counts);
  const worst = [...findings.notable].sort(
    (a, b) => (SEVERITY[a.status] ?? 3) - (SEVERITY[b.status] ?? 3),
  );
  const listed = worst.slice(0, MAX_FINDINGS_LISTED);
  const blocks: Block[] = [
    { type: 'heading', level: 4, text: 'Inspection findings' },
    {
      type: 'paragraph',
      content: [
        {
          type: 'text',
          text: `${counts}${worst.length > listed.length ? `; the ${listed.length} worst are listed, opsbook report shows them all` : ''}.`,
          bold: (findings.counts.crit ?? 0) > 0,
        },
      ],
    },
  ];
  if (listed.length)
    blocks.push({
      type: 'table',
      header: ['host', 'check', 'subject', 'status', 'finding'],
      rows: listed.map((f) => [f.host, f.check, f.subject ?? '', f.status, f.message]),
    });
  return blocks;
}

const EXCERPT_LINES = 15;
function excerpt(text: string | undefined): string {
  const lines = (text ?? '').trimEnd().split('\n');
  return lines.length <= EXCERPT_LINES
    ? lines.join('\n')
    : `…\n${lines.slice(-EXCERPT_LINES).join('\n')}`;
}

/** The end-of-run comment: per-host results, failed steps, post-checks, journal id and head. */
export function summarizeRun(run: RunDigest, attachments: readonly string[]): Doc {
  const failed = run.steps.filter((s) => s.status !== 'ok');
  const post = run.steps.filter((s) => s.phase === 'postchecks');
  const stepsByHost = countStepsByHost(run.steps);
  const blocks: Block[] = [
    { type: 'heading', level: 3, text: `opsbook run ${run.runId}: ${run.status}` },
    {
      type: 'paragraph',
      content: [
        {
          type: 'text',
          text: `${run.runbook} run by ${run.executor}${run.executorKey ? ` (run claim signed with ${run.executorKey})` : ''} on ${run.hosts.length} host(s)${run.retryOf ? `: a retry of run ${run.retryOf}, of its hosts that did not end ok (the others ended ok there)` : ''}. Journal `,
        },
        { type: 'text', text: run.runId, code: true },
        { type: 'text', text: `, ${run.journal.count} events, head ` },
        { type: 'text', text: run.journal.head, code: true },
        { type: 'text', text: '.' },
      ],
    },
    {
      type: 'table',
      header: ['host', 'result', 'failed step', 'rolled back', 'steps ok'],
      rows: run.hosts.map((h) => {
        const { ok, all } = stepsByHost.get(h.host) ?? { ok: 0, all: 0 };
        return [h.host, h.status, h.failedStep ?? '', h.rolledBack ? 'yes' : '', `${ok}/${all}`];
      }),
    },
    ...acceptedHostKeyBlocks(run.acceptedHostKeys ?? []),
    ...sshConfigRouteBlocks(run.sshConfigRoutes ?? []),
    { type: 'heading', level: 4, text: 'Post-checks' },
    post.length
      ? {
          type: 'table',
          header: ['host', 'check', 'result'],
          rows: post.map((s) => [s.host, `${s.step} (${s.name})`, s.status]),
        }
      : {
          type: 'paragraph',
          content: [{ type: 'text', text: 'This runbook has no post-checks.' }],
        },
  ];
  blocks.push(...findingBlocks(run.findings));
  if (failed.length) {
    blocks.push({ type: 'heading', level: 4, text: 'Failed steps' });
    for (const s of failed) {
      const why = s.reason ?? `exit ${s.exitCode ?? '?'}`;
      blocks.push({
        type: 'paragraph',
        content: [
          {
            type: 'text',
            text: `${s.host} ${s.phase}/${s.step}: ${s.status} (${why})`,
            bold: true,
          },
        ],
      });
      const out = excerpt(s.stderr || s.stdout);
      if (out) blocks.push({ type: 'code', text: out });
    }
  }
  if (attachments.length)
    blocks.push({
      type: 'paragraph',
      content: [{ type: 'text', text: `Attached: ${attachments.join(', ')}.` }],
    });
  return { blocks };
}

/** The host keys the run trusted without a check, for the senior who verifies it (none: no blocks). */
function acceptedHostKeyBlocks(keys: readonly AcceptedHostKey[]): Block[] {
  if (keys.length === 0) return [];
  return [
    { type: 'heading', level: 4, text: 'Host keys accepted as new' },
    {
      type: 'table',
      header: ['host', 'address', 'key', 'added to'],
      rows: keys.map((k) => [
        k.host,
        `${k.address} port ${k.port}`,
        `${k.fingerprint} (${k.keyType})`,
        k.knownHostsFile,
      ]),
    },
  ];
}

/** The hosts whose port or user the runner's ~/.ssh/config chose, not the plan (none: no blocks). */
function sshConfigRouteBlocks(routes: NonNullable<RunDigest['sshConfigRoutes']>): Block[] {
  if (routes.length === 0) return [];
  return [
    {
      type: 'heading',
      level: 4,
      text: 'Connections ~/.ssh/config chose (not in the approved plan)',
    },
    {
      type: 'table',
      header: ['host', 'reached as', 'chosen by ~/.ssh/config'],
      rows: routes.map((r) => [
        r.destination ? `${r.host} (copy destination ${r.destination})` : r.host,
        routeText(r),
        r.fromSshConfig.join(', '),
      ]),
    },
  ];
}

/** `user@address port N`, and its jump hosts: how a run and a ticket write a route. */
export function routeText(route: HostRoute): string {
  const via = route.jumps.map((j) => `${j.user}@${j.address} port ${j.port}`).join(', ');
  return `${route.user}@${route.address} port ${route.port}${via ? ` via ${via}` : ''}`;
}

/**
 * Each host's steps, all and ok, counted in one pass: a search of every step for each host was
 * quadratic (25 million comparisons for the comment of a 5,000-host run).
 */
function countStepsByHost(steps: readonly StepRecord[]): Map<string, { ok: number; all: number }> {
  const counts = new Map<string, { ok: number; all: number }>();
  for (const s of steps) {
    let c = counts.get(s.host);
    if (!c) {
      c = { ok: 0, all: 0 };
      counts.set(s.host, c);
    }
    c.all += 1;
    if (s.status === 'ok') c.ok += 1;
  }
  return counts;
}

/** The evidence bundle: full output of the chosen phases' steps, per host, as plain text. */
export function evidenceBundle(run: RunDigest, phases: readonly string[]): Uint8Array | undefined {
  const steps = run.steps.filter((s) => phases.includes(s.phase));
  const unreached = hostsWithoutSteps(run);
  if (steps.length === 0 && unreached.length === 0) return undefined;
  const parts = [`# evidence of run ${run.runId} (${run.runbook}) for ${run.ticket}\n`];
  // The hosts it holds nothing from, first: the one a ticket is about may be the one not reached.
  for (const h of unreached)
    parts.push(
      `\n## ${h.host} — ${h.status}: no output${h.error ? ` (${oneLine(h.error)})` : ''}\n`,
    );
  for (const s of steps) {
    parts.push(
      `\n## ${s.host} — ${s.phase}/${s.step}: ${s.name} [${s.status}, exit ${s.exitCode ?? '?'}]\n`,
    );
    if (s.stdout) parts.push(s.stdout.endsWith('\n') ? s.stdout : `${s.stdout}\n`);
    if (s.stderr)
      parts.push(`--- stderr ---\n${s.stderr.endsWith('\n') ? s.stderr : `${s.stderr}\n`}`);
  }
  return new TextEncoder().encode(parts.join(''));
}

/**
 * A host's error on one line: it can hold what the host said (an SSH disconnect's text), which
 * must not start a heading of its own in the evidence.
 */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** The hosts of a run that ran no step: unreachable, not started, cancelled before a step. */
export function hostsWithoutSteps(run: RunDigest): RunDigest['hosts'] {
  const ran = new Set(run.steps.map((s) => s.host));
  return run.hosts.filter((h) => h.status !== 'ok' && !ran.has(h.host));
}
