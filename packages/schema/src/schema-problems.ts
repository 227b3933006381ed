import type { ErrorObject } from 'ajv';
import type { Ajv2020 as Ajv } from 'ajv/dist/2020.js';
import { closest, distance } from 'fastest-levenshtein';
import { USES_PATTERN } from './compose-ref.js';
import { JIRA_EXTRA_FIELD, NOT_BLANK } from './config-schema.js';
import { CRON_HINT, CRON_PATTERN } from './cron-pattern.js';
import { ISO_TIME_HINT, ISO_TIME_PATTERN } from './iso-time-pattern.js';
import type { Problem } from './problem.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

/**
 * One ajv configuration for every opsbook schema, compiled ahead of time or at run time.
 */
export const ajvOptions = {
  allErrors: true,
  strict: true,
  allowUnionTypes: true,
  verbose: true,
} as const;

/** A validator as ajv produces it, compiled ahead of time or now. */
export interface Validator<T = unknown> {
  (data: unknown): data is T;
  errors?: ErrorObject[] | null;
}

/** Compile a schema at run time (for schemas not known at build time, e.g. an action's `with:`). */
export async function compileSchema<T>(schema: object): Promise<Validator<T>> {
  // A CommonJS module: Node puts its exports on the namespace, bundlers under `default`.
  const mod = (await import('ajv/dist/2020.js')) as unknown as {
    Ajv2020?: typeof Ajv;
    default?: { Ajv2020?: typeof Ajv };
  };
  const Ajv2020 = mod.Ajv2020 ?? mod.default?.Ajv2020;
  if (!Ajv2020) throw new Error('ajv/dist/2020.js has no Ajv2020 export');
  return new Ajv2020(ajvOptions).compile<T>(schema);
}

/** Suggest the closest allowed word, when one is close enough to be a typo. */
export function didYouMean(word: string, allowed: readonly string[]): string | undefined {
  if (allowed.length === 0) return undefined;
  const first = closest(word, allowed as string[]);
  const limit = Math.max(2, Math.floor(word.length / 3));
  const best = distance(word.toLowerCase(), first.toLowerCase());
  if (best > limit) return undefined;
  // Of the equally close, the one with the same letters: two swapped (`lsit`) is `list`, which
  // Levenshtein counts as two changes, as it does `lint`.
  const letters = sortedLetters(word);
  return (
    allowed.find(
      (a) => sortedLetters(a) === letters && distance(word.toLowerCase(), a.toLowerCase()) === best,
    ) ?? first
  );
}

/**
 * Names for a "known …" hint: all of them when few, else the first `max` and how many more, so
 * that a catalog of hundreds does not fill the terminal (e.g. `a, b, c and 197 more`).
 */
export function someOf(names: readonly string[], max = 12): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function sortedLetters(word: string): string {
  return [...word.toLowerCase()].sort().join('');
}

