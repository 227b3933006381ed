import {
  type ParamValue,
  placeholderSpotProblem,
  type RunTemplatePlaceholder,
  runTemplateSkeleton,
  ValidationError,
} from '@opsbook/schema';
import { execErrors } from './error-codes.js';
import { type RenderInput, renderTemplate } from './render-template.js';
import { commandArgumentBytes, MAX_ARGUMENT_BYTES } from './shell-invocation.js';
import { quoteShellArg } from './shell-quote.js';

/** The environment variable that carries a param: `OPSBOOK_PARAM_<NAME>` (upper case). */
export function paramEnvName(name: string): string {
  return `OPSBOOK_PARAM_${name.toUpperCase()}`;
}

/**
 * Renders a `run:` template into shell text. Every substituted value is one quoted shell word
 * (`quoteShellArg`), so a value can never become code; a secret param becomes
 * `"$OPSBOOK_PARAM_<NAME>"`, so the rendered command (which is planned, signed, journaled and
 * visible in `ps`) never holds the secret: the transport delivers it as an environment variable.
 * An Ansible Vault encrypted host var is delivered the same way, as `"$OPSBOOK_VAULT_<name>"`.
 */
export function renderRunTemplate(template: string, input: RunTemplateInput): string {
  const source = input.source ?? 'run template';
  const { vaulted } = input;
  const command = renderTemplate(
    template,
    { ...input, source },
    {
      value: (text, raw) => quoteShellArg(text, `${source} ${raw}`),
      secret: (name) => `"$${paramEnvName(name)}"`,
      refuse: (offset, text) => spotProblem(spotsOf(template).get(offset), text),
      ...(vaulted
        ? {
            vaulted: (name: string, value: string, raw: string) => {
              quoteShellArg(value, `${source} ${raw}`); // refuses what no environment can hold
              vaulted(name, value);
              return `"$${vaultEnvName(name)}"`;
            },
          }
        : {}),
    },
  );
  refuseTooLong(command, input, source);
  return command;
}

/**
 * Refuses a command no host can start (an inventory's long host var, long params side by side):
 * at plan time, by its file:line, rather than on the host after the steps before it ran. The
 * value is not repeated: the sizes say what to shorten.
 */
function refuseTooLong(command: string, input: RunTemplateInput, source: string): void {
  const bytes = commandArgumentBytes(command);
  if (bytes <= MAX_ARGUMENT_BYTES) return;
  const at = input.located?.();
  const message = `the command for host '${input.host.name}' is ${bytes.toLocaleString('en-US')} bytes as the host starts it, and Linux starts no command with an argument longer than ${MAX_ARGUMENT_BYTES.toLocaleString('en-US')} bytes (it fails with "Argument list too long"): shorten the params or host vars it substitutes, or split the work into several steps`;
  throw new execErrors.ValidationError(
    [
      at
        ? {
            file: at.file,
            line: at.line,
            col: at.col,
            message: `${at.what}: ${message}`,
            rule: 'command-too-long',
          }
        : { file: source, line: 0, col: 0, message, rule: 'command-too-long' },
    ],
    'TEMPLATE_INVALID',
  );
}

/**
 * Why a value may not go where its placeholder is: a spot `opsbook validate` refuses (checked
 * again here, for a template that was never validated), or a comment, which a line break in the
 * value would end: the rest of the value would be a command.
 */
function spotProblem(spot: RunTemplatePlaceholder | undefined, text: string): string | undefined {
  if (!spot) return undefined;
  if (spot.context === 'comment')
    return text.includes('\n')
      ? 'is in a shell comment, and its value has a line break, which ends the comment: the rest of the value would run as a command; take the placeholder out of the comment'
      : undefined;
  return placeholderSpotProblem(spot, false);
}

/** Each run: template's placeholders by template offset, for the templates seen last. */
const spotsByTemplate = new Map<string, Map<number, RunTemplatePlaceholder>>();
const SPOTS_KEPT = 256;

function spotsOf(template: string): Map<number, RunTemplatePlaceholder> {
  let spots = spotsByTemplate.get(template);
  if (!spots) {
    spots = new Map(runTemplateSkeleton(template).placeholders.map((p) => [p.start, p]));
    if (spotsByTemplate.size >= SPOTS_KEPT) spotsByTemplate.clear();
    spotsByTemplate.set(template, spots);
  }
  return spots;
}

/** renderRunTemplate's input: what a template may name, and where vaulted host vars go. */
export interface RunTemplateInput extends RenderInput {
  /**
   * Called with each Ansible Vault encrypted host var the template names, and its value: the
   * command gets `"$OPSBOOK_VAULT_<name>"` instead of the value, and the caller binds the value
   * (a fingerprint in the plan) and passes it in the environment. Absent: such a var is refused.
   */
  vaulted?(name: string, value: string): void;
}

/**
 * The environment variable that carries an Ansible Vault encrypted host var to a `run:` command:
 * `OPSBOOK_VAULT_<name>`, the name as the inventory writes it (case kept: no two collide).
 */
export function vaultEnvName(name: string): string {
  return `OPSBOOK_VAULT_${name}`;
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
