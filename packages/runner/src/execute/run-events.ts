import type { FromSchema } from 'json-schema-to-ts';
import { runEventSchema, runStatusValues } from './run-event-schema.js';

export { runEventSchema };

/**
 * What a run records, in order, in its journal (packages/state/README.md) and what the CLI renders as progress.
 * Every event is durable (fsynced) before the runner starts the next step.
 */
export type RunEvent = FromSchema<typeof runEventSchema>;

/** How a run ended: the `status` of its `run-end` event and of its ledger run-end record. */
export type RunStatus = (typeof runStatusValues)[number];
export const runStatuses: readonly RunStatus[] = runStatusValues;
