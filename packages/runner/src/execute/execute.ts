import {
  CommandCancelledError,
  type ExecResult,
  fanOut,
  type HostContext,
  paramEnv,
  quoteShellArg,
  type SshTarget,
  type Transport,
} from '@opsbook/exec';
import { isOpsbookError, type Phase } from '@opsbook/schema';
import type { StateStore } from '@opsbook/state';
import { type ActionOutcome, builtinActions } from '../actions/actions.js';
import { runnerErrors } from '../error-codes.js';
import type { Plan, PlannedHost, PlannedStep } from '../plan/plan.js';
import type { RunEvent } from './run-events.js';
import { ScriptStage } from './script-stage.js';
import { createSecretMask, type SecretMask } from './secret-mask.js';
import { allVaultValues, stepVaultEnv, type VaultValues } from './vault-env.js';

export type StepStatus = 'ok' | 'failed' | 'timeout' | 'error';

export interface StepResult {
  host: string;
  phase: Phase;
  id: string;
  status: StepStatus;
  exitCode: number | null;
  durationMs: number;
  /** Why it failed, in one sentence (not the output). */
  reason?: string;
}

export type HostStatus = 'ok' | 'failed' | 'unreachable' | 'cancelled' | 'not-started';

export interface HostResult {
  host: string;
  status: HostStatus;
  steps: StepResult[];
  failedStep?: { phase: Phase; id: string };
  rolledBack: boolean;
  error?: string;
}

export interface ExecuteInput {
  plan: Plan;
  runId: string;
  /** The state dir of the run (actions keep their own files under it). */
  stateDir: string;
  /** The run's state store, for actions that read it (health.report); default stateDir's files. */
  store?: StateStore;
  bundleDir: string;
  /**
   * The folder of each runbook the plan composes, by its path (compose.ts composedDirsOf): where
   * its scripts are read from.
   */
  composedDirs?: Readonly<Record<string, string>>;
  /** Secret param values (never in the plan); masked in all output. */
  secrets: Readonly<Record<string, string>>;
  /** The vaulted host vars the plan's `run:` steps name, by host (vault-env.ts); masked too. */
  vaultValues?: VaultValues;
  /** One transport per host (pooled by the caller), and the runner machine for `where: local`. */
  transportFor(host: PlannedHost): Promise<Transport>;
  /** Called once a host has finished every phase: its transport will not be used again. */
  releaseTransport?(host: PlannedHost): Promise<void>;
  local: Transport;
  /** Opens SSH connections to machines outside the plan (an off-host backup copy's destination). */
  connect?(target: SshTarget): Promise<Transport>;
  /** Record an event durably (journal) before the next step starts. */
  record(event: RunEvent): Promise<void>;
  /**
   * Live progress for a person: output lines with a host prefix. Never durable. `cut`: the line
   * was longer than MAX_LINE_LENGTH (@opsbook/exec) and this is its start.
   */
  onOutput?(host: string, stream: 'stdout' | 'stderr', line: string, cut: boolean): void;
  mask(text: string): string;
  /**
   * The masker of `secrets` and `vaultValues`, when the caller made one already (`mask` is its
   * `mask`): building it for a long secret (a PEM key's encoded forms) is not free.
   */
  secretMask?: SecretMask;
  signal: AbortSignal;
  /**
   * Stop now (a second Ctrl-C, after `signal`'s first): the commands still running are killed,
   * each step-end says why (the abort's reason, a string), and the hosts end cancelled: no
   * rollback or evidence starts.
   */
  stopSignal?: AbortSignal;
  /**
   * Why a host cut short by `signal` is cancelled, for its host-end (a worker says it was
   * stopped); undefined: no reason is given, as for a run's own Ctrl-C.
   */
  cancelledBecause?(): string | undefined;
  /**
   * How long (ms) a command's output may pause before what the masker holds back of it (the last
   * lines of a dump, a line that may be a wrapped form) is shown, masked as at the output's end;
   * default LIVE_IDLE_MS.
   */
  liveIdleMs?: number;
}

/**
 * A pause after which the live output shows what the masker held back: `xxd FILE; sleep 600`
 * shows the dump's last lines now, not in ten minutes. Short enough to seem live, long enough
 * that a command writing a secret in one go is not paused inside it.
 */
