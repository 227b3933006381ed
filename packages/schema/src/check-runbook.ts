import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkComposeStep } from './check-compose-step.js';
import { checkScriptText } from './check-runbook-text.js';
import { parseComposeRef } from './compose-ref.js';
import { isUndigested } from './digest.js';
import { type FolderWords, folderPathProblem } from './folder-path.js';
import type { Problem } from './problem.js';
import { placeholderSpotProblem, runTemplateSkeleton } from './run-template.js';
import { type ParamSpec, phases, type Runbook, type Step } from './runbook-schema.js';
import { scalarOffsets } from './scalar-offsets.js';
import { compileSchema, didYouMean, schemaProblems, type Validator } from './schema-problems.js';
import { positionAt } from './source-text.js';
import { type ParsedTemplate, parseTemplate, templateStrings } from './template.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

/** A built-in action as the runner's registry describes it to the validator. */
export interface ActionSpec {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the step's `with:` mapping. */
  withSchema: object;
  /**
   * The validator of `withSchema` compiled ahead of time, when the action has one: validation then
   * never loads ajv's compiler. Without it the schema is compiled on first use.
   */
  loadValidator?: () => Promise<Validator>;
}

/** One validator per action for the whole process, however many steps and runbooks use it. */
const actionValidators = new WeakMap<ActionSpec, Promise<Validator>>();
/** The same validators once loaded, so that later steps check `with:` without awaiting. */
const loadedValidators = new WeakMap<ActionSpec, Validator>();

function validatorOf(action: ActionSpec): Validator | Promise<Validator> {
  const loaded = loadedValidators.get(action);
  if (loaded) return loaded;
  let validator = actionValidators.get(action);
  if (!validator) {
    validator = (action.loadValidator?.() ?? compileSchema(action.withSchema)).then((v) => {
      loadedValidators.set(action, v);
      return v;
    });
    actionValidators.set(action, validator);
  }
  return validator;
}

export interface CheckContext {
  source: YamlSource;
  runbook: Runbook;
  dir: string;
  actions: ReadonlyMap<string, ActionSpec>;
  /**
   * The regular files of `dir` as walkBundle listed them, when the caller walked it: a script
   * among them is known to be a file inside the folder with no symlink on the way.
   */
  files?: ReadonlySet<string>;
}

/**
 * Checks that JSON Schema cannot express. Runs only on a runbook that passed the schema.
 * Index loops and one shared `problems` array on purpose: validate runs this cold for every
 * runbook of a repository, where each iterator, spread and promise per step shows in start-up.
 */
export async function checkRunbookSemantics(ctx: CheckContext): Promise<Problem[]> {
  const problems: Problem[] = [];
  const { source, runbook } = ctx;
  const at = (p: PathSegment[], which: 'key' | 'value' = 'value') => ({
    file: source.file,
    ...source.locate(p, which),
  });
  const params = runbook.spec.params ?? {};

  for (const [name, spec] of Object.entries(params)) {
    problems.push(...checkParam(name, spec, (p, w) => at(['spec', 'params', name, ...p], w)));
  }

  const firstUse = new Map<string, PathSegment[]>();
  for (const phase of phases) {
    const steps = runbook.spec[phase];
    if (!steps) continue;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const stepPath: PathSegment[] = ['spec', phase, i];
      const earlier = firstUse.get(step.id);
      if (earlier) {
        const first = source.locate([...earlier, 'id']);
        problems.push({
          ...at([...stepPath, 'id']),
          rule: 'duplicate-step-id',
          message: `step id '${step.id}' is already used at line ${first.line}: step ids must be unique across the runbook`,
        });
      } else {
        firstUse.set(step.id, stepPath);
      }
      checkStep(ctx, step, stepPath, params, problems);
      const composed = parseComposeRef(step.uses);
      if (composed) checkComposeStep(ctx, step, composed, phase, stepPath, problems);
      else if (step.uses !== undefined) {
        const action = ctx.actions.get(step.uses);
        if (!action) problems.push(unknownAction(ctx, step.uses, stepPath));
        else {
          const v = validatorOf(action);
          checkWith(ctx, typeof v === 'function' ? v : await v, step, stepPath, problems);
        }
      }
    }
  }
  return problems;
}

