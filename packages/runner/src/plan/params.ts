import { paramEnvName } from '@opsbook/exec';
import {
  didYouMean,
  type ParamSpec,
  type ParamValue,
  paramValueProblem,
  type Runbook,
  UsageError,
} from '@opsbook/schema';

export interface ResolvedParams {
  /** Every non-secret param with its value (given, or the default). */
  values: Record<string, ParamValue>;
  /** Names of the runbook's secret params; their values come from the environment at run time. */
  secretParams: string[];
}

/** Parse `--param name=value` arguments into typed values, by the param's declared type. */
export function parseParamArgs(args: readonly string[]): Map<string, string> {
  const given = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param '${arg}' must be name=value, e.g. --param days=7`);
    const name = arg.slice(0, eq);
    if (given.has(name))
      throw new UsageError(`--param ${name} is given twice: give each param once`);
    given.set(name, arg.slice(eq + 1));
  }
  return given;
}

/** How a value of each param type is written, for errors that say what to write. */
const writtenAs: Record<ParamSpec['type'], string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

/**
 * The text of a value (a `--param` value, an environment variable) as the param's declared type,
 * or undefined when the text is not of that type. The one reading of param text, so that a secret
 * param from the environment is typed exactly as `--param` types a plain one.
 */
function paramFromText(spec: ParamSpec, raw: string): ParamValue | undefined {
  switch (spec.type) {
    case 'integer':
      return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    case 'number':
      return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : undefined;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : undefined;
    default:
      return raw;
  }
}

function typed(name: string, spec: ParamSpec, raw: string): ParamValue {
  const value = paramFromText(spec, raw);
  if (value === undefined)
    throw new UsageError(`--param ${name}=${raw}: ${name} is ${writtenAs[spec.type]}`);
  return value;
}

/**
 * Where given values come from, and how its errors name them: the command line says `--param`,
 * an approval says it is the approval's value, so that no error names a flag nobody typed.
 */
interface ParamOrigin<V> {
  /** The value as the param's declared type, or a throw that says what to write. */
  typed(name: string, spec: ParamSpec, value: V): ParamValue;
  unknown(runbook: string, name: string, hint: string): string;
  secret(name: string): string;
  missing(name: string, spec: ParamSpec): string;
  refused(name: string, why: string): string;
}

const commandLine: ParamOrigin<string> = {
  typed,
  unknown: (runbook, name, hint) => `${runbook} has no param '${name}'${hint}`,
  secret: (name) =>
    `param ${name} is secret: do not pass it on the command line; set OPSBOOK_PARAM_${name.toUpperCase()} in the environment of opsbook run`,
  missing: (name, spec) =>
    `param ${name} is required: add --param ${name}=…${spec.description ? ` (${spec.description})` : ''}`,
  refused: (name, why) => `--param ${name}: the value ${why}`,
};

const REAPPROVE = 'plan the run again and ask for a new approval';

const approval: ParamOrigin<ParamValue> = {
  // Approved values are already typed (JSON); the param's rules check the type.
  typed: (_name, _spec, value) => value,
  unknown: (runbook, name) =>
    `the approval's param '${name}' is not a param of ${runbook}: ${REAPPROVE}`,
  secret: (name) =>
    `the approval gives a value for param ${name}, which is secret: secrets are never approved by value; ${REAPPROVE}`,
  missing: (name) => `the approval has no value for param ${name}, which is required: ${REAPPROVE}`,
  refused: (name, why) => `the approval's param ${name}: the value ${why}; ${REAPPROVE}`,
};

/**
 * Resolve the params of a run: every given value typed and checked against the param's own
 * rules, defaults filled in, required params present, unknown names refused. Secret params
 * are never accepted here: they come from the environment when the run starts, so that they
 * never land in a plan, an approval or a shell history.
 */
export function resolveParams(
  runbook: Runbook,
  given: ReadonlyMap<string, string>,
): ResolvedParams {
  return resolveFrom(runbook, given, commandLine);
}

/**
 * The params of an approved run, from the approval's typed values, by the same rules as
 * `resolveParams`; errors name the approval's param.
 */
export function resolveApprovedParams(
  runbook: Runbook,
  approved: Readonly<Record<string, ParamValue>>,
): ResolvedParams {
  return resolveFrom(runbook, new Map(Object.entries(approved)), approval);
}

/**
 * Values a composing step's `with:` gives. A value mapped from a param of the planned runbook
 * (`{{ params.log_dir }}`, through every level) is named by that param, which the engineer gives;
 * a literal of with: is the composing runbook's to fix.
 */
function composition(
  step: string,
  runbook: string,
  given: ReadonlyMap<string, ParamValue>,
  origins: ReadonlyMap<string, string>,
): ParamOrigin<ParamValue> {
  const fix = `fix the with: of step '${step}'`;
  return {
    typed: (_name, _spec, value) => value,
    unknown: (composed, name, hint) =>
      `step '${step}' gives ${composed} a param '${name}' it does not have${hint}: ${fix}`,
    secret: (name) =>
      `step '${step}' gives secret param ${name} of ${runbook} a plain value: map it from a secret param; ${fix}`,
    missing: (name) =>
      `step '${step}' gives no value to param ${name} of ${runbook}, which is required: ${fix}`,
    refused: (name, why) => {
      const origin = origins.get(name);
      if (origin === undefined)
        return `step '${step}' gives ${runbook}'s param ${name} a value it refuses: the value ${why}; ${fix}`;
      return `--param ${origin}=${String(given.get(name))}: step '${step}' passes it to ${runbook} as its param ${name}, where the value ${why}: give ${origin} a value ${runbook} accepts`;
    },
  };
}

