import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Every file below `dir` (a state folder: journals, ledger, the local tracker's tickets). */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

/** Every `size`-character piece of `text`: what must not show of a secret anywhere. */
export function piecesOf(text: string, size: number): string[] {
  return Array.from({ length: text.length - size + 1 }, (_, i) => text.slice(i, i + size));
}
