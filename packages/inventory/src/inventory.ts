/** Where a host, group or variable was written: the file and the 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
  /** The value was Ansible Vault encrypted: messages never show it. */
  isVaulted?: true;
}

/** A variable value as Ansible sees it: any JSON-like value. */
export type VarValue = unknown;
export type Vars = Record<string, VarValue>;

/** A host with its variables resolved the way Ansible resolves them. */
export interface InventoryHost {
  name: string;
  /** Every variable of the host after Ansible's precedence (all < groups by depth < host). */
  vars: Vars;
  /** Where the winning value of each variable in `vars` was written. */
  varOrigins: Record<string, SourceLocation>;
  /** Every group the host belongs to, directly or through a child group, sorted; without `all` (Ansible's `group_names`). */
  groups: string[];
  /** Where the host was first declared. */
  declaredAt: SourceLocation;
  /**
   * Vault-encrypted vars files that apply to this host and were not read (no vault password):
   * their variables are missing from `vars`.
   */
  unreadVaultFiles?: string[];
}

export interface InventoryGroup {
  name: string;
  /** Hosts declared directly in this group, in declaration order. */
  hosts: string[];
  /** Child groups, in declaration order. */
  children: string[];
  /** The group's own variables from the inventory file and its group_vars files (not inherited). */
  vars: Vars;
  /** Longest distance from `all` (0 for `all`); decides variable precedence. */
  depth: number;
  /** `ansible_group_priority` (default 1): breaks ties between groups of the same depth. */
  priority: number;
}

export interface Inventory {
  /** The inventory file(s) this was read from. */
  sources: string[];
  /** Hosts in inventory order: the order in which they were first declared. */
  hosts: InventoryHost[];
  /** Groups in declaration order, starting with `all` and `ungrouped`. */
  groups: InventoryGroup[];
  /**
   * With a vault password: the fingerprint that binds a decrypted value into a plan without
   * showing it (`hmac-sha256:…`, keyed by the password; vault-values.ts vaultFingerprinter).
   */
  vaultFingerprint?(value: string): string;
}

export type InventoryFormat = 'yaml' | 'ini';