/**
 * The params of a composed runbook, from the values its composing step gives (`step`: the path of
 * that step), by the same rules as `resolveParams`. `origins`: for a value mapped from a param of
 * the planned runbook, that param's name (errors name it).
 */
export function resolveComposedParams(
  runbook: Runbook,
  given: ReadonlyMap<string, ParamValue>,
  step: string,
  origins: ReadonlyMap<string, string> = new Map(),
): ResolvedParams {
  return resolveFrom(runbook, given, composition(step, runbook.metadata.name, given, origins));
}

function resolveFrom<V>(
  runbook: Runbook,
  given: ReadonlyMap<string, V>,
  origin: ParamOrigin<V>,
): ResolvedParams {
  const specs = runbook.spec.params ?? {};
  const names = Object.keys(specs);
  for (const name of given.keys()) {
    if (!specs[name]) {
      const guess = didYouMean(name, names);
      throw new UsageError(
        origin.unknown(
          runbook.metadata.name,
          name,
          guess
            ? `: did you mean '${guess}'?`
            : names.length
              ? ` (params: ${names.join(', ')})`
              : ' (it takes no params)',
        ),
      );
    }
  }
  const values: Record<string, ParamValue> = {};
  const secretParams: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.secret) {
      if (given.has(name)) throw new UsageError(origin.secret(name));
      secretParams.push(name);
      continue;
    }
    const raw = given.get(name);
    const value = raw !== undefined ? origin.typed(name, spec, raw) : spec.default;
    if (value === undefined) {
      // Declared optional with no default: left out (a script sees OPSBOOK_PARAM_<NAME> unset and
      // computes its own; a `{{ params.x }}` of it is refused where it is rendered).
      if (spec.required !== false) throw new UsageError(origin.missing(name, spec));
      continue;
    }
    const why = paramValueProblem(spec, value);
    if (why) throw new UsageError(origin.refused(name, why));
    values[name] = value;
  }
  return { values, secretParams: secretParams.sort() };
}

/**
 * `env` with the secret params it does not set asked for (`ask`: a person at a terminal, who types
 * them unseen), so that a value never has to be written on a command line, where the shell's
 * history keeps it. A param declared `required: false` is not asked for (left empty, it has a
 * meaning: see readSecretParams); nor is anything when `ask` is absent or answers nothing
 * (readSecretParams then refuses, saying how to set the variable).
 */
export async function askMissingSecrets(
  runbook: Runbook,
  names: readonly string[],
  env: NodeJS.ProcessEnv,
  ask: ((name: string, variable: string) => Promise<string | undefined>) | undefined,
): Promise<NodeJS.ProcessEnv> {
  if (!ask) return env;
  let asked = env;
  for (const name of names) {
    const variable = paramEnvName(name);
    if (env[variable] || runbook.spec.params?.[name]?.required === false) continue;
    const answer = await ask(name, variable);
    if (answer) asked = { ...asked, [variable]: answer };
  }
  return asked;
}

/**
 * The values of the secret params, read from `OPSBOOK_PARAM_<NAME>` when the run starts, typed as
 * `--param` types a plain param's value, and checked against the param's rules. Each comes back as
 * the text the step's environment gets: that of the typed value, as a plain param's (`1e3` is
 * `1000`). Missing ones are an error naming the variable, except for a param declared
 * `required: false`: unset or empty, it is the empty string (a database password left empty on
 * purpose, so that the client falls back to .pgpass or peer authentication).
 */
export function readSecretParams(
  runbook: Runbook,
  names: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const variable = paramEnvName(name);
    const text = env[variable];
    const spec = runbook.spec.params?.[name];
    if (text === undefined || text === '') {
      if (spec?.required === false) {
        out[name] = '';
        continue;
      }
      throw new UsageError(
        `secret param ${name} is not set: set ${variable} in the environment of opsbook run without writing the value on a command line, which the shell history keeps: read -rs ${variable} && export ${variable} (or run opsbook run on a terminal, which asks for it)`,
      );
    }
    const value = spec ? paramFromText(spec, text) : text;
    // Never repeat a secret's value, not even in an error: these name the variable and the rule.
    if (value === undefined) {
      const type = writtenAs[spec!.type];
      throw new UsageError(
        `secret param ${name} (from ${variable}) is not ${type}: set ${variable} to ${type} in the environment of opsbook run`,
      );
    }
    if (spec && paramValueProblem({ ...spec, secret: false }, value))
      throw new UsageError(
        `secret param ${name} (from ${variable}) does not satisfy the param's rules (range, pattern, length or allowed values): set ${variable} to a value they allow`,
      );
    out[name] = String(value);
  }
  return out;
}
