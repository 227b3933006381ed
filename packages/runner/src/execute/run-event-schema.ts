/**
 * The journal's events (README, _What `run` does_: the journal) as a JSON Schema: the one source of `RunEvent`
 * (run-events.ts derives it), and what a reader of a journal can check its lines against once
 * the chain fields (`seq`, `at`, `prev`, `hash`) are taken off.
 */
import { envelopeSchema } from '@opsbook/approval';
import { closedObject, phases } from '@opsbook/schema';
import { runStatusValues } from '@opsbook/state';
import { connectionSchema, runbookRefSchema } from '../plan/plan-schema.js';

// How a run ended: the `status` of its `run-end` event and of the store's run end.
export { runStatusValues };

const phase = { enum: phases } as const;
const host = { type: 'string' } as const;

const runStart = closedObject(
  {
    type: { const: 'run-start' },
    runId: { type: 'string' },
    ticket: { type: 'string' },
    runbook: runbookRefSchema,
    /** The runbooks it composes, as the approval binds them (step path, name, version, digest). */
    composed: {
      type: 'array',
      items: closedObject({
        step: { type: 'string' },
        name: { type: 'string' },
        version: { type: 'string' },
        digest: { type: 'string' },
      }),
    },
    planDigest: { type: 'string' },
    approval: closedObject({
      id: { type: 'string' },
      sha256: { type: 'string' },
      signers: {
        type: 'array',
        items: closedObject({ approverId: { type: 'string' }, fingerprint: { type: 'string' } }),
      },
      runsUsed: { type: 'integer' },
      maxRuns: { type: 'integer' },
    }),
    /** Who ran, as the trust store names the key that signed the run claim. */
    executor: { type: 'string' },
    executorKey: { type: 'string' },
    /** The executor's signed RunClaim envelope (namespace opsbook-run). */
    runClaim: envelopeSchema,
    params: { type: 'object' },
    secretParams: { type: 'array', items: { type: 'string' } },
    hosts: { type: 'array', items: host },
    /** `run --retry-failed`: the run whose hosts that did not end ok this one runs again. */
    retryOf: { type: 'string' },
  },
  ['composed', 'retryOf'],
);

const hostStart = closedObject({
  type: { const: 'host-start' },
  host,
  connection: connectionSchema,
});

/**
 * A host key the run took as new (`--accept-new-host-keys`) and added to known_hosts, before
 * any step on that host: trusted without a check, so whoever verifies the run sees it.
 */
const hostKeyAccepted = closedObject({
  type: { const: 'host-key-accepted' },
  host,
  /** The address and port whose key it is (a jump host's own, for a jump host). */
  address: { type: 'string' },
  port: { type: 'integer' },
  keyType: { type: 'string' },
  fingerprint: { type: 'string' },
  knownHostsFile: { type: 'string' },
});

/**
 * Where an SSH host's connection went (address, port, user, jump hosts), before any step there
 * (an off-host copy's destination: before the step that copies ends):
 * the plan holds only what the inventory sets, and ~/.ssh/config on the runner machine may
 * choose the port and user of a host whose inventory entry sets none (`fromSshConfig`).
 */
const hostRoute = closedObject(
  {
    type: { const: 'host-route' },
    host,
    /** A machine outside the plan reached from a step on `host` (an off-host backup copy's `to`). */
    destination: { type: 'string' },
    address: { type: 'string' },
    port: { type: 'integer' },
    user: { type: 'string' },
    jumps: {
      type: 'array',
      items: closedObject({
        address: { type: 'string' },
        port: { type: 'integer' },
        user: { type: 'string' },
      }),
    },
    fromSshConfig: { type: 'array', items: { enum: ['port', 'user'] } },
  },
  ['destination'],
);

const stepStart = closedObject({
  type: { const: 'step-start' },
  host,
  phase,
  step: { type: 'string' },
  name: { type: 'string' },
});

const stepEnd = closedObject(
  {
    type: { const: 'step-end' },
    host,
    phase,
    step: { type: 'string' },
    status: { type: 'string' },
    exitCode: { type: ['integer', 'null'] },
    signal: { type: ['string', 'null'] },
    durationMs: { type: 'number' },
    stdout: { type: 'string' },
    stderr: { type: 'string' },
    truncated: { type: 'boolean' },
    reason: { type: 'string' },
    /** A `uses:` step: the action it ran and what the action returned (null for nothing). */
    uses: { type: 'string' },
    result: {},
  },
  ['exitCode', 'signal', 'stdout', 'stderr', 'truncated', 'reason', 'uses', 'result'],
);

const hostEnd = closedObject(
  {
    type: { const: 'host-end' },
    host,
    status: { type: 'string' },
    failedStep: closedObject({ phase, id: { type: 'string' } }),
    rolledBack: { type: 'boolean' },
    error: { type: 'string' },
  },
  ['failedStep', 'error'],
);

/**
 * A distributed run's shard given back to the queue by its submitter: the worker that took it is
 * gone (its pool's lease free) and no host of it had started, so a worker of its zone runs it.
 */
const shardReturned = closedObject({
  type: { const: 'shard-returned' },
  shard: { type: 'integer' },
  zone: { type: 'string' },
  hosts: { type: 'array', items: host },
  /** The job queue pool of the worker that took it and is gone. */
  worker: { type: 'string' },
  reason: { type: 'string' },
});

const runEnd = closedObject({
  type: { const: 'run-end' },
  status: { enum: runStatusValues },
  hosts: { type: 'object', additionalProperties: { type: 'string' } },
  interrupted: { type: 'boolean' },
  stoppedByFailures: { type: 'boolean' },
});

/** One event of a run's journal, told apart by its `type`. */
export const runEventSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/run-event.json',
  title: 'opsbook run journal event',
  oneOf: [
    runStart,
    hostStart,
    hostKeyAccepted,
    hostRoute,
    stepStart,
    stepEnd,
    hostEnd,
    shardReturned,
    runEnd,
  ],
} as const;
