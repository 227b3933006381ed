/**
 * The rendered plan as a JSON Schema: the one source of `Plan`, `PlannedHost` and `PlannedStep`
 * (plan.ts derives them), and what a reader of a plan file can check it against.
 */
import {
  apiVersion,
  closedObject,
  documentSchema,
  runbookCategory,
  runbookGrade,
} from '@opsbook/schema';

/**
 * How to reach a host: inventory's `Connection`, which has no schema of its own;
 * plan-schema.test.ts holds the two to each other. The journal's host-start records it too.
 */
export const connectionSchema = closedObject(
  {
    address: { type: 'string' },
    port: { type: 'integer' },
    user: { type: 'string' },
    privateKeyFile: { type: 'string' },
    become: { type: 'boolean' },
    becomeUser: { type: 'string' },
    transport: { enum: ['ssh', 'local'] },
    connectTimeoutMs: { type: 'number' },
    proxyJump: { type: 'string' },
  },
  ['port', 'user', 'privateKeyFile', 'connectTimeoutMs', 'proxyJump'],
);

/** The runbook a plan was rendered from, as the journal's run-start records it too. */
export const runbookRefSchema = closedObject({
  name: { type: 'string' },
  version: { type: 'string' },
  digest: { type: 'string' },
});

export const plannedStepSchema = closedObject(
  {
    id: { type: 'string' },
    name: { type: 'string' },
    /** `runbook`: a step that composes another runbook, whose phases are the host's `composed`. */
    kind: { enum: ['run', 'script', 'uses', 'runbook'] },
    /** For `run:` steps: the shell text, every value already quoted. */
    command: { type: 'string' },
    /**
     * For `run:` steps naming Ansible Vault encrypted host vars: each one's fingerprint, by name
     * (`hmac-sha256:…`, keyed by the vault password). The command names `"$OPSBOOK_VAULT_<name>"`
     * and the run passes the value there, masked: the plan binds it without showing it.
     */
    vault: { type: 'object', additionalProperties: { type: 'string' } },
    /** For `script:` steps: the file in the bundle and its sha256. */
    script: closedObject({ path: { type: 'string' }, sha256: { type: 'string' } }),
    args: { type: 'array', items: { type: 'string' } },
    uses: { type: 'string' },
    with: {},
    /** For `runbook` steps: the runbook the step's range resolved to. */
    runbook: runbookRefSchema,
    where: { enum: ['remote', 'local'] },
    sudo: { type: 'boolean' },
    timeoutMs: { type: 'integer' },
    expect: closedObject(
      {
        exitCodes: { type: 'array', items: { type: 'integer' } },
        stdout: { type: 'string' },
        stderr: { type: 'string' },
      },
      ['stdout', 'stderr'],
    ),
    continueOnError: { type: 'boolean' },
  },
  ['command', 'vault', 'script', 'args', 'uses', 'with', 'runbook'],
);

const steps = { type: 'array', items: plannedStepSchema } as const;

const paramValues = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
} as const;

/** Every phase of a runbook, in the order phases lists them, empty when it has no steps. */
const plannedPhasesSchema = closedObject({
  prechecks: steps,
  steps,
  postchecks: steps,
  rollback: steps,
  evidence: steps,
});

export const plannedHostSchema = closedObject(
  {
    name: { type: 'string' },
    connection: connectionSchema,
    phases: plannedPhasesSchema,
    /**
     * The phases of each composed runbook on this host, by the path of its composing step (the
     * `runbook` step's id): only in the plan of a runbook that composes others.
     */
    composed: { type: 'object', additionalProperties: plannedPhasesSchema },
  },
  ['composed'],
);

/** A runbook the planned one composes, and the params it runs with (docs/composition.md). */
export const composedRunbookSchema = closedObject({
  /** The path of its composing step: `tidy`, or `tidy/rotate` for one `tidy`'s runbook composes. */
  step: { type: 'string' },
  runbook: runbookRefSchema,
  /** The range the composing step asked for; `runbook` is what it resolved to. */
  range: { type: 'string' },
  params: paramValues,
  /**
   * Its secret params, each with the planned runbook's secret param whose value it gets at run
   * time (null: an optional secret nobody gives, the empty string). Never a value.
   */
  secrets: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
});

export const planSchema = documentSchema(
  'plan',
  'opsbook rendered plan',
  {
    apiVersion,
    kind: { const: 'Plan' },
    ticket: { type: 'string' },
    runbook: runbookRefSchema,
    category: runbookCategory,
    grade: runbookGrade,
    params: paramValues,
    secretParams: { type: 'array', items: { type: 'string' } },
    /** The runbooks it composes, depth first: only in the plan of a runbook that composes others. */
    composed: { type: 'array', items: composedRunbookSchema },
    concurrency: { type: 'integer' },
    maxFailures: { type: 'integer' },
    hosts: { type: 'array', items: plannedHostSchema },
  },
  ['composed'],
);