const LIVE_IDLE_MS = 1000;

export interface ExecuteResult {
  hosts: HostResult[];
  interrupted: boolean;
  stoppedByFailures: boolean;
}

/** A captured stream kept in the journal: the end is what matters when something fails. */
const JOURNAL_OUTPUT_BYTES = 64 * 1024;

/** ExecuteInput plus what executePlan derives from it once for the whole run. */
interface RunInput extends ExecuteInput {
  secretMask: SecretMask;
  /**
   * The planned runbook's params and secrets as step environment, made once for every host
   * (params that collide as variables fail each host, as they did when each host made them).
   */
  rootParams(): Record<string, string>;
}

/**
 * One runbook of the plan as it runs on a host: the planned runbook, or one a step composes. Its
 * steps get its own params in their environment, and its scripts come from its own folder.
 */
interface RunUnit {
  phases: PlannedHost['phases'];
  params: Record<string, string>;
  bundleDir: string;
}

/** What runs on one host: its transport, the scripts staged on it, the fan-out's context. */
interface HostRun {
  host: PlannedHost;
  transport: Transport;
  scripts: ScriptStage;
  ctx: HostContext;
  result: HostResult;
  /**
   * The step (`phase/id`) whose command was cancelled without the host confirming the kill (it
   * stopped answering): that command may still be running there.
   */
  unconfirmedKill?: string;
  /**
   * The host did not confirm the kill of its last killed command (a timeout, a cancel): it is not
   * answering, and its staged scripts are not removed (ScriptStage.cleanup). A later command of
   * the host that ends as usual clears it.
   */
  isNotAnswering?: boolean;
}

/** Run every host of the plan: prechecks → steps → postchecks → rollback if needed → evidence. */
export async function executePlan(executeInput: ExecuteInput): Promise<ExecuteResult> {
  let rootParams: Record<string, string> | undefined;
  const input: RunInput = {
    ...executeInput,
    secretMask:
      executeInput.secretMask ??
      createSecretMask([
        ...Object.values(executeInput.secrets),
        ...allVaultValues(executeInput.vaultValues),
      ]),
    rootParams: () => {
      rootParams ??= paramEnv({ ...executeInput.plan.params, ...executeInput.secrets });
      return rootParams;
    },
  };
  const { plan } = input;
  const byName = new Map(plan.hosts.map((h) => [h.name, h]));
  const results = new Map<string, HostResult>();
  const outcome = await fanOut<HostResult>(
    {
      hosts: plan.hosts.map((h) => h.name),
      concurrency: plan.concurrency,
      maxFailures: plan.maxFailures,
      signal: input.signal,
      stop: input.stopSignal,
      isFailure: (r) => r.status !== 'ok',
      onEvent: (e) => {
        // A line cut at MAX_LINE_LENGTH ends at the cut: a piece of a form there is masked as at
        // the end of a capture (a CR-only "line" of a wrapped form can be that long).
        if (e.type === 'output')
          input.onOutput?.(
            e.host,
            e.stream,
            input.mask(e.cut ? input.secretMask.maskedTail(e.line, e.line.length) : e.line),
            e.cut === true,
          );
      },
    },
    async (ctx) => {
      const result = await runHost(input, byName.get(ctx.host)!, ctx);
      results.set(ctx.host, result);
      return result;
    },
  );
  for (const o of outcome.outcomes) {
    if (results.has(o.host)) continue;
    // The worker threw before it could report (cannot happen for opsbook errors, which are
    // turned into host results); keep the host in the report all the same.
    const error = o.error instanceof Error ? o.error.message : String(o.error);
    results.set(o.host, {
      host: o.host,
      status: o.status === 'ok' ? 'failed' : o.status,
      steps: [],
      rolledBack: false,
      error: input.mask(error),
    });
  }
  const hosts = plan.hosts.map(
    (h) =>
      results.get(h.name) ?? {
        host: h.name,
        status: 'not-started' as const,
        steps: [],
        rolledBack: false,
      },
  );
  return { hosts, interrupted: outcome.interrupted, stoppedByFailures: outcome.stoppedByFailures };
}