function checkParam(
  name: string,
  spec: ParamSpec,
  at: (p: PathSegment[], which?: 'key' | 'value') => { file: string; line: number; col: number },
): Problem[] {
  const problems: Problem[] = [];
  if (spec.pattern !== undefined) {
    try {
      new RegExp(spec.pattern, 'u');
    } catch (e) {
      problems.push({
        ...at(['pattern']),
        rule: 'bad-regex',
        message: `param '${name}' pattern is not a valid regular expression (${(e as Error).message}): fix the pattern`,
      });
      return problems;
    }
  }
  if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum) {
    problems.push({
      ...at(['minimum']),
      rule: 'bad-range',
      message: `param '${name}' has minimum ${spec.minimum} above maximum ${spec.maximum}: swap or fix them`,
    });
  }
  if (spec.secret && spec.default !== undefined) {
    problems.push({
      ...at(['default']),
      rule: 'secret-default',
      message: `secret param '${name}' must not have a default: secrets come from the environment or a prompt, never from the runbook`,
    });
  }
  if (spec.default !== undefined && !spec.secret) {
    const why = paramValueProblem(spec, spec.default);
    if (why) {
      problems.push({
        ...at(['default']),
        rule: 'bad-default',
        message: `default of param '${name}' ${why}: ${
          // YAML reads 1.10, 0777, yes or 2024-01-01 unquoted as a number or a boolean.
          spec.type === 'string' && typeof spec.default !== 'string'
            ? `YAML reads it unquoted as a ${typeof spec.default === 'boolean' ? 'boolean' : 'number'}: quote it as written (default: "…")`
            : "change the default or the param's rules"
        }`,
      });
    }
  }
  if (spec.enum) {
    for (const [i, v] of spec.enum.entries()) {
      const { enum: _all, ...rules } = spec;
      const why = paramValueProblem(rules, v);
      if (why) {
        problems.push({
          ...at(['enum', i]),
          rule: 'bad-enum',
          message: `enum value of param '${name}' ${why}`,
        });
      }
    }
  }
  return problems;
}

/**
 * Why `value` does not satisfy the param's own rules, or undefined when it does. The one
 * definition of a valid param value: used for defaults here and for `--param` at plan time.
 */
