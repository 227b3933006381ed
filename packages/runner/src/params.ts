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

function typed(name: string, spec: ParamSpec, raw: string): ParamValue {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const ok =
        spec.type === 'integer'
          ? /^-?\d+$/.test(raw)
          : /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw);
      if (!ok)
        throw new UsageError(
          `--param ${name}=${raw}: ${name} is ${spec.type === 'integer' ? 'an integer' : 'a number'}`,
        );
      return Number(raw);
    }
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new UsageError(`--param ${name}=${raw}: ${name} is true or false`);
    default:
      return raw;
  }
}

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
  const specs = runbook.spec.params ?? {};
  const names = Object.keys(specs);
  for (const name of given.keys()) {
    if (!specs[name]) {
      const guess = didYouMean(name, names);
      throw new UsageError(
        `${runbook.metadata.name} has no param '${name}'${guess ? `: did you mean '${guess}'?` : names.length ? ` (params: ${names.join(', ')})` : ' (it takes no params)'}`,
      );
    }
  }
  const values: Record<string, ParamValue> = {};
  const secretParams: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.secret) {
      if (given.has(name)) {
        throw new UsageError(
          `param ${name} is secret: do not pass it on the command line; set OPSBOOK_PARAM_${name.toUpperCase()} in the environment of opsbook run`,
        );
      }
      secretParams.push(name);
      continue;
    }
    const raw = given.get(name);
    const value = raw !== undefined ? typed(name, spec, raw) : spec.default;
    if (value === undefined) {
      if (spec.required || spec.default === undefined) {
        throw new UsageError(
          `param ${name} is required: add --param ${name}=…${spec.description ? ` (${spec.description})` : ''}`,
        );
      }
      continue;
    }
    const why = paramValueProblem(spec, value);
    if (why) throw new UsageError(`--param ${name}: the value ${why}`);
    values[name] = value;
  }
  return { values, secretParams: secretParams.sort() };
}

/**
 * The values of the secret params, read from `OPSBOOK_PARAM_<NAME>` when the run starts and
 * checked against the param's rules. Missing ones are an error naming the variable.
 */
export function readSecretParams(
  runbook: Runbook,
  names: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const variable = `OPSBOOK_PARAM_${name.toUpperCase()}`;
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new UsageError(
        `secret param ${name} is not set: export ${variable} in the environment of opsbook run`,
      );
    }
    const spec = runbook.spec.params?.[name];
    const why = spec ? paramValueProblem({ ...spec, secret: false }, value) : undefined;
    // Never repeat a secret's value, not even in an error.
    if (why)
      throw new UsageError(
        `secret param ${name} (from ${variable}) does not satisfy the param's rules (type, pattern, length or allowed values)`,
      );
    out[name] = value;
  }
  return out;
}
