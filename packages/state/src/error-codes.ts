import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes the state store throws (tools match on them). */
export const stateErrorCodes = errorCodeList({
  refused: {
    RUNS_EXHAUSTED: "the store already records the approval's allowed number of runs",
  },
  unreachable: {
    STATE_DB_UNREACHABLE: 'the PostgreSQL state store cannot be reached or refused the login',
  },
  failed: {
    LEDGER_LOCKED: "another opsbook run holds the files store's ledger lock: wait for it",
    STATE_DB_REFUSED:
      'the PostgreSQL state store refused the work for its state or grants (a role without the grant, a read-only standby, its disk full, no connection left, a statement timeout): the message says what to do',
    STATE_DB_LOCKED:
      "a session of the PostgreSQL state store held a lock opsbook's work waits for (a claim's, a table's, a row's) past its bound (30 s): the message says how to find and end it",
    STATE_DB_NOT_MIGRATED:
      'the PostgreSQL state store lacks tables this opsbook needs: run opsbook db migrate',
    STATE_DB_TOO_NEW: 'the PostgreSQL state store was migrated by a newer opsbook than this one',
    LEASE_LOST:
      "a distributed run's shard was taken over (its worker was presumed dead): nothing more is written for it",
  },
});

export type StateErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof stateErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const stateErrors = errorsFor(stateErrorCodes);
