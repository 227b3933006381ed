import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import {
  decodeSourceText,
  type Problem,
  parseYamlSource,
  sortProblems,
  ValidationError,
} from '@opsbook/schema';
import { type InventoryErrorCode, inventoryErrors } from './error-codes.js';
import { readIniInventory } from './ini-inventory.js';
import type { Inventory, InventoryFormat } from './inventory.js';
import { InventoryGraph } from './inventory-graph.js';
import { findVarsFiles, readVarsFiles } from './vars-files.js';
import { readYamlInventory } from './yaml-inventory.js';

export const INVENTORY_INVALID = 'INVENTORY_INVALID' satisfies InventoryErrorCode<'invalid'>;

export interface LoadInventoryOptions {
  /** Force a format instead of deciding from the file name and content. */
  format?: InventoryFormat;
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
): Problem[] {
  return format === 'yaml'
    ? readYamlInventory(file, text, graph)
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
 * Load an inventory file and the `group_vars/` and `host_vars/` folders beside it, and resolve
 * every host's variables with Ansible's precedence.
 */
export async function loadInventory(
  path: string,
  options: LoadInventoryOptions = {},
): Promise<Inventory> {
  const text = await readInventoryText(path);
  const format = options.format ?? detectInventoryFormat(path, text);
  const graph = new InventoryGraph();
  const problems = readInto(graph, path, text, format);
  if (problems.length > 0) refuse(problems);
  const base = dirname(path);
  for (const [kind, names] of [
    ['group', graph.groupNames()],
    ['host', graph.hostNames()],
  ] as const) {
    for (const name of names) {
      const files = await findVarsFiles(join(base, `${kind}_vars`), name);
      if (files.length === 0) continue;
      const read = await readVarsFiles(files);
      problems.push(...read.problems);
      graph.addDirVars(kind, name, read.vars, read.origins);
    }
  }
  if (problems.length > 0) refuse(problems);
  return graph.build([path]);
}

async function readInventoryText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    if ((await stat(path)).isDirectory()) {
      refuse([
        fileProblem(
          path,
          'inventory-is-folder',
          'this is a folder: give the inventory file itself (e.g. inventory/hosts.yaml)',
        ),
      ]);
    }
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
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
  // The one decoder of every opsbook file: UTF-16, NUL bytes and bad UTF-8 with their position.
  const decoded = decodeSourceText(path, bytes);
  if ('problem' in decoded) refuse([decoded.problem]);
  return decoded.text;
}
