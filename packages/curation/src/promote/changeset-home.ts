import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseYamlSource } from '@opsbook/schema';

/**
 * Where the changeset of a new runbook goes: the `.changeset/` of the pnpm workspace that owns
 * the runbook's folder (the nearest folder above it with a pnpm-workspace.yaml), when one of
 * that workspace's package globs takes the folder. Anywhere else changesets would refuse the
 * changeset ("Found changeset … for package … which is not in the workspace") and break
 * `changeset status` for everyone: no changeset is written there, and the reason says what to do.
 */

export type ChangesetHome =
  | { kind: 'workspace'; root: string; file: string }
  | { kind: 'none'; reason: string };

export async function findChangesetHome(
  runbookDir: string,
  name: string,
  shown: (file: string) => string,
): Promise<ChangesetHome> {
  const root = await workspaceAbove(runbookDir);
  const todo = `make ${shown(runbookDir)} a package of a workspace with changesets and run pnpm changeset there to give ${name} its first version`;
  if (!root)
    return {
      kind: 'none',
      reason: `no changeset was written: ${shown(runbookDir)} is in no pnpm workspace (no pnpm-workspace.yaml above it): ${todo}`,
    };
  const globs = await packageGlobs(root);
  const relative = path.relative(root, runbookDir).split(path.sep).join('/');
  if (!globs || !isPackage(relative, globs))
    return {
      kind: 'none',
      reason: `no changeset was written: ${shown(runbookDir)} is not a package of the pnpm workspace at ${shown(root)} (pnpm-workspace.yaml: ${globs?.join(', ') || 'no packages list'}): ${todo}`,
    };
  return { kind: 'workspace', root, file: path.join(root, '.changeset', `new-runbook-${name}.md`) };
}

async function workspaceAbove(dir: string): Promise<string | undefined> {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (await exists(path.join(at, 'pnpm-workspace.yaml'))) return at;
    if (path.dirname(at) === at) return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(
    () => true,
    () => false,
  );
}

/** The `packages:` globs of a pnpm-workspace.yaml, or undefined when it has none readable. */
async function packageGlobs(root: string): Promise<string[] | undefined> {
  const file = path.join(root, 'pnpm-workspace.yaml');
  const parsed = parseYamlSource(file, await readFile(file));
  const value = parsed.problems.length
    ? undefined
    : (parsed.value as { packages?: unknown } | null);
  const globs = value?.packages;
  return Array.isArray(globs) && globs.every((g) => typeof g === 'string') ? globs : undefined;
}

/** pnpm's globs as people write them: `*` within a folder name, `**` across folders, `!` out. */
function isPackage(relative: string, globs: readonly string[]): boolean {
  const matches = (glob: string) => globRegExp(glob).test(relative);
  return (
    globs.some((g) => !g.startsWith('!') && matches(g)) &&
    !globs.some((g) => g.startsWith('!') && matches(g.slice(1)))
  );
}

function globRegExp(glob: string): RegExp {
  const body = glob
    .replace(/^\.\//, '')
    .replace(/\/+$/, '')
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) =>
      part === '**/' || part === '**'
        ? '(?:.*/)?'
        : part === '*'
          ? '[^/]*'
          : part === '?'
            ? '[^/]'
            : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${body}$`);
}
