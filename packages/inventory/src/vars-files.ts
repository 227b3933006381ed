import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type Problem, parseYamlSource } from '@opsbook/schema';
import type { SourceLocation, Vars } from './inventory.js';

/** Ansible's YAML_FILENAME_EXTENSIONS, tried in this order after the bare name. */
const extensions = ['.yml', '.yaml', '.json'];

export interface VarsFileResult {
  vars: Vars;
  origins: Record<string, SourceLocation>;
  problems: Problem[];
  files: string[];
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
 * files and `~` backups.
 */
export async function findVarsFiles(dir: string, name: string): Promise<string[]> {
  // A name with a path separator would read files outside the folder; Ansible skips such names too.
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..') return [];
  for (const ext of ['', ...extensions]) {
    const candidate = join(dir, name + ext);
    const kind = await kindOf(candidate);
    if (kind === 'file') return [candidate];
    if (kind === 'dir') return listVarsDir(candidate, 0);
  }
  return [];
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
export async function readVarsFiles(files: string[]): Promise<VarsFileResult> {
  const result: VarsFileResult = { vars: {}, origins: {}, problems: [], files };
  for (const file of files) {
    const bytes = await readFile(file);
    if (bytes.subarray(0, 14).toString('latin1') === '$ANSIBLE_VAULT') {
      result.problems.push({
        file,
        line: 1,
        col: 1,
        rule: 'vault-not-supported',
        message:
          'this vars file is Ansible Vault encrypted, which opsbook cannot read: keep secrets in the environment and plain vars here',
      });
      continue;
    }
    const source = parseYamlSource(file, bytes);
    const problems = source.problems.filter((p) => p.rule !== 'empty-file');
    if (problems.length > 0 || source.value === undefined || source.value === null) {
      result.problems.push(...problems);
      continue;
    }
    const value = source.value;
    if (typeof value !== 'object' || Array.isArray(value)) {
      result.problems.push({
        file,
        ...source.locate([]),
        rule: 'vars-file-not-mapping',
        message: 'a vars file must be a mapping of variable names to values',
      });
      continue;
    }
    for (const [k, v] of Object.entries(value)) {
      const own = { enumerable: true, writable: true, configurable: true };
      Object.defineProperty(result.vars, k, { ...own, value: v });
      Object.defineProperty(result.origins, k, {
        ...own,
        value: { file, ...source.locate([k], 'key') },
      });
    }
  }
  return result;
}