async function runHost(input: RunInput, host: PlannedHost, ctx: HostContext): Promise<HostResult> {
  const result: HostResult = { host: host.name, status: 'ok', steps: [], rolledBack: false };
  // The connection is opened while host-start is written (an fsync, or a transaction a worker's
  // duplicate shard would fail): it only logs in, and no step starts before host-start is durable.
  const started = input.record({
    type: 'host-start',
    host: host.name,
    connection: host.connection,
  });
  let transport: Transport | undefined;
  const scripts = new ScriptStage(input.local);
  let run: HostRun | undefined;
  let leftScripts: { dir: string; files: string[] } | undefined;
  try {
    const connecting = input.transportFor(host);
    // Either may fail first; the other's outcome must not go unobserved.
    connecting.catch(() => {});
    await started;
    transport = await connecting;
    for (const key of transport.acceptedHostKeys ?? [])
      await input.record({ type: 'host-key-accepted', ...key, host: host.name });
    if (transport.route)
      await input.record({ type: 'host-route', host: host.name, ...transport.route });
    await stageScriptsEarly(input, host, transport, scripts);
    const root: RunUnit = {
      phases: host.phases,
      params: input.rootParams(),
      bundleDir: input.bundleDir,
    };
    run = { host, transport, scripts, ctx, result };
    const ok = await runUnit(input, run, root);
    result.rolledBack = ok.rolledBack;
  } catch (e) {
    // Ctrl-C while the host was still connecting: nothing ran there, so it is cancelled.
    result.status =
      isOpsbookError(e) && e.kind === 'unreachable'
        ? 'unreachable'
        : ctx.signal.aborted || (isOpsbookError(e) && e.kind === 'interrupted')
          ? 'cancelled'
          : 'failed';
    result.error = input.mask(e instanceof Error ? e.message : String(e));
  } finally {
    if (transport) {
      const isHostAnswering = run?.isNotAnswering !== true;
      const left = await scripts.cleanup(transport, { isHostAnswering }).catch(() => undefined);
      if (left) leftScripts = left;
    }
    await input.releaseTransport?.(host).catch(() => {});
  }
  if (result.status === 'cancelled' && !result.error) {
    const why = input.cancelledBecause?.() ?? stopReasonOf(input);
    if (why) result.error = why;
  }
  if (run?.unconfirmedKill)
    result.error = `${result.error ? `${result.error}; ` : ''}the kill of ${run.unconfirmedKill} was sent but not confirmed (host ${host.name} is not answering): its command may still be running there, check the host`;
  if (leftScripts)
    result.error = `${result.error ? `${result.error}; ` : ''}${leftScriptsText(host.name, leftScripts)}`;
  await input.record({
    type: 'host-end',
    host: host.name,
    status: result.status,
    ...(result.failedStep ? { failedStep: result.failedStep } : {}),
    rolledBack: result.rolledBack,
    ...(result.error ? { error: result.error } : {}),
  });
  return result;
}

/** What a run says of the staged scripts it left on a host that was not answering. */
function leftScriptsText(host: string, left: { dir: string; files: string[] }): string {
  const files = left.files.length ? left.files.join(', ') : left.dir;
  return `its staged script file(s) ${files} were not removed (host ${host} is not answering) and may be left there: once it answers, remove them with rm -rf -- ${quoteShellArg(left.dir)}`;
}

/**
 * Stages every script the host's plan may run (its runbook's and its composed runbooks', rollback
 * and evidence included) once it is connected, before its first step: a host that cannot take
 * them (neither SFTP nor a sha256 tool, a full disk) or a script changed since the approval was
 * verified fails the host with nothing run on it, not after the steps before the script changed
 * it. Each script step still writes its checked bytes again just before it runs, so nothing
 * else on the host has longer to alter them than before.
 */
