import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type Problem, parseYamlSource, UsageError } from '@opsbook/schema';
import { decryptVault, isVaultText, VaultError } from './ansible-vault.js';
import type { SourceLocation, Vars } from './inventory.js';
import { blankVaultTags, openInlineVaults, type VaultKey, vaultProblem } from './vault-values.js';
import { withYaml11Scalars } from './yaml11-scalars.js';

/** Ansible's YAML_FILENAME_EXTENSIONS, tried in this order after the bare name. */
const extensions = ['.yml', '.yaml', '.json'];

export interface VarsFileResult {
  vars: Vars;
  origins: Record<string, SourceLocation>;
  problems: Problem[];
  files: string[];
  /** Vault-encrypted files left unread for want of a password. */
  unreadVaultFiles: string[];
}

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The vars files Ansible's host_group_vars plugin reads for one group or host under
 * `group_vars/` or `host_vars/`: the first of `NAME` (file or folder), `NAME.yml`,
 * `NAME.yaml`, `NAME.json`; a folder is read recursively in sorted order, skipping hidden
 * files and `~` backups. `names` is the folder's listing (`varsDirNames`), read once for all
 * the hosts or groups of an inventory: a name it does not hold costs no file system call.
 */
export async function findVarsFiles(
  dir: string,
  name: string,
  names?: ReadonlySet<string>,
): Promise<string[]> {
  // A name with a path separator would read files outside the folder; Ansible skips such names too.
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') return [];
  for (const ext of ['', ...extensions]) {
    if (names && !names.has(name + ext)) continue;
    const candidate = join(dir, name + ext);
    const kind = await kindOf(candidate);
    if (kind === 'file') return [candidate];
    if (kind === 'dir') return listVarsDir(candidate, 0);
  }
  return [];
}

/** The names in a `group_vars/` or `host_vars/` folder; empty when there is none. */
export async function varsDirNames(dir: string): Promise<ReadonlySet<string>> {
  try {
    return new Set(await readdir(dir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Set();
    // Never read the inventory without its vars: a host's connection could differ.
    throw new UsageError(`cannot read ${dir} (${code}): make it readable, or move it away`);
  }
}

/** Deeper than any real vars folder; stops a symlink loop. */
const MAX_VARS_DEPTH = 16;

async function listVarsDir(dir: string, depth: number): Promise<string[]> {
  if (depth > MAX_VARS_DEPTH) return [];
  const found: string[] = [];
  const entries = (await readdir(dir)).sort();
  for (const entry of entries) {
    if (entry.startsWith('.') || entry.endsWith('~')) continue;
    const full = join(dir, entry);
    const ext = extname(entry);
    const kind = await kindOf(full);
    if (kind === 'dir' && !ext) found.push(...(await listVarsDir(full, depth + 1)));
    else if (kind === 'file' && (!ext || extensions.includes(ext))) found.push(full);
  }
  return found;
}

/** Read and merge vars files in order; later files win, as in Ansible. Empty files are allowed. */
export async function readVarsFiles(files: string[], key: VaultKey = {}): Promise<VarsFileResult> {
  const result: VarsFileResult = {
    vars: {},
    origins: {},
    problems: [],
    files,
    unreadVaultFiles: [],
  };
  for (const file of files) {
    let bytes: Uint8Array = await readFile(file);
    const isVaultFile = isVaultText(bytes);
    if (isVaultFile) {
      if (!key.password) {
        result.unreadVaultFiles.push(file);
        continue;
      }
      try {
        bytes = decryptVault(Buffer.from(bytes).toString('latin1'), key.password);
      } catch (e) {
        if (!(e instanceof VaultError)) throw e;
        result.problems.push(vaultProblem({ file, line: 1, col: 1 }, e, key));
        continue;
      }
    }
    readVarsText(file, bytes, isVaultFile, key, result);
  }
  return result;
}

function readVarsText(
  file: string,
  bytes: Uint8Array,
  isVaultFile: boolean,
  key: VaultKey,
  result: VarsFileResult,
): void {
  const tags = blankVaultTags(Buffer.from(bytes).toString('utf8'));
  const source = parseYamlSource(file, tags.lines.size > 0 ? tags.text : bytes);
  // A decrypted file's problems keep their position but never quote its text.
  const problems = source.problems
    .filter((p) => p.rule !== 'empty-file')
    .map((p) =>
      isVaultFile
        ? { ...p, message: `the decrypted vault file is not valid YAML here (${p.rule})` }
        : p,
    );
  if (problems.length > 0 || source.value === undefined || source.value === null) {
    result.problems.push(...problems);
    return;
  }
  if (typeof source.value !== 'object' || Array.isArray(source.value)) {
    result.problems.push({
      file,
      ...source.locate([]),
      rule: 'vars-file-not-mapping',
      message: 'a vars file must be a mapping of variable names to values',
    });
    return;
  }
  const vaulted = new Map<string, SourceLocation>();
  const value = withYaml11Scalars(source, source.value);
  const opened = openInlineVaults(value, source, tags.lines, key, vaulted);
  result.problems.push(...opened.problems);
  for (const [k, v] of Object.entries(opened.value as Record<string, unknown>)) {
    const own = { enumerable: true, writable: true, configurable: true };
    const at: SourceLocation = { file, ...source.locate([k], 'key') };
    if (isVaultFile || [...vaulted.keys()].some((p) => p === k || p.startsWith(`${k}.`))) {
      at.isVaulted = true;
    }
    Object.defineProperty(result.vars, k, { ...own, value: v });
    Object.defineProperty(result.origins, k, { ...own, value: at });
  }
}
