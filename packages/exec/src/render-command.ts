import { type ParamValue, type Problem, parseTemplate, ValidationError } from '@opsbook/schema';
import { quoteShellArg } from './shell-quote.js';

/** What a `run:` template may name (DESIGN §3). */
export interface RenderInput {
  params: Readonly<Record<string, ParamValue>>;
  /** Names of secret params: rendered as a reference to their environment variable, never as the value. */
  secretParams?: Iterable<string>;
  host: { name: string; vars: Readonly<Record<string, unknown>> };
  /** Where the template comes from (e.g. `runbook.yaml steps.restart.run`), for problems. */
  source?: string;
}

/** The environment variable that carries a param: `OPSBOOK_PARAM_<NAME>` (upper case). */
export function paramEnvName(name: string): string {
  return `OPSBOOK_PARAM_${name.toUpperCase()}`;
}

/**
 * Renders a `run:` template into shell text. Every substituted value is one quoted shell word
 * (`quoteShellArg`), so a value can never become code; a secret param becomes
 * `"$OPSBOOK_PARAM_<NAME>"`, so the rendered command (which is planned, signed, journaled and
 * visible in `ps`) never holds the secret: the transport delivers it as an environment variable.
 */
export function renderRunTemplate(template: string, input: RenderInput): string {
  const source = input.source ?? 'run template';
  const parsed = parseTemplate(template);
  const problems: Problem[] = parsed.errors.map((e) =>
    problemAt(source, e.offset, e.message, 'template'),
  );
  const secrets = new Set(input.secretParams ?? []);
  let out = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const ref = part.ref;
    if (ref.kind === 'param' && secrets.has(ref.name)) {
      out += `"$${paramEnvName(ref.name)}"`;
      continue;
    }
    const value = lookUp(ref, input);
    if ('problem' in value) {
      problems.push(problemAt(source, part.offset, value.problem, 'template-value'));
      continue;
    }
    try {
      out += quoteShellArg(value.text, `${source} ${part.raw}`);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new ValidationError(problems, 'TEMPLATE_INVALID');
  return out;
}

/**
 * The environment that carries params to a command: `OPSBOOK_PARAM_<NAME>=<value>` for each one.
 * Used for `script:` steps (params are never interpolated into scripts) and for the secret params
 * of `run:` steps. Refuses values no environment can hold and names that collide once upper-cased.
 */
export function paramEnv(params: Readonly<Record<string, ParamValue>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const key = paramEnvName(name);
    if (key in env) {
      throw ValidationError.single(
        `param ${name}`,
        `collides with another param as environment variable ${key}: rename one of them`,
        'param-env-collision',
      );
    }
    const text = String(value);
    quoteShellArg(text, `param ${name}`); // refuses NUL bytes and lone surrogates
    env[key] = text;
  }
  return env;
}

function lookUp(
  ref: { kind: 'param'; name: string } | { kind: 'host-name' } | { kind: 'host-var'; name: string },
  input: RenderInput,
): { text: string } | { problem: string } {
  if (ref.kind === 'host-name') return { text: input.host.name };
  if (ref.kind === 'param') {
    if (!Object.hasOwn(input.params, ref.name)) {
      return { problem: `param '${ref.name}' has no value: declare it with a default or pass it` };
    }
    return { text: String(input.params[ref.name]) };
  }
  if (!Object.hasOwn(input.host.vars, ref.name)) {
    return {
      problem: `host '${input.host.name}' has no variable '${ref.name}': define it in the inventory`,
    };
  }
  const value = input.host.vars[ref.name];
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return { text: String(value) };
  }
  return {
    problem: `host variable '${ref.name}' of '${input.host.name}' is not a string, number or boolean: templates substitute scalars only`,
  };
}

function problemAt(file: string, offset: number, message: string, rule: string): Problem {
  // Templates come from YAML scalars whose own position the caller knows; the character offset
  // inside the template is the best location we have here.
  return { file, line: 0, col: 0, message: `${message} (at character ${offset + 1})`, rule };
}