export function pathSegments(instancePath: string): PathSegment[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function displayPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  }
  return out || 'the document';
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `the ${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** How a message names a JSON Schema type: one value of it, and many. */
const typeNames: Record<string, readonly [one: string, many: string]> = {
  object: ['a mapping', 'mappings'],
  array: ['a list', 'lists'],
  string: ['a string', 'strings'],
  integer: ['an integer', 'integers'],
  number: ['a number', 'numbers'],
  boolean: ['true or false', 'booleans'],
  null: ['null', 'null'],
};

/** `t` (a type or a list of them) in words, e.g. `a string or null`, or `strings` when plural. */
function typeWords(t: unknown, plural = false): string {
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => typeNames[String(x)]?.[plural ? 1 : 0] ?? String(x)).join(' or ');
}

/** Field-specific explanations for `pattern` failures, keyed by the schema's pattern. */
const patternHints: Record<string, string> = {
  [NOT_BLANK]: 'give a name, not an empty or blank text',
  [JIRA_EXTRA_FIELD]:
    "use a custom field's id (customfield_10010) or a field's name (components, duedate…); opsbook sets project, issuetype, summary, description, labels, priority, reporter and assignee itself",
  '^[a-z][a-z0-9-]*$':
    'use lowercase letters, digits and "-", starting with a letter (e.g. restart-service)',
  '^[a-z][a-z0-9_]*$':
    'use lowercase letters, digits and "_", starting with a letter (e.g. max_age)',
  '^[1-9][0-9]*(ms|s|m|h)$': 'write a duration such as 500ms, 30s, 5m or 2h',
  '^[1-9][0-9]*(m|h|d)$': 'write a duration such as 30m, 6h or 2d',
  [CRON_PATTERN]: CRON_HINT,
  [ISO_TIME_PATTERN]: ISO_TIME_HINT,
  [USES_PATTERN]:
    'name a built-in action such as inspection.disk, or a runbook and a version range such as runbook:disk-cleanup@^1.2.0',
};

const DURATION_EXAMPLES: Record<string, string> = {
  ms: '500ms',
  s: '30s',
  m: '15m',
  h: '6h',
  d: '2d',
};

/** A duration pattern (durationPattern's, whatever its units) as the values it takes. */
function durationHint(pattern: string): string | undefined {
  const units = /^\^\[1-9\]\[0-9\]\*\(([a-z|]+)\)\$$/.exec(pattern)?.[1]?.split('|');
  if (!units?.every((u) => u in DURATION_EXAMPLES)) return undefined;
  const examples = units.map((u) => DURATION_EXAMPLES[u]!);
  const listed =
    examples.length > 1
      ? `${examples.slice(0, -1).join(', ')} or ${examples[examples.length - 1]}`
      : examples[0];
  return `write a duration such as ${listed}`;
}

/**
 * Turn ajv's errors into problems placed at the exact line and column of the offending key or
 * value, each with a sentence that says how to fix it.
 */
export function schemaProblems(
  source: YamlSource,
  errors: readonly ErrorObject[] | null | undefined,
  basePath: readonly PathSegment[] = [],
): Problem[] {
  if (!errors) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  // anyOf/oneOf report their branches' errors too; keep only the summary for those paths.
  const unionPaths = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .map((e) => e.instancePath);
  for (const e of errors) {
    if (
      e.keyword !== 'anyOf' &&
      e.keyword !== 'oneOf' &&
      unionPaths.some((p) => e.instancePath.startsWith(p))
    )
      continue;
    if (e.keyword === 'propertyNames') continue; // reported through its pattern error below
    const segs = [...basePath, ...pathSegments(e.instancePath)];
    const p = describeError(source, e, segs);
    const key = `${p.line}:${p.col}:${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(p);
  }
  return problems;
}

function describeError(source: YamlSource, e: ErrorObject, segs: PathSegment[]): Problem {
  const where = displayPath(segs);
  const value = valueAt(source.value, segs);
  const at = (path: PathSegment[], which: 'key' | 'value' = 'value') => ({
    file: source.file,
    ...source.locate(path, which),
  });
  const params = e.params as Record<string, unknown>;
  const allowedKeys = (): string[] => {
    const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)
      ?.properties;
    return props ? Object.keys(props) : [];
  };

  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = allowedKeys();
      const guess = didYouMean(key, allowed);
      const hint = guess ? `did you mean '${guess}'?` : `allowed keys: ${allowed.join(', ')}`;
      return {
        ...at([...segs, key], 'key'),
        rule: 'unknown-key',
        message: `unknown key '${key}' in ${where}: ${hint}`,
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      return {
        ...at(segs, segs.length ? 'key' : 'value'),
        rule: 'missing-key',
        message: `${where} is missing the required key '${missing}': add it`,
      };
    }
    case 'type':
      return {
        ...at(segs),
        rule: 'wrong-type',
        message: `${where} must be ${typeWords(params.type)}, not ${describeType(value)}${params.type === 'object' ? keysHint(e.parentSchema, segs, value) : ''}`,
      };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const guess = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
      return {
        ...at(segs),
        rule: 'not-allowed-value',
        message: `${where} must be one of ${allowed.join(', ')}, not ${describeType(value)}${guess ? `: did you mean '${guess}'?` : ''}`,
      };
    }
    case 'const':
      return {
        ...at(segs),
        rule: 'not-allowed-value',
        message: `${where} must be '${String(params.allowedValue)}', not ${describeType(value)}`,
      };
    case 'pattern': {
      const isName = e.propertyName !== undefined || e.schemaPath.includes('propertyNames');
      const name = e.propertyName ?? String(segs[segs.length - 1]);
      const hint =
        patternHints[String(params.pattern)] ??
        durationHint(String(params.pattern)) ??
        `it must match ${String(params.pattern)}`;
      if (isName) {
        return {
          ...at([...segs, name], 'key'),
          rule: 'bad-name',
          message: `'${name}' is not a valid name in ${where}: ${hint}`,
        };
      }
      return {
        ...at(segs),
        rule: 'bad-format',
        message: `${where} is ${describeType(value)}: ${hint}`,
      };
    }
    case 'maxLength':
    case 'minLength':
    case 'minItems':
    case 'maxItems':
    case 'minimum':
    case 'maximum': {
      const limit = params.limit as number;
      const words: Record<string, string> = {
        maxLength: `at most ${limit} characters long`,
        minLength: limit === 1 ? 'non-empty' : `at least ${limit} characters long`,
        minItems: `a list of at least ${limit} item${limit === 1 ? '' : 's'}`,
        maxItems: `a list of at most ${limit} items`,
        minimum: `at least ${limit}`,
        maximum: `at most ${limit}`,
      };
      const isName = e.schemaPath.includes('propertyNames');
      const target = isName && e.propertyName ? at([...segs, e.propertyName], 'key') : at(segs);
      return {
        ...target,
        rule: 'out-of-range',
        message: `${isName ? `name '${e.propertyName}' in ` : ''}${where} must be ${words[e.keyword]}`,
      };
    }
    case 'anyOf':
    case 'oneOf':
      return {
        ...at(segs),
        rule: 'wrong-type',
        message: `${where} has ${describeType(value)}, which fits none of the allowed forms: ${unionHint(e)}${mappingHint(e, value)}`,
      };
    default:
      return {
        ...at(segs),
        rule: `schema-${e.keyword}`,
        message: `${where} ${e.message ?? 'is invalid'}`,
      };
  }
}

