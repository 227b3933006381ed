import { createRequire } from 'node:module';
import { nestingBound } from './nesting-depth.js';

/**
 * The second path of strict YAML loading, for files the plain subset reader (yaml-subset.ts)
 * declines. js-yaml parses several times faster than the `yaml` package, which opsbook needs for
 * line:col positions and its precise refusals. Whenever this path sees anything the strict rules
 * could refuse — an anchor or alias, any explicit tag, a `<<` key, a duplicate key, deep nesting,
 * more than one document, or any parse error — it declines, and the caller parses again with the
 * strict, positioned path, which then reports the problem. Declining is always safe.
 */

// The YAML 1.2 core schema's implicit types under private tag names: an explicit `!!int` or
// `!!str` then names an unknown tag and makes js-yaml throw, so every explicit tag declines.
interface BuiltinType {
  resolve(data: unknown): boolean;
  construct(data: unknown): unknown;
}
type JsYaml = typeof import('js-yaml');
let loaded: { jsyaml: JsYaml; schema: import('js-yaml').Schema } | undefined;

/**
 * js-yaml and its schema, on first use: building its schemas at import took a command's start-up
 * several milliseconds, and most files never get here. A plain require keeps bundlers from
 * inlining it into every command's start.
 */
function jsYaml(): { jsyaml: JsYaml; schema: import('js-yaml').Schema } {
  if (loaded) return loaded;
  const jsyaml = createRequire(import.meta.url)('js-yaml') as JsYaml;
  // js-yaml exports its built-in types at run time; its type definitions leave them out.
  const builtins = (jsyaml as unknown as { types: Record<string, BuiltinType> }).types;
  const implicit = (['null', 'bool', 'int', 'float'] as const).map((name) => {
    const base = builtins[name]!;
    return new jsyaml.Type(`tag:opsbook.dev,2026:${name}`, {
      kind: 'scalar',
      resolve: base.resolve,
      construct: base.construct,
    });
  });
  loaded = { jsyaml, schema: new jsyaml.Schema({ implicit, explicit: [] }) };
  return loaded;
}

/**
 * js-yaml recurses once per level and overflows the stack at about 1,800 levels (Node 20); an
 * overflow deep in a parse can even abort the process (V8 compiling a regular expression with no
 * stack left). The depth scan refuses deep files first, but it reads the text its own way: js-yaml
 * runs only when no reading at all could nest it deeper than this, and the strict path, which
 * measures the syntax tree before recursing, takes the rest.
 */
const SAFE_DEPTH = 1000;

export function tryFastYaml(
  text: string,
  maxDepth: number,
): { ok: true; value: unknown } | { ok: false } {
  if (nestingBound(text) > SAFE_DEPTH) return { ok: false };
  let anchored = false;
  let value: unknown;
  const { jsyaml, schema } = jsYaml();
  try {
    value = jsyaml.load(text, {
      schema,
      json: false, // duplicate keys throw
      listener(event, state) {
        if (event === 'close' && (state as { anchor?: string | null }).anchor) anchored = true;
      },
    });
  } catch {
    return { ok: false };
  }
  if (anchored || value === null || typeof value !== 'object' || !isPlain(value, maxDepth, 0))
    return { ok: false };
  return { ok: true, value };
}

/** No `<<` key anywhere, and no deeper than `maxDepth` collections. Index loops: runs cold. */
function isPlain(value: unknown, maxDepth: number, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!isPlain(value[i], maxDepth, depth + 1)) return false;
    }
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (k === '<<' || !isPlain((value as Record<string, unknown>)[k], maxDepth, depth + 1))
      return false;
  }
  return true;
}
