import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes of inventories, host patterns and facts (tools match on them). */
export const inventoryErrorCodes = [
  {
    code: 'INVENTORY_INVALID',
    kind: 'invalid',
    meaning: "the inventory, or a host's connection variables, cannot be used (below)",
  },
  {
    code: 'HOST_PATTERN_NO_MATCH',
    kind: 'invalid',
    meaning: 'the pattern, or any part of it, matches no host',
  },
  {
    code: 'HOST_PATTERN_INVALID',
    kind: 'invalid',
    meaning: 'an empty pattern, an invalid `~regex`',
  },
  {
    code: 'FACTS_INVALID',
    kind: 'invalid',
    meaning: 'facts or fleet statistics that are not strict JSON or not valid against the schema',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type InventoryErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof inventoryErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const inventoryErrors = errorsFor(inventoryErrorCodes);
