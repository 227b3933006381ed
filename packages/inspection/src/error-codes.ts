import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes of inspection checks (tools match on them): only the runbook's mistakes. */
export const inspectionErrorCodes = errorCodeList({
  invalid: {
    INSPECTION_WITH_INVALID:
      "a `with:` value the check's schema refuses (unknown key, wrong type, …)",
    INSPECTION_THRESHOLD_INVALID:
      'a host var that is not a number, a threshold out of range, a warn beyond its crit',
  },
});

export type InspectionErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof inspectionErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const inspectionErrors = errorsFor(inspectionErrorCodes);
