import { statSync } from 'node:fs';
import path from 'node:path';
import { type Config, isOpsbookError, type Problem, ValidationError } from '@opsbook/schema';

/*
 * A state folder setting that names a file is the configuration's mistake, not the disk's: the
 * errno (ENOTDIR) would only say "move that file", when the fix is nearly always the setting.
 */

/** The file at `dir` or at the nearest of its parents that exists, when that is a file. */
function fileOnPath(dir: string): string | undefined {
  for (let p = dir; ; p = path.dirname(p)) {
    try {
      return statSync(p).isDirectory() ? undefined : p;
    } catch {
      if (path.dirname(p) === p) return undefined;
    }
  }
}

/** A state folder that is a file: where it was chosen, what is wrong, and what to do. */
export interface StateDirNotFolder {
  /** opsbook.yaml's `stateDir` line (file:line:col), or the file where no setting chose it. */
  at: { file: string; line: number; col: number };
  says: string;
  fix: string;
}

/**
 * Where a files store's state folder is a file (or under one): the setting that chose it
 * (opsbook.yaml's `stateDir` at its line, or the default) and what to do.
 */
export function stateDirNotFolder(config: Config): StateDirNotFolder | undefined {
  if (config.state.kind !== 'files') return undefined;
  const file = fileOnPath(config.stateDir);
  if (!file) return undefined;
  const shown = (p: string) => path.relative(process.cwd(), p) || p;
  const isFile = file === config.stateDir ? 'which is a file' : `but ${shown(file)} is a file`;
  const named = config.raw.stateDir;
  if (named !== undefined && config.file)
    return {
      at: config.locate?.(['stateDir']) ?? { file: shown(config.file), line: 0, col: 0 },
      says: `stateDir, the state folder (journals, ledger, local tickets), is ${named}, ${isFile}`,
      fix: 'point stateDir at a folder (opsbook makes it if it is missing), or move that file away',
    };
  return {
    at: { file: shown(config.file ?? config.stateDir), line: 0, col: 0 },
    says: `the state folder is ${shown(config.stateDir)} (the default: ${config.file ? 'opsbook.yaml sets no stateDir' : 'there is no opsbook.yaml'}), ${isFile}`,
    fix: 'set stateDir in opsbook.yaml to a folder (opsbook makes it if it is missing), or move that file away',
  };
}

/** `e` as the state folder setting's mistake when it is a file-where-a-folder-should-be error. */
export function stateDirMistake(
  e: unknown,
  config: Config | undefined,
): ValidationError | undefined {
  if (!config) return undefined;
  const isNotADirectory = isOpsbookError(e)
    ? e.code === 'NOT_A_DIRECTORY'
    : (e as NodeJS.ErrnoException | undefined)?.code === 'ENOTDIR';
  if (!isNotADirectory) return undefined;
  const wrong = stateDirNotFolder(config);
  if (!wrong) return undefined;
  const problem: Problem = {
    ...wrong.at,
    rule: 'state-dir-not-folder',
    message: `${wrong.says}: ${wrong.fix}`,
  };
  return new ValidationError([problem]);
}
