import {
  type Plan,
  type PlannedStep,
  planScripts,
  type SigningView,
  vaultLine,
} from '@opsbook/runner';
import type { Style } from './output.js';
import { showControls, showControlsIn } from './terminal-safe.js';

interface StatementView {
  id: string;
  notBefore: string;
  expiresAt: string;
  maxRuns: number;
  proposer?: string;
  executor?: string;
}

function stepLine(step: PlannedStep, indent: string): string {
  const flags = [
    step.where === 'local' ? 'on the runner' : '',
    step.sudo ? 'sudo' : '',
    step.continueOnError ? 'continue on error' : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (step.kind === 'runbook')
    return `${indent}${step.id}  runbook ${step.runbook?.name}@${step.runbook?.version}`;
  const vaulted = vaultLine(step);
  const what =
    step.kind === 'run'
      ? `$ ${step.command}${vaulted ? `\n${vaulted}` : ''}`
      : step.kind === 'script'
        ? `script ${step.script?.path} (sha256 ${step.script?.sha256.slice(0, 16)}…)${step.args?.length ? ` ${step.args.join(' ')}` : ''}`
        : `uses ${step.uses} ${JSON.stringify(step.with)}`;
  return `${indent}${step.id}${flags ? ` [${flags}]` : ''}\n${indent}  ${what.split('\n').join(`\n${indent}  `)}`;
}

type PlannedPhases = Plan['hosts'][number]['phases'];

/**
 * The phases of one runbook on a host, each step under its phase; a step that composes a runbook
 * has that runbook's phases indented under it, its steps named by their path (`tidy/label`).
 */
function phaseLines(
  phases: PlannedPhases,
  composed: Plan['hosts'][number]['composed'],
  indent: string,
): string[] {
  const lines: string[] = [];
  for (const [phase, steps] of Object.entries(phases)) {
    if (!steps.length) continue;
    lines.push(`${indent}${phase}`);
    for (const s of steps) {
      lines.push(stepLine(s, `${indent}    `));
      const inner = s.kind === 'runbook' ? composed?.[s.id] : undefined;
      if (inner) lines.push(...phaseLines(inner, composed, `${indent}      `));
    }
  }
  return lines;
}

/**
 * Each script the plan runs, whole, with line numbers: a plan names a script step by its path and
 * sha256 only, and a senior signs what the script does. Control characters are shown escaped.
 */
function scriptLines(plan: Plan, scripts: ReadonlyMap<string, string>, style: Style): string[] {
  const lines: string[] = [];
  for (const [sha256, file] of planScripts(plan)) {
    const text = scripts.get(sha256);
    if (text === undefined) continue;
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const numbered = body.split('\n');
    const width = String(numbered.length).length;
    lines.push(
      '',
      `${style.bold('script')} ${showControls(file)}  (sha256 ${sha256.slice(0, 16)}…, ${numbered.length} line${numbered.length === 1 ? '' : 's'})`,
      ...numbered.map((l, i) => `  ${String(i + 1).padStart(width)}  ${showControls(l)}`),
    );
  }
  return lines;
}

/** What a reviewer must see before signing: the exact commands per host, and every script. */
export function planText(
  renderedPlan: Plan,
  digest: string,
  style: Style,
  signedStatement?: StatementView,
  scripts?: ReadonlyMap<string, string>,
): string {
  // Commands, names, params and hosts come from the runbook, the inventory and the proposer.
  const plan = showControlsIn(renderedPlan);
  const statement = showControlsIn(signedStatement);
  const lines = [
    `${style.bold('runbook')}  ${plan.runbook.name} ${plan.runbook.version}  (${plan.category}, ${plan.grade})`,
    `${style.bold('digest')}   ${plan.runbook.digest}`,
    `${style.bold('ticket')}   ${plan.ticket}`,
    `${style.bold('plan')}     ${digest}`,
  ];
  if (statement) {
    lines.push(
      `${style.bold('valid')}    ${statement.notBefore} → ${statement.expiresAt}, at most ${statement.maxRuns} run${statement.maxRuns === 1 ? '' : 's'}`,
      // What the senior allows beyond the first run, said where they decide maxRuns.
      `${style.bold('failure')}  hosts not reached do not use a run; failed hosts can be retried with --retry-failed while runs remain (maxRuns ${statement.maxRuns})`,
    );
    if (statement.proposer) lines.push(`${style.bold('proposer')} ${statement.proposer}`);
    if (statement.executor) lines.push(`${style.bold('executor')} ${statement.executor}`);
  }
  // From the plan as rendered: JSON.stringify escapes C0 itself, showControls the rest.
  const params = Object.entries(renderedPlan.params).map(([k, v]) =>
    showControls(`${k}=${JSON.stringify(v)}`),
  );
  lines.push(
    `${style.bold('params')}   ${params.join(' ') || '(none)'}${plan.secretParams.length ? `  secret (from the environment at run time): ${plan.secretParams.join(', ')}` : ''}`,
  );
  // Each composed runbook, with the bundle the approval binds and the params it runs with.
  for (const [i, c] of (plan.composed ?? []).entries()) {
    const given = Object.entries(renderedPlan.composed?.[i]?.params ?? {}).map(([k, v]) =>
      showControls(`${k}=${JSON.stringify(v)}`),
    );
    const secrets = Object.entries(c.secrets).map(([k, from]) => `${k} ← ${from ?? '(none)'}`);
    lines.push(
      `${style.bold('composed')} ${c.step}: ${c.runbook.name} ${c.runbook.version} (${c.range}) ${c.runbook.digest}`,
      `         params ${given.join(' ') || '(none)'}${secrets.length ? `  secret: ${secrets.join(', ')}` : ''}`,
    );
  }
  lines.push(
    `${style.bold('hosts')}    ${plan.hosts.length}: ${plan.hosts.map((h) => h.name).join(', ')}  (concurrency ${plan.concurrency}, ${failureLimit(plan.maxFailures)})`,
  );
  // Hosts whose commands are identical are shown once, so a 200-host plan stays readable.
  const groups = new Map<string, Plan['hosts']>();
  for (const host of plan.hosts) {
    const key = JSON.stringify([host.phases, host.composed]);
    groups.set(key, [...(groups.get(key) ?? []), host]);
  }
  for (const hosts of groups.values()) {
    const host = hosts[0]!;
    const where = (h: Plan['hosts'][number]) => {
      const c = h.connection;
      return c.transport === 'local'
        ? `${h.name} (local)`
        : `${h.name} (ssh ${c.user ? `${c.user}@` : ''}${c.address}${c.port !== undefined ? `:${c.port}` : ', port from ~/.ssh/config or 22'})`;
    };
    lines.push(
      '',
      style.bold(hosts.length === 1 ? 'host' : `${hosts.length} hosts, same commands:`) +
        ` ${hosts.map(where).join(', ')}`,
    );
    lines.push(...phaseLines(host.phases, host.composed, '  '));
  }
  if (scripts) lines.push(...scriptLines(renderedPlan, scripts, style));
  return lines.join('\n');
}

/**
 * `approve` and `ticket approve`: the plan about to be signed, with the validity window and run
 * limit it is signed with, printed before the signature is made (a hardware key waits for a touch
 * then), so that the senior reads what they sign rather than learn it afterwards.
 */
export function signingText(view: SigningView, style: Style): string {
  return planText(view.plan, view.planDigest, style, view.statement, view.scripts);
}

/**
 * What `maxFailures` does, as the run does it: hosts not started yet are not started once more
 * hosts than it have failed (0: from the first failure on).
 */
export function failureLimit(maxFailures: number): string {
  if (maxFailures === 0) return 'no host started after the first failure';
  const hosts = maxFailures === 1 ? 'host' : 'hosts';
  return `${maxFailures} failed ${hosts} tolerated, no host started after failure ${maxFailures + 1}`;
}
