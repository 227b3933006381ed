import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes the health report throws (tools match on them). */
export const healthReportErrorCodes = errorCodeList({
  invalid: {
    REPORT_TIME_INVALID:
      '`--since`/`--until` is not a number of days (1–366), a UTC day or an ISO time with its zone',
    REPORT_WITH_INVALID: "the `health.report` action's `with:` is outside its schema",
  },
});

export type HealthReportErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof healthReportErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const healthReportErrors = errorsFor(healthReportErrorCodes);
