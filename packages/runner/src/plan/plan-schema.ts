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
    kind: { enum: ['run', 'script', 'uses'] },
    /** For `run:` steps: the shell text, every value already quoted. */
    command: { type: 'string' },
    /** For `script:` steps: the file in the bundle and its sha256. */
    script: closedObject({ path: { type: 'string' }, sha256: { type: 'string' } }),
    args: { type: 'array', items: { type: 'string' } },
    uses: { type: 'string' },
    with: {},
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
  ['command', 'script', 'args', 'uses', 'with'],
);

const steps = { type: 'array', items: plannedStepSchema } as const;

export const plannedHostSchema = closedObject({
  name: { type: 'string' },
  connection: connectionSchema,
  /** Every phase of the runbook, in the order phases lists them, empty when it has no steps. */
  phases: closedObject({
    prechecks: steps,
    steps,
    postchecks: steps,
    rollback: steps,
    evidence: steps,
  }),
});

export const planSchema = documentSchema('plan', 'opsbook rendered plan', {
  apiVersion,
  kind: { const: 'Plan' },
  ticket: { type: 'string' },
  runbook: runbookRefSchema,
  category: runbookCategory,
  grade: runbookGrade,
  params: {
    type: 'object',
    additionalProperties: { type: ['string', 'number', 'boolean'] },
  },
  secretParams: { type: 'array', items: { type: 'string' } },
  concurrency: { type: 'integer' },
  maxFailures: { type: 'integer' },
  hosts: { type: 'array', items: plannedHostSchema },
});
