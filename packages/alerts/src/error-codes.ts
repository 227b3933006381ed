import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes @opsbook/alerts throws (tools match on them). */
export const alertsErrorCodes = errorCodeList({
  invalid: {
    ALERT_PAYLOAD_INVALID:
      'a webhook body is not JSON, or not an Alertmanager version 4 payload: the problems name each field',
    ALERT_RULES_INVALID: 'alerts.yaml (or an on-call file it names) breaks its schema or rules',
    ALERT_RULES_MISSING: 'there is no alerts.yaml where opsbook looks: write one (docs/alerts.md)',
    INCIDENT_UNKNOWN: 'no incident has this id (INC-n) or ticket: opsbook alerts list shows them',
    LISTEN_UNAVAILABLE:
      "alerts serve cannot listen on --listen (the port is taken, privileged, or the address not this machine's): give another, or stop the process holding it",
  },
  failed: {
    ALERTS_LOCKED:
      'another opsbook process holds the alert state lock (files store): wait for it, or delete the lock if none runs',
  },
  refused: {
    REGRADE_UNPROVEN:
      "an incident's re-grade carries no valid signature of a listed senior over a re-grade of that incident, ticket and earlier grade (its state was written by someone else, or an older opsbook made it): nothing of the incident goes to its ticket",
  },
  unreachable: {
    DISPATCH_PENDING:
      'the tracker could not be reached: the tickets and comments wait in the alert store and are sent on the next pass',
  },
});

export type AlertsErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof alertsErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const alertsErrors = errorsFor(alertsErrorCodes);