async function stageScriptsEarly(
  input: RunInput,
  host: PlannedHost,
  transport: Transport,
  scripts: ScriptStage,
): Promise<void> {
  const units: [PlannedHost['phases'], string | undefined][] = [
    [host.phases, input.bundleDir],
    ...Object.entries(host.composed ?? {}).map(
      ([path, phases]): [PlannedHost['phases'], string | undefined] => [
        phases,
        input.composedDirs?.[path],
      ],
    ),
  ];
  for (const [phases, bundleDir] of units) {
    if (bundleDir === undefined) continue;
    for (const steps of Object.values(phases))
      for (const step of steps)
        if (step.kind === 'script' && step.script)
          await scripts.stage(
            step.where === 'local' ? input.local : transport,
            step.script,
            bundleDir,
          );
  }
}

/**
 * Runs one runbook's phases on the host: prechecks → steps → postchecks → its rollback if its
 * steps or postchecks failed → evidence. The planned runbook runs so, and so does each runbook a
 * step composes, in place of that step (docs/composition.md). ok: no step that counts failed.
 */
async function runUnit(
  input: RunInput,
  run: HostRun,
  unit: RunUnit,
): Promise<{ ok: boolean; rolledBack: boolean }> {
  // A phase without steps is ok at once: no async call for it (most runbooks have 2 of 4 empty).
  const phase = (p: Phase) => unit.phases[p].length === 0 || runPhase(input, run, unit, p);
  let ok = await phase('prechecks');
  let rolledBack = false;
  if (ok) {
    const stepsOk = await phase('steps');
    ok = stepsOk && (await phase('postchecks'));
    // Rolled back only when the rollback ran to its end: a failed one undid an unknown part.
    if (!ok && run.result.status === 'failed' && unit.phases.rollback.length)
      rolledBack = await phase('rollback');
  }
  await phase('evidence');
  return { ok, rolledBack };
}

/** Runs one phase; false when a step that counts failed (evidence never fails a host). */
async function runPhase(
  input: RunInput,
  run: HostRun,
  unit: RunUnit,
  phase: Phase,
): Promise<boolean> {
  const { result } = run;
  for (const step of unit.phases[phase]) {
    // After an interrupt the command running now finishes, but no further step starts.
    if (input.signal.aborted || run.ctx.signal.aborted) {
      if (result.status === 'ok') result.status = 'cancelled';
      return false;
    }
    const r = await (step.kind === 'runbook'
      ? runComposed(input, run, phase, step)
      : runStep(input, run, unit, phase, step)
    ).catch((e: unknown) => {
      // The host was lost during this step (runStep rethrows only that): name it in the
      // report, as the journal's step-end already does.
      result.failedStep ??= { phase, id: step.id };
      throw e;
    });
    result.steps.push(r);
    // Stopped now (a second Ctrl-C): its command was killed, nothing more starts on the host.
    if (r.status !== 'ok' && run.ctx.signal.aborted) {
      if (result.status === 'ok') result.status = 'cancelled';
      return false;
    }
    if (r.status === 'ok' || step.continueOnError || phase === 'evidence') continue;
    // A composed runbook cut short by an interrupt: the host is cancelled, not failed.
    if (result.status === 'cancelled') return false;
    if (phase !== 'rollback') {
      result.status = 'failed';
      result.failedStep ??= { phase, id: step.id };
    }
    return false;
  }
  return true;
}

/**
 * A step that composes a runbook: that runbook's phases run here, on the same host and
 * connection, with its own params; the step is ok when they all are. Journaled as a step around
 * the composed steps, whose ids are their paths (`tidy/label`).
 */