interface TypedSchema {
  type?: unknown;
  anyOf?: TypedSchema[];
  oneOf?: TypedSchema[];
}

/** The JSON types a schema takes: its own, or its union's forms'. */
function typesOf(schema: TypedSchema): string[] {
  const own = schema.type === undefined ? [] : [schema.type].flat().map(String);
  return [...own, ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].flatMap(typesOf)];
}

/**
 * For a scalar or list where a mapping belongs (`expect: 0`): the keys that mapping takes, and the
 * mapping the value was likely meant for when exactly one key takes a value of its type
 * (`expect: {exitCode: 0}`).
 */
function keysHint(schema: unknown, segs: readonly PathSegment[], value: unknown): string {
  const props = (schema as { properties?: Record<string, TypedSchema> } | undefined)?.properties;
  const keys = props ? Object.keys(props) : [];
  if (keys.length === 0) return '';
  const kind =
    value === null || typeof value === 'object'
      ? undefined
      : typeof value === 'number'
        ? Number.isInteger(value)
          ? ['integer', 'number']
          : ['number']
        : typeof value === 'string'
          ? ['string']
          : typeof value === 'boolean'
            ? ['boolean']
            : undefined;
  const takers = kind ? keys.filter((k) => typesOf(props![k]!).some((t) => kind.includes(t))) : [];
  const name = segs[segs.length - 1];
  const meant =
    takers.length === 1 && typeof name === 'string'
      ? `; did you mean ${name}: {${takers[0]}: ${JSON.stringify(value)}}?`
      : '';
  return `: it takes the keys ${keys.join(', ')}${meant}`;
}

interface UnionBranch {
  type?: unknown;
  items?: { type?: unknown };
  required?: string[];
  properties?: Record<string, unknown>;
}

function unionHint(e: ErrorObject): string {
  const branches = (e.schema as UnionBranch[]) ?? [];
  return branches
    .map((b) => {
      if (b.type === 'array' && b.items) return `a list of ${typeWords(b.items.type, true)}`;
      // Forms told apart by their keys (`by: {hostVar: …}` or `{groups: …}`): name the keys.
      if ((b.type === undefined || b.type === 'object') && b.required?.length)
        return `a mapping with ${b.required.map((k) => `'${k}'`).join(' and ')}`;
      if (b.type !== undefined) return typeWords(b.type);
      return 'another form';
    })
    .join(', or ');
}

/**
 * For a mapping that fits no form of a union of mappings: the key none of them has (a typo, with
 * the key it likely meant), or that it mixes the keys of several forms.
 */
function mappingHint(e: ErrorObject, value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return '';
  const forms = ((e.schema as UnionBranch[]) ?? []).filter((b) => b.properties);
  if (!forms.length) return '';
  const known = [...new Set(forms.flatMap((b) => Object.keys(b.properties!)))];
  const keys = Object.keys(value);
  const unknown = keys.find((k) => !known.includes(k));
  if (unknown !== undefined) {
    const guess = didYouMean(unknown, known);
    return `: '${unknown}' is not one of their keys${guess ? `: did you mean '${guess}'?` : ''}`;
  }
  const touched = forms.filter((b) => keys.some((k) => k in b.properties!));
  return touched.length > 1 && keys.every((k) => forms.some((b) => b.required?.includes(k)))
    ? `: ${keys.map((k) => `'${k}'`).join(' and ')} belong to different forms: give only one`
    : '';
}
