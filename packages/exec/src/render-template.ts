import {
  type ParamValue,
  type Problem,
  parseTemplate,
  type TemplateRef,
  ValidationError,
} from '@opsbook/schema';
import { execErrors } from './error-codes.js';

/** What a template may name (root README, Writing a runbook: templates are values, never code). */
export interface RenderInput {
  params: Readonly<Record<string, ParamValue>>;
  /** Names of secret params: their values are never substituted (see `TemplateEncoding.secret`). */
  secretParams?: Iterable<string>;
  host: {
    name: string;
    vars: Readonly<Record<string, unknown>>;
    /** The variable was Ansible Vault encrypted (its value is never shown: `TemplateEncoding.vaulted`). */
    isVaulted?(name: string): boolean;
  };
  /** Where the template comes from (e.g. `runbook.yaml steps.restart.run`), for problems. */
  source?: string;
  /**
   * Where the template's YAML scalar starts, asked only when there is a problem: problems then
   * name that file:line:col and `what` (`steps.restart.run`) instead of `source`.
   */
  located?(): TemplateLocation;
}

export interface TemplateLocation {
  file: string;
  line: number;
  col: number;
  what: string;
}

/**
 * How substituted values become text: a `run:` quotes each as one shell word, a `with:` keeps
 * it as it is (actions get data, not shell text). Looking the values up, and refusing what is
 * missing, is the same for both: `renderTemplate`.
 */
export interface TemplateEncoding {
  /** The text for a value; throws ValidationError to refuse it (listed with the other problems). */
  value(text: string, raw: string): string;
  /** The text for a secret param, whose value is never substituted; a throw stops rendering. */
  secret(name: string): string;
  /**
   * The text for a host var that was Ansible Vault encrypted, whose value is never substituted
   * (a `run:` names an environment variable that carries it); throws ValidationError to refuse
   * it. Absent: such a var is refused, since the text it would make is shown and signed.
   */
  vaulted?(name: string, value: string, raw: string): string;
  /**
   * Why `text` may not be substituted at template offset `offset` (a placeholder's spot in a
   * shell command), or undefined; the problem is listed with the others.
   */
  refuse?(offset: number, text: string): string | undefined;
}

/**
 * Renders a template: params, the host name and host vars looked up by one set of rules (a
 * missing param or host var, or a host var that is not a scalar, is a problem, never an empty
 * string), every problem listed in one ValidationError TEMPLATE_INVALID.
 */
export function renderTemplate(
  template: string,
  input: RenderInput,
  encoding: TemplateEncoding,
): string {
  const source = input.source ?? 'template';
  const parsed = parsedTemplate(template);
  const problems: Problem[] = parsed.errors.map((e) =>
    problemAt(input, source, e.offset, e.message, 'template'),
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
      out += encoding.secret(ref.name);
      continue;
    }
    const value = lookUp(ref, input);
    if ('problem' in value) {
      problems.push(problemAt(input, source, part.offset, value.problem, 'template-value'));
      continue;
    }
    const isVaulted = ref.kind === 'host-var' && input.host.isVaulted?.(ref.name) === true;
    // A vaulted value is never substituted (an environment variable is): only its spot counts.
    const refused = encoding.refuse?.(part.offset, isVaulted ? '' : value.text);
    if (refused) {
      problems.push(
        problemAt(input, source, part.offset, `${part.raw} ${refused}`, 'template-quoting'),
      );
      continue;
    }
    try {
      if (!isVaulted) out += encoding.value(value.text, part.raw);
      else if (encoding.vaulted) out += encoding.vaulted(ref.name, value.text, part.raw);
      else
        problems.push(
          problemAt(
            input,
            source,
            part.offset,
            `host variable '${ref.name}' of '${input.host.name}' is Ansible Vault encrypted: here its value would be shown in the plan; use it in a run: command, which gets it in an environment variable, masked`,
            'template-vaulted',
          ),
        );
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length > 0) throw new execErrors.ValidationError(problems, 'TEMPLATE_INVALID');
  return out;
}

/**
 * parseTemplate's result, kept for the templates seen last: a plan renders each step's template
 * once per host, the same text for every host. The parse is pure and its result only read.
 */
const parsedTemplates = new Map<string, ReturnType<typeof parseTemplate>>();
const PARSED_TEMPLATES_KEPT = 256;

function parsedTemplate(template: string): ReturnType<typeof parseTemplate> {
  let parsed = parsedTemplates.get(template);
  if (!parsed) {
    parsed = parseTemplate(template);
    if (parsedTemplates.size >= PARSED_TEMPLATES_KEPT) parsedTemplates.clear();
    parsedTemplates.set(template, parsed);
  }
  return parsed;
}

function lookUp(ref: TemplateRef, input: RenderInput): { text: string } | { problem: string } {
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

function problemAt(
  input: Pick<RenderInput, 'located'>,
  file: string,
  offset: number,
  message: string,
  rule: string,
): Problem {
  // The scalar's own position is the caller's (`located`); the character offset inside the
  // template says where in it.
  const at = input.located?.();
  if (at)
    return {
      file: at.file,
      line: at.line,
      col: at.col,
      message: `${at.what}: ${message} (at character ${offset + 1} of it)`,
      rule,
    };
  return { file, line: 0, col: 0, message: `${message} (at character ${offset + 1})`, rule };
}
