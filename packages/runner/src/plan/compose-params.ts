import { renderTemplate } from '@opsbook/exec';
import {
  didYouMean,
  type ParamSpec,
  type ParamValue,
  type PathSegment,
  type Problem,
  paramValueProblem,
  parseTemplate,
  type RunbookBundle,
  type Step,
  ValidationError,
} from '@opsbook/schema';
import type { Composition } from './compose.js';
import { resolveComposedParams } from './params.js';

/*
 * How a composing step's `with:` gives the composed runbook its params. A value is a literal, a
 * template of the composing runbook's params (`"{{ params.days }}"`: the param's value, with its
 * type; text around it makes a string), never a host template: a composed runbook's params are
 * one set of values for the whole run, as a planned runbook's are. A secret param of the composed
 * runbook comes from a secret param of the composing one, whole (`"{{ params.token }}"`), so that
 * its value stays out of every plan and approval, as any secret's does.
 */

/** One `with:` value as it maps a param: a literal, one whole param, or text around params. */
type Mapping =
  | { kind: 'literal'; value: ParamValue }
  | { kind: 'param'; name: string }
  | { kind: 'text'; params: string[] };

function mappingOf(value: unknown): Mapping {
  if (typeof value !== 'string') return { kind: 'literal', value: value as ParamValue };
  const { parts } = parseTemplate(value);
  const refs = parts.flatMap((p) => (p.kind === 'ref' && p.ref.kind === 'param' ? [p.ref] : []));
  if (!refs.length)
    return { kind: 'literal', value: parts.map((p) => (p.kind === 'text' ? p.text : '')).join('') };
  if (parts.length === 1 && refs.length === 1) return { kind: 'param', name: refs[0]!.name };
  return { kind: 'text', params: refs.map((r) => r.name) };
}

const typeWords: Record<ParamSpec['type'], string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean',
};

/** Whether a value of param type `from` is a valid value of type `to` (an integer is a number). */
function fits(from: ParamSpec['type'], to: ParamSpec['type']): boolean {
  return from === to || (from === 'integer' && to === 'number');
}

/**
 * The problems of a composing step's `with:` against the composed runbook's declared params:
 * unknown names, required params left out, values of the wrong type or outside the param's rules,
 * secrets mapped from or into plain values. Each at the `with:` entry, with the fix.
 */
export function checkComposedParams(
  parent: RunbookBundle,
  step: Step,
  stepPath: PathSegment[],
  child: RunbookBundle,
): Problem[] {
  const problems: Problem[] = [];
  const at = (p: PathSegment[], which: 'key' | 'value' = 'value') => ({
    file: parent.file,
    ...parent.source.locate([...stepPath, ...p], which),
  });
  const own = parent.runbook.spec.params ?? {};
  const specs = child.runbook.spec.params ?? {};
  const names = Object.keys(specs);
  const given = step.with ?? {};
  const theirs = (name: string) => `${child.name}'s param ${name}`;
  for (const [key, raw] of Object.entries(given)) {
    const spec = specs[key];
    if (!spec) {
      const guess = didYouMean(key, names);
      problems.push({
        ...at(['with', key], 'key'),
        rule: 'compose-unknown-param',
        message: `${child.name} ${child.version} has no param '${key}': ${guess ? `did you mean '${guess}'?` : names.length ? `its params are ${names.join(', ')}` : 'it takes no params; remove with:'}`,
      });
      continue;
    }
    const why = mappingProblem(mappingOf(raw), spec, own, theirs(key), parent.name);
    if (why) problems.push({ ...at(['with', key]), rule: why.rule, message: why.message });
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (Object.hasOwn(given, name)) continue;
    const missing = spec.secret ? spec.required !== false : spec.default === undefined;
    if (!missing) continue;
    problems.push({
      ...(step.with ? at(['with'], 'key') : at(['uses'])),
      rule: 'compose-missing-param',
      message: spec.secret
        ? `${theirs(name)} is secret and required: map it from a secret param of ${parent.name} under with: (${name}: "{{ params.<secret param> }}")`
        : `${theirs(name)} is required${spec.description ? ` (${spec.description})` : ''}: give it under with: (${name}: a value, or "{{ params.<param of ${parent.name}> }}")`,
    });
  }
  return problems;
}

