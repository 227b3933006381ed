/** How a run ended: the `status` of its journal's `run-end` event and of the store's run end. */
export const runStatusValues = ['ok', 'failed', 'unreachable', 'interrupted'] as const;
export type RunStatus = (typeof runStatusValues)[number];
export const runStatuses: readonly RunStatus[] = runStatusValues;