export function paramValueProblem(spec: ParamSpec, value: unknown): string | undefined {
  // Only a problem's message shows the value: no JSON text for every valid default.
  const show = () => JSON.stringify(value);
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return `is ${show()}, not a string`;
      if (value.includes('\u0000')) return 'contains a NUL byte, which no command can receive';
      if (spec.minLength !== undefined && value.length < spec.minLength)
        return `is shorter than ${spec.minLength} characters`;
      if (spec.maxLength !== undefined && value.length > spec.maxLength)
        return `is longer than ${spec.maxLength} characters`;
      if (spec.pattern !== undefined && !new RegExp(spec.pattern, 'u').test(value))
        return `${show()} does not match the pattern ${spec.pattern}`;
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value))
        return `is ${show()}, not ${spec.type === 'integer' ? 'an integer' : 'a number'}`;
      if (spec.type === 'integer' && !Number.isInteger(value))
        return `is ${show()}, not an integer`;
      if (spec.minimum !== undefined && value < spec.minimum)
        return `is ${value}, below the minimum ${spec.minimum}`;
      if (spec.maximum !== undefined && value > spec.maximum)
        return `is ${value}, above the maximum ${spec.maximum}`;
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return `is ${show()}, not true or false`;
      break;
  }
  if (spec.enum && !spec.enum.includes(value as string | number | boolean))
    return `is ${show()}, not one of ${spec.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  return undefined;
}

/** The checks of one step that need no action validator; problems are added to `problems`. */
function checkStep(
  ctx: CheckContext,
  step: Step,
  stepPath: PathSegment[],
  params: Record<string, ParamSpec>,
  problems: Problem[],
): void {
  const { source } = ctx;
  const at = (p: PathSegment[], which: 'key' | 'value' = 'value') => ({
    file: source.file,
    ...source.locate([...stepPath, ...p], which),
  });
  const kindCount =
    Number(step.run !== undefined) +
    Number(step.script !== undefined) +
    Number(step.uses !== undefined);
  if (kindCount !== 1) {
    const kinds = (['run', 'script', 'uses'] as const).filter((k) => step[k] !== undefined);
    problems.push({
      ...at(kinds.length ? [kinds[1] ?? kinds[0]!] : ['id'], kinds.length ? 'key' : 'value'),
      rule: 'step-kind',
      message:
        kinds.length === 0
          ? `step '${step.id}' does nothing: give it exactly one of run:, script: or uses:`
          : `step '${step.id}' has both ${kinds.join(' and ')}: keep exactly one of run:, script: or uses:`,
    });
  }
  if (step.with !== undefined && step.uses === undefined) {
    problems.push({
      ...at(['with'], 'key'),
      rule: 'with-without-uses',
      message: `step '${step.id}' has with: but no uses: — with: passes inputs to a built-in action or a composed runbook only`,
    });
  }
  if (step.args !== undefined && step.script === undefined) {
    problems.push({
      ...at(['args'], 'key'),
      rule: 'args-without-script',
      message: `step '${step.id}' has args: but no script: — args: are passed to a script only`,
    });
  }
  if (step.expect !== undefined) {
    for (const stream of ['stdout', 'stderr'] as const) {
      const pattern = step.expect[stream];
      if (pattern === undefined) continue;
      try {
        new RegExp(pattern, 'u');
      } catch (e) {
        problems.push({
          ...at(['expect', stream]),
          rule: 'bad-regex',
          message: `expect.${stream} of step '${step.id}' is not a valid regular expression (${(e as Error).message})`,
        });
      }
    }
  }
  if (step.run !== undefined) {
    const parsed = parseTemplate(step.run);
    problems.push(...checkTemplate(step.run, params, () => at(['run']), parsed));
    if (parsed.parts.some((p) => p.kind === 'ref'))
      problems.push(
        ...placeholderSpotProblems(source, step.run, params, [...stepPath, 'run'], parsed),
      );
  }
  if (step.with !== undefined) {
    for (const t of templateStrings(step.with)) {
      problems.push(...checkTemplate(t.text, params, () => at(['with', ...t.path])));
    }
  }
}

/** `where` is called only when there is a problem: positions cost a second, strict parse. */
function checkTemplate(
  text: string,
  params: Record<string, ParamSpec>,
  where: () => { file: string; line: number; col: number },
  parsed: ParsedTemplate = parseTemplate(text),
): Problem[] {
  const problems: Problem[] = parsed.errors.map((e) => ({
    ...where(),
    rule: 'bad-template',
    message: e.message,
  }));
  for (const part of parsed.parts) {
    if (part.kind !== 'ref' || part.ref.kind !== 'param') continue;
    const name = part.ref.name;
    if (params[name]) continue;
    const guess = didYouMean(name, Object.keys(params));
    problems.push({
      ...where(),
      rule: 'undeclared-param',
      message: `template '${part.raw}' names param '${name}', which is not declared under spec.params: ${guess ? `did you mean '${guess}'?` : 'declare it or fix the name'}`,
    });
  }
  return problems;
}

/**
 * A placeholder where the shell does not read the quoted word opsbook substitutes (inside quotes,
 * a here-document, $(( )), backquotes, after a `\` or `$`): there a value can become a command.
 */
function placeholderSpotProblems(
  source: YamlSource,
  run: string,
  params: Record<string, ParamSpec>,
  runPath: PathSegment[],
  parsed: ParsedTemplate,
): Problem[] {
  const problems: Problem[] = [];
  let toSource: ((offset: number) => number) | undefined;
  for (const p of runTemplateSkeleton(run, parsed).placeholders) {
    const isSecret = p.ref.kind === 'param' && params[p.ref.name]?.secret === true;
    const why = placeholderSpotProblem(p, isSecret);
    if (!why) continue;
    const span = source.span(runPath);
    toSource ??= span ? scalarOffsets(source.text, span, run) : undefined;
    problems.push({
      file: source.file,
      ...(toSource ? positionAt(source.text, toSource(p.start)) : source.locate(runPath)),
      rule: 'template-quoting',
      message: `${p.raw} ${why}`,
    });
  }
  return problems;
}

function unknownAction(ctx: CheckContext, name: string, stepPath: PathSegment[]): Problem {
  const at = ctx.source.locate([...stepPath, 'uses']);
  const known = [...ctx.actions.keys()];
  const guess = didYouMean(name, known);
  return {
    file: ctx.source.file,
    ...at,
    rule: 'unknown-action',
    message: `unknown action '${name}': ${guess ? `did you mean '${guess}'?` : knownActionsHint(name, known)}`,
  };
}

function checkWith(
  ctx: CheckContext,
  validate: Validator,
  step: Step,
  stepPath: PathSegment[],
  problems: Problem[],
): void {
  if (validate(step.with ?? {})) return;
  problems.push(...schemaProblems(ctx.source, validate.errors, [...stepPath, 'with']));
}

/**
 * A `script:` must be a regular file inside the runbook folder: not absolute, no `..`, not a
 * symlink (what the senior approved is the file in the bundle, nothing it points to); and text a
 * reviewer reads as it runs (checkScriptText: UTF-8, no NUL, no control characters that a
 * terminal acts on or that reorder the text).
 */
export function checkScripts(ctx: CheckContext): Problem[] {
  const problems: Problem[] = [];
  const root = ctx.dir;
  for (const phase of phases) {
    const steps = ctx.runbook.spec[phase];
    if (!steps) continue;
    for (let i = 0; i < steps.length; i++) {
      const script = steps[i]!.script;
      if (script === undefined) continue;
      const why = scriptPathProblem(root, script, ctx.files);
      if (!why) {
        const file = path.join(path.dirname(ctx.source.file), script);
        const text = checkScriptText(file, readFileSync(path.join(root, script)));
        if (text) problems.push(text);
      } else {
        // Positions cost a second, strict parse: only when there is a problem.
        const where = { file: ctx.source.file, ...ctx.source.locate(['spec', phase, i, 'script']) };
        problems.push({
          ...where,
          rule: 'bad-script-path',
          message: `script '${script}' ${why}`,
        });
      }
    }
  }
  return problems;
}

const RUNBOOK_FOLDER: FolderWords = {
  folder: 'the runbook folder',
  example: 'scripts/check.sh',
  keep: 'keep scripts inside the runbook folder',
};

function scriptPathProblem(
  root: string,
  rel: string,
  files: ReadonlySet<string> | undefined,
): string | undefined {
  const outside = folderPathProblem(root, rel, RUNBOOK_FOLDER, files)?.message;
  if (outside) return outside;
  // The plan finds a script's sha256 by the path the digest lists (a leading ./ aside): another
  // spelling of it would validate, then fail to plan with no line to fix.
  const bare = rel.replace(/^\.\//, '');
  if (bare.split('/').some((seg) => seg === '' || seg === '.'))
    return `names the file with a '.' or an empty folder: write it as '${path.posix.normalize(bare)}'`;
  if (isUndigested(bare))
    return "is a file the bundle digest leaves out (README.md and CHANGELOG.md at the top of the runbook folder are documentation): an edit to it would need no new approval, so it cannot be a script; move the script into the folder's scripts/ (e.g. scripts/check.sh)";
  return undefined;
}

/** A short hint: the actions of the same family, or the families there are. */
function knownActionsHint(name: string, known: readonly string[]): string {
  if (known.length === 0) return 'this opsbook has no built-in actions yet; use run: or script:';
  const family = name.split('.')[0] ?? '';
  const same = known.filter((k) => k.startsWith(`${family}.`));
  if (same.length) return `${family} actions: ${same.join(', ')}`;
  const families = new Map<string, number>();
  for (const k of known)
    families.set(k.split('.')[0] ?? k, (families.get(k.split('.')[0] ?? k) ?? 0) + 1);
  return `there is no '${family}' action family; known families: ${[...families].map(([f, n]) => `${f}.* (${n})`).join(', ')}`;
}
