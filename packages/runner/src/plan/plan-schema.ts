/**
 * The rendered plan as a JSON Schema: the one source of `Plan`, `PlannedHost` and `PlannedStep`
 * (plan.ts derives them), and what a reader of a plan file can check it against.
 */

/**
 * How to reach a host: inventory's `Connection`, which has no schema of its own;
 * plan-schema.test.ts holds the two to each other. The journal's host-start records it too.
 */
export const connectionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'port', 'become', 'becomeUser', 'transport'],
  properties: {
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
} as const;

export const plannedStepSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'kind', 'where', 'sudo', 'timeoutMs', 'expect', 'continueOnError'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { enum: ['run', 'script', 'uses'] },
    /** For `run:` steps: the shell text, every value already quoted. */
    command: { type: 'string' },
    /** For `script:` steps: the file in the bundle and its sha256. */
    script: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'sha256'],
      properties: { path: { type: 'string' }, sha256: { type: 'string' } },
    },
    args: { type: 'array', items: { type: 'string' } },
    uses: { type: 'string' },
    with: {},
    where: { enum: ['remote', 'local'] },
    sudo: { type: 'boolean' },
    timeoutMs: { type: 'integer' },
    expect: {
      type: 'object',
      additionalProperties: false,
      required: ['exitCodes'],
      properties: {
        exitCodes: { type: 'array', items: { type: 'integer' } },
        stdout: { type: 'string' },
        stderr: { type: 'string' },
      },
    },
    continueOnError: { type: 'boolean' },
  },
} as const;

const steps = { type: 'array', items: plannedStepSchema } as const;

export const plannedHostSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'connection', 'phases'],
  properties: {
    name: { type: 'string' },
    connection: connectionSchema,
    /** Every phase of the runbook, in the order phases lists them, empty when it has no steps. */
    phases: {
      type: 'object',
      additionalProperties: false,
      required: ['prechecks', 'steps', 'postchecks', 'rollback', 'evidence'],
      properties: { prechecks: steps, steps, postchecks: steps, rollback: steps, evidence: steps },
    },
  },
} as const;

export const planSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/plan.json',
  title: 'opsbook rendered plan',
  type: 'object',
  additionalProperties: false,
  required: [
    'apiVersion',
    'kind',
    'ticket',
    'runbook',
    'category',
    'grade',
    'params',
    'secretParams',
    'concurrency',
    'maxFailures',
    'hosts',
  ],
  properties: {
    apiVersion: { const: 'opsbook/v1' },
    kind: { const: 'Plan' },
    ticket: { type: 'string' },
    runbook: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version', 'digest'],
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        digest: { type: 'string' },
      },
    },
    category: { enum: ['routine', 'incident', 'change'] },
    grade: { enum: ['P1', 'P2', 'P3', 'P4'] },
    params: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    secretParams: { type: 'array', items: { type: 'string' } },
    concurrency: { type: 'integer' },
    maxFailures: { type: 'integer' },
    hosts: { type: 'array', items: plannedHostSchema },
  },
} as const;
