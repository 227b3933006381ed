import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes of inspection checks (tools match on them): only the runbook's mistakes. */
export const inspectionErrorCodes = [
  {
    code: 'INSPECTION_WITH_INVALID',
    kind: 'invalid',
    meaning: "a `with:` value the check's schema refuses (unknown key, wrong type, …)",
  },
  {
    code: 'INSPECTION_THRESHOLD_INVALID',
    kind: 'invalid',
    meaning: 'a host var that is not a number, a threshold out of range, a warn beyond its crit',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type InspectionErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof inspectionErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const inspectionErrors = errorsFor(inspectionErrorCodes);