async function runComposed(
  input: RunInput,
  run: HostRun,
  phase: Phase,
  step: PlannedStep,
): Promise<StepResult> {
  const { host } = run;
  const composed = input.plan.composed?.find((c) => c.step === step.id);
  const phases = host.composed?.[step.id];
  const bundleDir = input.composedDirs?.[step.id];
  if (!composed || !phases || !bundleDir)
    throw new runnerErrors.WorkFailedError(
      'ACTION_UNAVAILABLE',
      `step ${step.id} composes ${step.uses}, which the plan does not hold: plan the run again`,
    );
  await recordStart(input, host, phase, step);
  const started = Date.now();
  const secrets = Object.fromEntries(
    Object.entries(composed.secrets).map(([name, from]) => [
      name,
      from === null ? '' : (input.secrets[from] ?? ''),
    ]),
  );
  const failedBefore = run.result.failedStep;
  const { ok } = await runUnit(input, run, {
    phases,
    params: paramEnv({ ...composed.params, ...secrets }),
    bundleDir,
  }).catch(async (e: unknown) => {
    // The host was lost inside: the composing step ends as the step that lost it did.
    await input.record({
      type: 'step-end',
      host: host.name,
      phase,
      step: step.id,
      status: 'error',
      reason: input.mask(e instanceof Error ? e.message : String(e)),
      durationMs: Date.now() - started,
    });
    throw e;
  });
  const failed = run.result.failedStep !== failedBefore ? run.result.failedStep : undefined;
  const runbook = `runbook ${composed.runbook.name} ${composed.runbook.version}`;
  const r: StepResult = {
    host: host.name,
    phase,
    id: step.id,
    status: ok ? 'ok' : 'failed',
    exitCode: null,
    durationMs: Date.now() - started,
  };
  if (!ok)
    r.reason =
      run.result.status === 'cancelled'
        ? `${runbook} was interrupted`
        : `${runbook} failed${failed ? ` at ${failed.phase} ${failed.id}` : ''}`;
  await input.record({
    type: 'step-end',
    host: host.name,
    phase,
    step: step.id,
    status: r.status,
    durationMs: r.durationMs,
    ...(r.reason ? { reason: r.reason } : {}),
  });
  return r;
}

async function runStep(
  input: RunInput,
  run: HostRun,
  unit: RunUnit,
  phase: Phase,
  step: PlannedStep,
): Promise<StepResult> {
  const { host, scripts, ctx } = run;
  const transport = step.where === 'local' ? input.local : run.transport;
  await recordStart(input, host, phase, step);
  const env = {
    ...unit.params,
    ...stepVaultEnv(input.vaultValues, host.name, step),
    OPSBOOK_RUN_ID: input.runId,
    OPSBOOK_TICKET: input.plan.ticket,
    OPSBOOK_HOST: host.name,
  };
  const started = Date.now();
  let exec: ExecResult | undefined;
  let reason: string | undefined;
  let result: unknown;
  let actionFailure: string | undefined;
  const live = liveOutput(ctx, input.secretMask, input.liveIdleMs ?? LIVE_IDLE_MS);
  try {
    if (step.kind === 'uses') {
      const outcome = await runAction(input, host, step, transport, env, ctx, live);
      exec = outcome.exec;
      result = outcome.result;
      if (outcome.status === 'failed')
        actionFailure = outcome.reason ?? `action ${step.uses} failed`;
    } else {
      const command = await commandOf(step, transport, scripts, unit.bundleDir);
      exec = await transport.exec({
        command,
        env,
        sudo: step.sudo && !runsAsRoot(host, step),
        timeoutMs: step.timeoutMs,
        signal: ctx.signal,
        onStdout: live.onStdout,
        onStderr: live.onStderr,
      });
    }
  } catch (e) {
    if (isOpsbookError(e) && e.kind === 'unreachable') {
      await input.record({
        type: 'step-end',
        host: host.name,
        phase,
        step: step.id,
        status: 'error',
        reason: input.mask(e.message),
        durationMs: Date.now() - started,
      });
      throw e;
    }
    reason = e instanceof Error ? e.message : String(e);
    if (e instanceof CommandCancelledError && step.where !== 'local') {
      if (!e.isKillConfirmed) run.unconfirmedKill = `${phase}/${step.id}`;
      run.isNotAnswering = !e.isKillConfirmed;
    }
    const stopped = ctx.signal.aborted ? stopReasonOf(input) : undefined;
    if (stopped) reason = `${reason} (${stopped})`;
  } finally {
    live.end();
  }
  // A command that ended (or was killed) on its own channel, as the host confirmed: it answers.
  if (exec && step.where !== 'local') run.isNotAnswering = exec.killUnconfirmed === true;
  let status: StepStatus;
  if (actionFailure) status = 'failed';
  else if (!exec) status = reason ? 'error' : 'ok';
  else if (exec.timedOut) status = 'timeout';
  else status = step.kind === 'uses' ? 'ok' : judge(step, exec);
  if (actionFailure) reason = actionFailure;
  else if (exec && status !== 'ok') reason = explain(step, exec, host.name);
  const r: StepResult = {
    host: host.name,
    phase,
    id: step.id,
    status,
    exitCode: exec?.exitCode ?? null,
    durationMs: exec?.durationMs ?? Date.now() - started,
  };
  if (reason) r.reason = input.mask(reason);
  await input.record({
    type: 'step-end',
    host: host.name,
    phase,
    step: step.id,
    status,
    exitCode: r.exitCode,
    signal: exec?.signal ?? null,
    durationMs: r.durationMs,
    stdout: journalOutput(input, exec?.stdout ?? '', exec?.stdoutCut),
    stderr: journalOutput(input, exec?.stderr ?? '', exec?.stderrCut),
    // The journal's copy was cut: by the capture's limit or the journal's own.
    truncated:
      (exec?.truncated ?? false) ||
      (exec?.stdout.length ?? 0) > JOURNAL_OUTPUT_BYTES ||
      (exec?.stderr.length ?? 0) > JOURNAL_OUTPUT_BYTES,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(step.kind === 'uses' ? { uses: step.uses, result: result ?? null } : {}),
  });
  return r;
}

