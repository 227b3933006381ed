import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes the state store throws (tools match on them). */
export const stateErrorCodes = [
  {
    code: 'RUNS_EXHAUSTED',
    kind: 'refused',
    meaning: "the store already records the approval's allowed number of runs",
  },
  {
    code: 'LEDGER_LOCKED',
    kind: 'failed',
    meaning: "another opsbook run holds the files store's ledger lock: wait for it",
  },
  {
    code: 'STATE_DB_UNREACHABLE',
    kind: 'unreachable',
    meaning: 'the PostgreSQL state store cannot be reached or refused the login',
  },
  {
    code: 'STATE_DB_NOT_MIGRATED',
    kind: 'failed',
    meaning: 'the PostgreSQL state store lacks tables this opsbook needs: run opsbook db migrate',
  },
  {
    code: 'LEASE_LOST',
    kind: 'failed',
    meaning:
      "a distributed run's shard was taken over (its worker was presumed dead): nothing more is written for it",
  },
  {
    code: 'STATE_DB_TOO_NEW',
    kind: 'failed',
    meaning: 'the PostgreSQL state store was migrated by a newer opsbook than this one',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type StateErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof stateErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const stateErrors = errorsFor(stateErrorCodes);
