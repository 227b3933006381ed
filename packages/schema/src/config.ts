import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { FromSchema } from 'json-schema-to-ts';
import { configSchema } from './config-schema.js';
import { UsageError, ValidationError } from './errors.js';
import { validateConfig } from './generated/validators.js';
import type { FolderNamedAt } from './load-runbook.js';
import { schemaProblems, type Validator } from './schema-problems.js';
import { type PathSegment, parseYamlSource } from './yaml-source.js';

export const CONFIG_FILE = 'opsbook.yaml';

/** The alert convergence rules, beside opsbook.yaml (@opsbook/alerts reads them). */
export const ALERT_RULES_FILE = 'alerts.yaml';

export { configSchema };
export type ConfigFile = FromSchema<typeof configSchema>;

/** The configuration with every path resolved against the folder of opsbook.yaml. */
export interface Config {
  /** Folder holding opsbook.yaml (the repository root); the cwd when there is none. */
  root: string;
  /** The config file, when one was found. */
  file?: string | undefined;
  runbooksDir: string;
  /** Where opsbook.yaml names `runbooksDir`; absent for the default, `runbooks`. */
  runbooksNamedAt?: FolderNamedAt | undefined;
  stateDir: string;
  inventory?: string | undefined;
  trustStore: string;
  knownHosts: string;
  /**
   * The machine's trust pin folder. Never read from opsbook.yaml (whoever runs can write that):
   * /etc/opsbook/trust, or OPSBOOK_TRUST_DIR, and then only if the runner cannot change it.
   */
  trustPinDir: string;
  /** Where runs live: the files under stateDir, or a PostgreSQL database the team shares. */
  state: StateConfig;
  raw: ConfigFile;
  /**
   * Where a key's value is written in opsbook.yaml (e.g. ['schedules', 'daily', 'runbook']), as
   * a message names it: worked out only when asked (a strict parse). Absent without a file.
   */
  locate?: ((path: readonly PathSegment[]) => ConfigPosition) | undefined;
}

/** A place in opsbook.yaml, as a problem names it (file:line:col). */
export interface ConfigPosition {
  file: string;
  line: number;
  col: number;
}

export type StateConfig =
  | { kind: 'files' }
  /** `url` is a libpq connection url; absent, libpq's PG* variables decide. */
  | { kind: 'postgres'; url?: string | undefined };

/**
 * The state backend: OPSBOOK_DATABASE_URL (a PostgreSQL url) wins, then opsbook.yaml's `state`,
 * then the files under stateDir.
 */
export function stateConfigOf(
  raw: ConfigFile,
  env: NodeJS.ProcessEnv,
  locate?: (path: readonly PathSegment[]) => ConfigPosition,
): StateConfig {
  const url = env.OPSBOOK_DATABASE_URL;
  if (url) {
    // Checked like state.url in opsbook.yaml: anything else would reach libpq's defaults
    // (localhost:5432) and fail with a message about a server nobody named.
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new UsageError(
        'OPSBOOK_DATABASE_URL is not a PostgreSQL url: write postgres://user@host:5432/database (the password in PGPASSWORD or ~/.pgpass), or unset it to use the files under stateDir',
      );
    if (!readsAsOneUrl(url))
      throw new UsageError(
        `OPSBOOK_DATABASE_URL ${CUT_SHORT}, or unset it to use the files under stateDir`,
      );
    return { kind: 'postgres', url };
  }
  if (raw.state?.kind === 'postgres') {
    const yamlUrl = raw.state.url;
    if (yamlUrl !== undefined && !readsAsOneUrl(yamlUrl)) {
      const at = locate?.(['state', 'url']);
      throw ValidationError.single(
        at?.file ?? CONFIG_FILE,
        `state.url ${CUT_SHORT}`,
        'state-url',
        at?.line ?? 0,
        at?.col ?? 0,
      );
    }
    if (yamlUrl !== undefined && holdsPassword(yamlUrl)) {
      const at = locate?.(['state', 'url']);
      throw ValidationError.single(
        at?.file ?? CONFIG_FILE,
        PASSWORD_IN_CONFIG,
        'state-url-password',
        at?.line ?? 0,
        at?.col ?? 0,
      );
    }
    return { kind: 'postgres', url: yamlUrl };
  }
  return { kind: 'files' };
}

const PASSWORD_IN_CONFIG =
  'state.url holds a password, and opsbook.yaml is committed with the repository: everyone who can read it can log in to the state store. Take the password out of the url (postgres://user@host:port/database) and give it in the environment of opsbook instead: PGPASSWORD, a line host:port:database:user:password in ~/.pgpass (mode 0600), or the whole url in OPSBOOK_DATABASE_URL; then change the password, since the repository history keeps it';

/**
 * Whether a PostgreSQL url carries a password: in its user part, or as the `password` query
 * parameter, which node-postgres (and libpq) read as well.
 */
function holdsPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || parsed.searchParams.has('password');
  } catch {
    return false; // readsAsOneUrl refused it already
  }
}

const CUT_SHORT =
  'does not read as one postgres://user:password@host:port/database: a character of its password (or user) ends the host part early, and the driver would take part of the password for a host and name it. Percent-encode the password (@ as %40, / as %2F, ? as %3F, # as %23: encodeURIComponent does it), or leave it out of the url and set PGPASSWORD or a line of ~/.pgpass';

/**
 * False for a PostgreSQL url that does not parse, or that has an `@` after its host part. A `/`,
 * `?` or `#` in the password ends the host part where it stands (the url parser, and so the
 * driver, take the last `@` before it as the end of the user part): what follows holds the rest
 * of the password and the real `user@host`. An `@` meant after the host (a query value) is written
 * %40. The url itself is never repeated in a message.
 */
function readsAsOneUrl(url: string): boolean {
  try {
    new URL(url);
  } catch {
    return false;
  }
  const rest = url.slice(url.indexOf('//') + 2);
  const hostEnd = rest.search(/[/?#]/);
  return hostEnd < 0 || !rest.slice(hostEnd).includes('@');
}

/**
 * Where `opsbook trust init` pins approvers.yaml on a machine (not in stateDir, which the engineer
 * controls: root README, threat model).
 */
export const MACHINE_TRUST_DIR = '/etc/opsbook/trust';

/**
 * The trust pin folder of this process: OPSBOOK_TRUST_DIR (a container or a test harness that
 * keeps its pin elsewhere) or /etc/opsbook/trust. The approval package refuses a pin the person
 * who runs could change, wherever it is, so the variable cannot widen trust.
 */
export function trustPinDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.OPSBOOK_TRUST_DIR;
  return dir ? path.resolve(dir) : MACHINE_TRUST_DIR;
}

/** Walk up from `start` to the first folder holding opsbook.yaml. */
export async function findConfigFile(start: string): Promise<string | undefined> {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE);
    try {
      // Read, not stat: an unreadable opsbook.yaml is passed over. Synchronously, at a command's
      // start: no fs/promises for a command that needs nothing else of it.
      readFileSync(candidate);
      return candidate;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
}

/** Load opsbook.yaml (explicit `file`, or found by walking up from `cwd`); defaults when none. */
export async function loadConfig(
  options: {
    cwd?: string | undefined;
    file?: string | undefined;
    env?: NodeJS.ProcessEnv | undefined;
  } = {},
): Promise<Config> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? path.resolve(cwd, options.file) : await findConfigFile(cwd);
  let raw: ConfigFile = { apiVersion: 'opsbook/v1', kind: 'Config' };
  let runbooksNamedAt: FolderNamedAt | undefined;
  let locate: Config['locate'];
  if (file) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw ValidationError.single(
        shownPath(cwd, file),
        `cannot read the config file (${(e as NodeJS.ErrnoException).code}): check the --config path`,
        'missing-file',
      );
    }
    const source = parseYamlSource(shownPath(cwd, file), bytes);
    if (source.problems.length) throw new ValidationError(source.problems);
    const validate = validateConfig as unknown as Validator<ConfigFile>;
    if (!validate(source.value)) throw new ValidationError(schemaProblems(source, validate.errors));
    raw = source.value;
    if (raw.runbooks !== undefined)
      runbooksNamedAt = {
        file: source.file,
        value: raw.runbooks,
        // Not now: positions need the strict parse, which every command would pay for.
        locate: () => source.locate(['runbooks']),
      };
    locate = (at) => ({ file: source.file, ...source.locate(at) });
  }
  const root = file ? path.dirname(file) : cwd;
  const at = (p: string) => path.resolve(root, expandHome(p));
  return {
    root,
    file,
    runbooksDir: at(raw.runbooks ?? 'runbooks'),
    runbooksNamedAt,
    stateDir: at(raw.stateDir ?? '.opsbook'),
    inventory: raw.inventory ? at(raw.inventory) : undefined,
    trustStore: at(raw.trustStore ?? 'approvers.yaml'),
    knownHosts: at(raw.knownHosts ?? '~/.ssh/known_hosts'),
    trustPinDir: trustPinDir(options.env),
    state: stateConfigOf(raw, options.env ?? process.env, locate),
    raw,
    ...(locate ? { locate } : {}),
  };
}

/**
 * A file as a message names it: relative to the working folder when it is inside it, else the
 * absolute path (`../../etc/opsbook.yaml` is harder to read than the path the user typed).
 */
function shownPath(cwd: string, file: string): string {
  const rel = path.relative(cwd, file);
  return rel && rel.split(path.sep)[0] !== '..' && !path.isAbsolute(rel) ? rel : file;
}