/** Why the run was stopped now (`stopSignal`'s reason), when it was. */
function stopReasonOf(input: ExecuteInput): string | undefined {
  const reason = input.stopSignal?.aborted ? input.stopSignal.reason : undefined;
  return typeof reason === 'string' ? reason : undefined;
}

function recordStart(input: RunInput, host: PlannedHost, phase: Phase, step: PlannedStep) {
  return input.record({
    type: 'step-start',
    host: host.name,
    phase,
    step: step.id,
    name: step.name,
  });
}

/** The journal's copy of a captured stream: masked, then cut, no piece of a secret at a cut. */
function journalOutput(input: RunInput, text: string, alreadyCut = 0): string {
  return input.mask(input.secretMask.maskedTail(text, JOURNAL_OUTPUT_BYTES, alreadyCut));
}

interface LiveOutput {
  onStdout(chunk: string): void;
  onStderr(chunk: string): void;
  /** The command ended: let out what was held back. */
  end(): void;
}

/**
 * One command's output on its way to the host's line splitter, masked on the stream: a secret
 * spread over several lines, or over two chunks, is masked whole before anything splits it.
 * When a stream has been quiet for `idleMs` while its masker holds text back, that text is shown
 * (StreamMasker.flush): a command that prints, then waits, is seen up to where it waits.
 */
function liveOutput(ctx: HostContext, secretMask: SecretMask, idleMs: number): LiveOutput {
  const streams = { stdout: secretMask.maskStream(), stderr: secretMask.maskStream() };
  const lastChunkAt = { stdout: 0, stderr: 0 };
  const timers: Record<'stdout' | 'stderr', NodeJS.Timeout | undefined> = {
    stdout: undefined,
    stderr: undefined,
  };
  const forward = (stream: 'stdout' | 'stderr', text: string) => {
    if (text !== '') ctx.output(stream, text);
  };
  // One timer a stream, armed while its masker holds text back; a chunk moves the pause's start
  // (no timer is made per chunk: output that keeps coming re-arms it once per `idleMs`).
  const arm = (stream: 'stdout' | 'stderr', wait: number) => {
    timers[stream] = setTimeout(() => {
      timers[stream] = undefined;
      if (!streams[stream].isHolding()) return;
      const quiet = Date.now() - lastChunkAt[stream];
      if (quiet < idleMs) arm(stream, idleMs - quiet);
      else forward(stream, streams[stream].flush());
    }, wait);
  };
  const push = (stream: 'stdout' | 'stderr', chunk: string) => {
    lastChunkAt[stream] = Date.now();
    forward(stream, streams[stream].push(chunk));
    if (timers[stream] === undefined && streams[stream].isHolding()) arm(stream, idleMs);
  };
  return {
    onStdout: (c) => push('stdout', c),
    onStderr: (c) => push('stderr', c),
    end() {
      clearTimeout(timers.stdout);
      clearTimeout(timers.stderr);
      forward('stdout', streams.stdout.end());
      forward('stderr', streams.stderr.end());
    },
  };
}

