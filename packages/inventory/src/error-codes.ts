import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes of inventories, host patterns and facts (tools match on them). */
export const inventoryErrorCodes = errorCodeList({
  invalid: {
    INVENTORY_INVALID: "the inventory, or a host's connection variables, cannot be used (below)",
    HOST_PATTERN_NO_MATCH: 'the pattern, or any part of it, matches no host',
    HOST_PATTERN_INVALID: 'an empty pattern, an invalid `~regex`',
    VAULT_PASSWORD_NEEDED:
      'a step or connection reads an Ansible Vault encrypted variable and no vault password was given',
    FACTS_INVALID:
      'facts or fleet statistics that are not strict JSON or not valid against the schema',
  },
});

export type InventoryErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<
  typeof inventoryErrorCodes,
  K
>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const inventoryErrors = errorsFor(inventoryErrorCodes);
