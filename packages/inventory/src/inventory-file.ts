import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import {
  decodeSourceText,
  type Problem,
  parseYamlSource,
  sortProblems,
  ValidationError,
} from '@opsbook/schema';
import { decryptVault, isVaultText, VaultError, vaultPasswordOf } from './ansible-vault.js';
import { type InventoryErrorCode, inventoryErrors } from './error-codes.js';
import { readIniInventory } from './ini-inventory.js';
import type { Inventory, InventoryFormat } from './inventory.js';
import { InventoryGraph } from './inventory-graph.js';
import { findVarsFiles, readVarsFiles, varsDirNames } from './vars-files.js';
import {
  HOW_TO_GIVE_VAULT_PASSWORD,
  type VaultKey,
  vaultFingerprinter,
  vaultProblem,
} from './vault-values.js';
import { readYamlInventory } from './yaml-inventory.js';

export const INVENTORY_INVALID = 'INVENTORY_INVALID' satisfies InventoryErrorCode<'invalid'>;

export interface LoadInventoryOptions {
  /** Force a format instead of deciding from the file name and content (each file of a folder). */
  format?: InventoryFormat;
  /**
   * The file holding the Ansible Vault password (first line, surrounding whitespace stripped).
   * Default: the environment's ANSIBLE_VAULT_PASSWORD_FILE, as ansible reads it.
   */
  vaultPasswordFile?: string;
  /** Where ANSIBLE_VAULT_PASSWORD_FILE is looked up; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** YAML problems that show the file is YAML, just not acceptable YAML. */
const yamlVerdicts = new Set([
  'yaml-alias',
  'yaml-anchor',
  'yaml-tag',
  'yaml-merge-key',
  'yaml-duplicate-key',
]);

/**
 * Decide the format as Ansible does: `.yml`/`.yaml`/`.json` is YAML; a name without an
 * extension is YAML when it reads as a YAML mapping, INI otherwise; anything else is INI.
 */
export function detectInventoryFormat(file: string, text: string): InventoryFormat {
  const ext = extname(file).toLowerCase();
  if (['.yml', '.yaml', '.json'].includes(ext)) return 'yaml';
  if (ext) return 'ini';
  const source = parseYamlSource(file, text);
  if (source.problems.some((p) => yamlVerdicts.has(p.rule))) return 'yaml';
  const v = source.value;
  return source.problems.length === 0 && typeof v === 'object' && v !== null && !Array.isArray(v)
    ? 'yaml'
    : 'ini';
}

function readInto(
  graph: InventoryGraph,
  file: string,
  text: string,
  format: InventoryFormat,
  key: VaultKey = {},
): Problem[] {
  return format === 'yaml'
    ? readYamlInventory(file, text, graph, key)
    : readIniInventory(file, text, graph);
}

function fileProblem(file: string, rule: string, message: string): Problem {
  return { file, line: 0, col: 0, rule, message };
}

function refuse(problems: Problem[]): never {
  throw new inventoryErrors.ValidationError(sortProblems(problems), INVENTORY_INVALID);
}

/**
 * Parse inventory text alone (no group_vars/ or host_vars/), purely. Throws a ValidationError
 * listing every problem with its file:line:col.
 */
export function parseInventoryText(file: string, text: string, format: InventoryFormat): Inventory {
  const graph = new InventoryGraph();
  const problems = readInto(graph, file, text, format);
  if (problems.length > 0) refuse(problems);
  return graph.build([file]);
}

/**
 * Load an inventory file, or a folder of them (read in name order, as Ansible does), and the
 * `group_vars/` and `host_vars/` folders beside the file (inside the folder), and resolve every
 * host's variables with Ansible's precedence. Vault-encrypted files and `!vault` values are
 * opened with the vault password; without one they stay unread until something needs them.
 */
export async function loadInventory(
  path: string,
  options: LoadInventoryOptions = {},
): Promise<Inventory> {
  const key = await readVaultKey(options);
  const isFolder = await isDirectory(path);
  const files = isFolder ? await listInventoryFolder(path) : [path];
  if (isFolder && files.length === 0) {
    refuse([
      fileProblem(
        path,
        'inventory-folder-empty',
        'this inventory folder holds no inventory file (hidden files, group_vars/, host_vars/ and .ini/.cfg/.md/~ files are skipped, as Ansible skips them)',
      ),
    ]);
  }
  const graph = new InventoryGraph();
  const problems: Problem[] = [];
  for (const file of files) {
    const text = await readInventoryText(file, key);
    const format = options.format ?? detectInventoryFormat(file, text);
    const found = readInto(graph, file, text, format, key);
    // Ansible warns and goes on without a file of the folder it cannot parse; opsbook does not
    // guess which hosts a broken file meant, so it refuses, and says how to keep a non-inventory.
    if (isFolder && found[0]) found[0] = { ...found[0], message: notInventoryHint(found[0], path) };
    problems.push(...found);
  }
  if (problems.length > 0) refuse(problems);
  const base = isFolder ? path : dirname(path);
  for (const [kind, names] of [
    ['group', graph.groupNames()],
    ['host', graph.hostNames()],
  ] as const) {
    const dir = join(base, `${kind}_vars`);
    const listing = await varsDirNames(dir);
    // No such folder, or an empty one (the usual INI inventory): no name to look up for anyone.
    if (listing.size === 0) continue;
    for (const name of names) {
      const varsFiles = await findVarsFiles(dir, name, listing);
      if (varsFiles.length === 0) continue;
      const read = await readVarsFiles(varsFiles, key);
      problems.push(...read.problems);
      graph.addDirVars(kind, name, read.vars, read.origins, read.unreadVaultFiles);
    }
  }
  if (problems.length > 0) refuse(problems);
  const inventory = graph.build(files);
  if (key.password) inventory.vaultFingerprint = vaultFingerprinter(key.password);
  return inventory;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function readVaultKey(options: LoadInventoryOptions): Promise<VaultKey> {
  const env = options.env ?? process.env;
  const file = options.vaultPasswordFile ?? (env.ANSIBLE_VAULT_PASSWORD_FILE || undefined);
  if (!file) return {};
  const source =
    options.vaultPasswordFile !== undefined
      ? `the vault password file ${file}`
      : `ANSIBLE_VAULT_PASSWORD_FILE (${file})`;
  let bytes: Buffer;
  try {
    const s = await stat(file);
    // Ansible runs an executable password file as a script; opsbook runs no inventory code.
    if (s.isFile() && (s.mode & 0o111) !== 0) {
      refuse([
        fileProblem(
          file,
          'vault-password-script',
          `${source} is executable, so ansible would run it as a script and opsbook does not run scripts: write the password into a plain file (chmod -x) and name that`,
        ),
      ]);
    }
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    refuse([
      fileProblem(file, 'vault-password-unreadable', `cannot read ${source}: ${code ?? String(e)}`),
    ]);
  }
  const password = vaultPasswordOf(bytes);
  if (password.length === 0) {
    refuse([
      fileProblem(
        file,
        'vault-password-empty',
        `${source} is empty: write the vault password in it`,
      ),
    ]);
  }
  return { password, source };
}

/**
 * The files Ansible reads from an inventory folder: entries in name order, sub-folders
 * recursively, skipping hidden names, group_vars/, host_vars/, vars_plugins/ and the names
 * INVENTORY_IGNORE_EXTS skips by default (.ini included: Ansible skips it inside a folder).
 */
const ignoredInFolder =
  /^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
const MAX_FOLDER_DEPTH = 16;

/** A folder file's first problem, with the way out for a file that is no inventory at all. */
function notInventoryHint(problem: Problem, folder: string): string {
  const name = basename(problem.file);
  return `${problem.message} (every file of the inventory folder ${folder} is read as an inventory, as Ansible reads it, but hidden ones, group_vars/, host_vars/ and names ending in ${IGNORED_ENDINGS}: if ${name} is not an inventory, move it out of the folder or give it one of those endings (${name}.md))`;
}

const IGNORED_ENDINGS = '.md .txt .rst .bak .orig ~ .swp .pyc .pyo .rpm .ini .cfg .retry';

async function listInventoryFolder(dir: string, depth = 0): Promise<string[]> {
  if (depth > MAX_FOLDER_DEPTH) return [];
  const found: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (ignoredInFolder.test(entry)) continue;
    const full = join(dir, entry);
    const s = await stat(full);
    if (s.isDirectory()) found.push(...(await listInventoryFolder(full, depth + 1)));
    else if (s.isFile()) {
      if ((s.mode & 0o111) !== 0) {
        refuse([
          fileProblem(
            full,
            'inventory-script',
            'this file in the inventory folder is executable, so ansible would run it as an inventory script; opsbook runs no inventory code: make it a plain file (chmod -x) or move it out',
          ),
        ]);
      }
      found.push(full);
    }
  }
  return found;
}

async function readInventoryText(path: string, key: VaultKey): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
    refuse([
      fileProblem(
        path,
        'inventory-unreadable',
        `cannot read the inventory: ${why}; check the path (-i or opsbook.yaml 'inventory')`,
      ),
    ]);
  }
  if (isVaultText(bytes)) bytes = openVaultFile(path, bytes, key);
  // The one decoder of every opsbook file: UTF-16, NUL bytes and bad UTF-8 with their position.
  const decoded = decodeSourceText(path, bytes);
  if ('problem' in decoded) refuse([decoded.problem]);
  return decoded.text;
}

/** A whole inventory file encrypted with ansible-vault: nothing of it is usable without the password. */
function openVaultFile(path: string, bytes: Buffer, key: VaultKey): Buffer {
  if (!key.password) {
    refuse([
      fileProblem(
        path,
        'vault-password-needed',
        `this inventory file is Ansible Vault encrypted and no vault password was given: ${HOW_TO_GIVE_VAULT_PASSWORD}`,
      ),
    ]);
  }
  try {
    return decryptVault(bytes.toString('latin1'), key.password);
  } catch (e) {
    if (e instanceof VaultError) refuse([vaultProblem({ file: path, line: 1, col: 1 }, e, key)]);
    throw e;
  }
}
