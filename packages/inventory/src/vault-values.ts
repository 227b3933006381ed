import { createHmac, pbkdf2Sync } from 'node:crypto';
import type { Problem, ValidationError, YamlSource } from '@opsbook/schema';
import { decryptVault, VAULT_HEADER, VaultError } from './ansible-vault.js';
import { type InventoryErrorCode, inventoryErrors } from './error-codes.js';
import type { SourceLocation, Vars } from './inventory.js';
import { mapYamlStrings } from './map-yaml-strings.js';

/** The vault password of a load, if one was given, and where it came from (for messages). */
export interface VaultKey {
  password?: Buffer;
  /** e.g. `--vault-password-file /etc/opsbook/vault.pw` or `ANSIBLE_VAULT_PASSWORD_FILE`. */
  source?: string;
}

export const HOW_TO_GIVE_VAULT_PASSWORD =
  'give the vault password in a file named by ANSIBLE_VAULT_PASSWORD_FILE (as for ansible)';

/**
 * What binds a decrypted value into a signed plan without showing it: `hmac-sha256:<hex>` of the
 * value, keyed by PBKDF2-SHA256 of the vault password (10,000 iterations, as ansible-vault), so
 * that whoever reads the plan cannot test guesses against it without the password. The same
 * value under the same password gives the same fingerprint; another password gives another.
 */
export function vaultFingerprinter(password: Buffer): (value: string) => string {
  let key: Buffer | undefined;
  return (value) => {
    key ??= pbkdf2Sync(password, 'opsbook vault fingerprint v1', 10_000, 32, 'sha256');
    return `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`;
  };
}

/** What a message shows in place of a decrypted value (README: never shown in error messages). */
export const VAULTED_VALUE = '(a vaulted value)';

/** A variable's value for a message, `show` applied; a vaulted one is never shown. */
export function valueForMessage(
  value: unknown,
  at: Pick<SourceLocation, 'isVaulted'> | undefined,
  show: (value: unknown) => string = (v) => JSON.stringify(v) ?? String(v),
): string {
  return at?.isVaulted ? VAULTED_VALUE : show(value);
}

/**
 * A vaulted value read without a password: kept, unread, until something needs it. The host's
 * vars expose it as a property that throws (vaultLockedError) when read.
 */
export class VaultedValue {
  constructor(readonly at: SourceLocation) {}
}

/**
 * Ansible's `!vault` tag is the one YAML tag an inventory may carry: blank it (same length, so
 * positions stay) and remember its lines, so the strict loader reads the vault text as a string
 * and only strings that were tagged are decrypted.
 */
export function blankVaultTags(text: string): { text: string; lines: Set<number> } {
  const lines = new Set<number>();
  const out = text
    .split('\n')
    .map((line, i) => {
      if (!line.includes('!vault')) return line;
      const m = /^(\s*(?:-\s+)?(?:[^#'"\s][^#'"]*?:\s+|-\s+))!vault(?=\s|$)/.exec(line);
      if (!m) return line;
      lines.add(i + 1);
      return `${m[1]}      ${line.slice(m[0].length)}`;
    })
    .join('\n');
  return { text: out, lines };
}

/**
 * Replace every `!vault` string of a parsed value: decrypted when there is a password, else a
 * VaultedValue. Returns the problems (wrong password, malformed vault text), without the value.
 */
export function openInlineVaults(
  value: unknown,
  source: YamlSource,
  tagLines: Set<number>,
  key: VaultKey,
  vaulted: Map<string, SourceLocation>,
): { value: unknown; problems: Problem[] } {
  const problems: Problem[] = [];
  if (tagLines.size === 0) return { value, problems };
  const opened = mapYamlStrings(value, (v, path) => {
    if (!v.startsWith(VAULT_HEADER)) return v;
    if (!tagLines.has(source.locate(path, 'value').line)) return v;
    // Reported where the variable is named, the line a reader looks for.
    const at = { file: source.file, ...source.locate(path, 'key') };
    vaulted.set(path.join('.'), at);
    if (!key.password) return new VaultedValue(at);
    try {
      return decryptVault(v, key.password).toString('utf8');
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      problems.push(vaultProblem(at, e, key));
      return new VaultedValue(at);
    }
  });
  return { value: opened, problems };
}

export function vaultProblem(at: SourceLocation, e: VaultError, key: VaultKey): Problem {
  const fix =
    e.reason === 'wrong-password'
      ? `check the password in ${key.source ?? 'the vault password file'}`
      : 're-encrypt it with ansible-vault encrypt (or encrypt_string)';
  return {
    file: at.file,
    line: at.line,
    col: at.col,
    rule: 'vault-cannot-open',
    message: `cannot decrypt this Ansible Vault text: ${e.message}; ${fix}`,
  };
}

/** The error for a variable whose value is vaulted and no password was given. */
export function vaultLockedError(host: string, name: string, at: SourceLocation): ValidationError {
  return hostVariableError(
    host,
    name,
    at,
    'vault-password-needed',
    `is Ansible Vault encrypted and no vault password was given: ${HOW_TO_GIVE_VAULT_PASSWORD}`,
    'VAULT_PASSWORD_NEEDED',
  );
}

/** The error for one variable of a host, at the place that sets it: `host 'h': variable 'v' …`. */
export function hostVariableError(
  host: string,
  name: string,
  at: SourceLocation,
  rule: string,
  message: string,
  code: InventoryErrorCode<'invalid'>,
): ValidationError {
  const { file, line, col } = at;
  return new inventoryErrors.ValidationError(
    [{ file, line, col, rule, message: `host '${host}': variable '${name}' ${message}` }],
    code,
  );
}

/** Names opsbook itself looks up when present (connection and opsbook settings): never guarded. */
const optionalNames = /^(?:ansible|opsbook)_/;

/**
 * A host's vars when vault files that apply to it were left unread: asking whether the host
 * has a variable that is not there (as a template does) throws VAULT_PASSWORD_NEEDED naming
 * the unread files, since the variable may well be in one of them. Reading what is there, and
 * the optional ansible_* and opsbook_* settings, work as usual.
 */
export function guardUnreadVaultFiles(host: string, vars: Vars, files: readonly string[]): Vars {
  return new Proxy(vars, {
    getOwnPropertyDescriptor(target, key) {
      const own = Reflect.getOwnPropertyDescriptor(target, key);
      if (own || typeof key !== 'string' || optionalNames.test(key)) return own;
      throw unreadVaultError(host, key, files);
    },
  });
}

/**
 * The error for a variable that may be in a vault file left unread: missing (`at` undefined), or
 * set where such a file would override it.
 */
export function unreadVaultError(
  host: string,
  name: string,
  files: readonly string[],
  at?: SourceLocation,
): ValidationError {
  const where = `${files.join(', ')} ${files.length > 1 ? 'are' : 'is'} Ansible Vault encrypted and unread`;
  const message = at
    ? `host '${host}': variable '${name}' (set at ${at.file}:${at.line}) may be overridden by a vault file: ${where}: ${HOW_TO_GIVE_VAULT_PASSWORD}`
    : `host '${host}': variable '${name}' is not in what opsbook could read, and ${where}: ${HOW_TO_GIVE_VAULT_PASSWORD}; if the variable is not there, define it in the inventory`;
  return new inventoryErrors.ValidationError(
    [{ file: files[0]!, line: 1, col: 1, rule: 'vault-password-needed', message }],
    'VAULT_PASSWORD_NEEDED',
  );
}