/** Local steps run as the runner's user; remote ones as the connection's user. */
function runsAsRoot(host: PlannedHost, step: PlannedStep): boolean {
  if (step.where === 'local' || host.connection.transport === 'local')
    return process.getuid?.() === 0;
  return host.connection.user === 'root';
}

function judge(step: PlannedStep, exec: ExecResult): StepStatus {
  if (exec.exitCode === null || !step.expect.exitCodes.includes(exec.exitCode)) return 'failed';
  if (step.expect.stdout !== undefined && !new RegExp(step.expect.stdout, 'u').test(exec.stdout))
    return 'failed';
  if (step.expect.stderr !== undefined && !new RegExp(step.expect.stderr, 'u').test(exec.stderr))
    return 'failed';
  return 'ok';
}

function explain(step: PlannedStep, exec: ExecResult, host: string): string {
  if (exec.killUnconfirmed)
    return `timed out after ${step.timeoutMs} ms; the kill was sent but not confirmed (host ${host} is not answering): the command may still be running there, check the host`;
  if (exec.timedOut) return `timed out after ${step.timeoutMs} ms and was killed`;
  if (exec.exitCode === null) return `ended by signal ${exec.signal ?? 'unknown'}`;
  if (!step.expect.exitCodes.includes(exec.exitCode))
    return `exited ${exec.exitCode} (expected ${step.expect.exitCodes.join(' or ')})`;
  if (step.expect.stdout !== undefined) return `stdout does not match /${step.expect.stdout}/`;
  return `stderr does not match /${step.expect.stderr}/`;
}

async function commandOf(
  step: PlannedStep,
  transport: Transport,
  scripts: ScriptStage,
  bundleDir: string,
): Promise<string> {
  if (step.kind === 'run') return step.command!;
  if (step.kind === 'script') {
    const remote = await scripts.stage(transport, step.script!, bundleDir);
    return ['sh', remote, ...(step.args ?? [])].map((a) => quoteShellArg(a)).join(' ');
  }
  throw new runnerErrors.WorkFailedError(
    'ACTION_UNAVAILABLE',
    `action ${step.uses} is not available in this opsbook`,
  );
}

async function runAction(
  input: RunInput,
  host: PlannedHost,
  step: PlannedStep,
  transport: Transport,
  env: Record<string, string>,
  ctx: HostContext,
  live: LiveOutput,
): Promise<ActionOutcome> {
  const action = builtinActions().get(step.uses ?? '');
  if (!action)
    throw new runnerErrors.WorkFailedError(
      'ACTION_UNAVAILABLE',
      `action ${step.uses} is not available in this opsbook`,
    );
  const { connect } = input;
  return action.run({
    ...(connect ? { connect: (target) => connectOffPlan(input, host, connect, target) } : {}),
    host: host.name,
    with: step.with,
    transport,
    env,
    sudo: step.sudo && !runsAsRoot(host, step),
    timeoutMs: step.timeoutMs,
    signal: ctx.signal,
    runId: input.runId,
    stateDir: input.stateDir,
    ...(input.store ? { store: input.store } : {}),
    onStdout: live.onStdout,
    onStderr: live.onStderr,
  });
}

/**
 * A machine outside the plan (an off-host backup copy's destination), reached from a step on
 * `host`: each host key taken as new there, and the route taken, are journaled and said as a run
 * host's are, before the step goes on, so that whoever verifies the run sees every key it trusted
 * without a check and where the copy went.
 */
async function connectOffPlan(
  input: RunInput,
  host: PlannedHost,
  connect: (target: SshTarget) => Promise<Transport>,
  target: SshTarget,
): Promise<Transport> {
  const transport = await connect(target);
  try {
    for (const key of transport.acceptedHostKeys ?? [])
      await input.record({ type: 'host-key-accepted', ...key, host: host.name });
    if (transport.route)
      await input.record({
        type: 'host-route',
        host: host.name,
        destination: target.name,
        ...transport.route,
      });
  } catch (e) {
    await transport.close().catch(() => {});
    throw e;
  }
  return transport;
}