function mappingProblem(
  mapping: Mapping,
  spec: ParamSpec,
  own: Record<string, ParamSpec>,
  theirs: string,
  parent: string,
): { rule: string; message: string } | undefined {
  const wrongType = (message: string) => ({ rule: 'compose-param-type', message });
  const secret = (message: string) => ({ rule: 'compose-secret-param', message });
  if (mapping.kind === 'literal') {
    if (spec.secret)
      return secret(
        `${theirs} is secret: a value written here would be in the runbook, the plan and the approval; map it from a secret param of ${parent} ("{{ params.<secret param> }}")`,
      );
    const why = paramValueProblem(spec, mapping.value);
    return why ? wrongType(`the value for ${theirs} ${why}`) : undefined;
  }
  if (mapping.kind === 'param') {
    const from = own[mapping.name];
    if (!from) return undefined; // an undeclared param: the template check reports it
    if (spec.secret && !from.secret)
      return secret(
        `${theirs} is secret, but ${parent}'s param ${mapping.name} is not: its value would be in the plan and the approval; make ${mapping.name} secret, or map a secret param`,
      );
    if (!spec.secret && from.secret)
      return secret(
        `${parent}'s param ${mapping.name} is secret, but ${theirs} is not: the secret would be written into the plan and the approval; make ${theirs} secret too, or map a plain param`,
      );
    if (!fits(from.type, spec.type))
      return wrongType(
        `${theirs} is ${typeWords[spec.type]}, but ${parent}'s param ${mapping.name} is ${typeWords[from.type]}: declare ${mapping.name} as ${spec.type}, or map another param`,
      );
    return undefined;
  }
  const secrets = mapping.params.filter((p) => own[p]?.secret);
  if (secrets.length || spec.secret)
    return secret(
      secrets.length
        ? `${parent}'s secret param ${secrets[0]} is inside text here: a secret is handed over whole ("{{ params.${secrets[0]} }}"), to a secret param, never written into a value`
        : `${theirs} is secret: map a secret param of ${parent} whole ("{{ params.<secret param> }}"), with no text around it`,
    );
  if (spec.type !== 'string')
    return wrongType(
      `${theirs} is ${typeWords[spec.type]}, but text around a template makes a string: map one param alone ("{{ params.<param> }}"), or a literal`,
    );
  return undefined;
}

/** A composition with the params it runs with, and the ones it composes in turn. */
export interface BoundComposition {
  composition: Composition;
  /** Every non-secret param with its value. */
  values: Record<string, ParamValue>;
  /**
   * Each secret param of the composed runbook, and the planned runbook's secret param its value
   * comes from at run time (null: an optional secret nobody gives, the empty string).
   */
  secrets: Record<string, string | null>;
  children: BoundComposition[];
}

/** The params a runbook runs with, as its composed runbooks' `with:` read them. */
export interface ParamScope {
  values: Readonly<Record<string, ParamValue>>;
  /**
   * For a value that comes from a param of the planned runbook, that param's name (the planned
   * runbook's own params: themselves); errors name it. Absent: every value is its own.
   */
  origins?: Readonly<Record<string, string>>;
  /** Its secret params, by the planned runbook's secret param that gives each one. */
  secrets: Readonly<Record<string, string | null>>;
}

/**
 * The params of every composed runbook, from the values of the runbook that composes it: by the
 * composed runbook's own param rules, as a planned runbook's are (a value outside them refuses
 * the plan, naming the composing step). Pure.
 */
export function bindCompositions(
  compositions: readonly Composition[],
  scope: ParamScope,
): BoundComposition[] {
  return compositions.map((composition) => {
    const { step, bundle, path } = composition;
    const given = new Map<string, ParamValue>();
    const origins = new Map<string, string>();
    const secrets: Record<string, string | null> = {};
    for (const [key, raw] of Object.entries(step.with ?? {})) {
      const mapping = mappingOf(raw);
      if (mapping.kind === 'literal') given.set(key, mapping.value);
      else if (mapping.kind === 'param' && Object.hasOwn(scope.secrets, mapping.name))
        secrets[key] = scope.secrets[mapping.name] ?? null;
      else if (mapping.kind === 'param') {
        // A param left unset (optional, no default) leaves this one to its own default.
        if (Object.hasOwn(scope.values, mapping.name)) {
          given.set(key, scope.values[mapping.name]!);
          const origin = scope.origins ? scope.origins[mapping.name] : mapping.name;
          if (origin !== undefined) origins.set(key, origin);
        }
      } else given.set(key, renderText(String(raw), scope, `${path} with.${key}`));
    }
    const resolved = resolveComposedParams(bundle.runbook, given, path, origins);
    for (const name of resolved.secretParams) {
      if (Object.hasOwn(secrets, name)) continue;
      if (bundle.runbook.spec.params?.[name]?.required !== false)
        throw ValidationError.single(
          bundle.file,
          `step '${path}' gives no value to secret param ${name} of ${bundle.name}: map it from a secret param under with:`,
          'compose-missing-param',
        );
      secrets[name] = null;
    }
    const bound = { values: resolved.values, secrets: sortedKeys(secrets) };
    const scoped = { ...bound, origins: Object.fromEntries(origins) };
    return { composition, ...bound, children: bindCompositions(composition.children, scoped) };
  });
}

function renderText(text: string, scope: ParamScope, source: string): string {
  return renderTemplate(
    text,
    {
      params: scope.values,
      secretParams: Object.keys(scope.secrets),
      host: { name: '', vars: {} },
      source,
    },
    {
      value: (t) => t,
      secret: (name) => {
        throw ValidationError.single(source, `names secret param ${name} inside text`, 'secret');
      },
    },
  );
}

function sortedKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
