import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { adfSubsetSchema } from './adf-schema.js';
import {
  ADDED_QUERY_PARAMETERS,
  DC_REQUEST_MINIMUMS,
  OUT_OF_SPEC_STATUSES,
  QUERY_OVERRIDES,
  RESPONSE_OVERRIDES,
  SCHEMA_OVERRIDES,
  UNDECLARED_ERROR_STATUSES,
} from './spec-overrides.js';

export type Flavour = 'cloud' | 'datacenter';

// biome-ignore lint/suspicious/noExplicitAny: walks arbitrary JSON (Atlassian's OpenAPI documents)
type Json = Record<string, any>;
// ajv-formats is CommonJS: under NodeNext its default import is module.exports, whose .default is the plugin.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv) => Ajv }).default;

const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/jira-openapi',
);

export interface Operation {
  method: string;
  /** Spec path template. */
  template: string;
  /** The route as served, e.g. `/rest/api/2/issue/{issueIdOrKey}` for DC. */
  route: string;
  pattern: RegExp;
  names: string[];
  spec: Json;
}

export interface Matched {
  op: Operation;
  params: Record<string, string>;
}

function pointerSet(doc: Json, pointer: string, value: unknown): void {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop()!;
  let at: Json = doc;
  for (const p of parts) {
    if (!(p in at)) throw new Error(`spec override: no ${pointer}`);
    at = at[p];
  }
  if (!(last in at)) throw new Error(`spec override: no ${pointer}`);
  at[last] = value;
}

function makeAjv(forRequests: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  // Formats Atlassian's specs use that ajv-formats does not know: integer ranges are checked,
  // `json` is a string holding JSON text (Data Center's entity property values: opsbook sends
  // them so, as the spec types them); the other string formats (binary, base64, byte) accept any string.
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  for (const f of ['binary', 'base64', 'byte']) ajv.addFormat(f, true);
  ajv.addFormat('json', (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  });
  if (forRequests) {
    // OpenAPI forbids a client to send a readOnly property; plain Ajv only annotates it.
    ajv.removeKeyword('readOnly');
    ajv.addKeyword({
      keyword: 'readOnly',
      schemaType: 'boolean',
      validate: (readOnly: boolean) => !readOnly,
    });
  }
  return ajv;
}

/** Validates requests and responses of the vendored operations against Atlassian's OpenAPI spec. */
export class OpenApiValidator {
  readonly flavour: Flavour;
  readonly operations: Operation[];
  private readonly requestAjv = makeAjv(true);
  private readonly responseAjv = makeAjv(false);
  private readonly cache = new Map<string, ValidateFunction>();

  /**
   * `asPublished`: without QUERY_OVERRIDES and ADDED_QUERY_PARAMETERS, as a validator built from
   * Atlassian's document alone checks a request's query (a parameter its text documents but its
   * `parameters` leave out is refused, DC's StringList parameters must be objects).
   */
  constructor(flavour: Flavour, options: { asPublished?: boolean } = {}) {
    this.flavour = flavour;
    const spec = JSON.parse(
      readFileSync(
        path.join(FIXTURES, flavour === 'cloud' ? 'cloud-v3.json' : 'dc-v2.json'),
        'utf8',
      ),
    ) as Json;
    for (const o of SCHEMA_OVERRIDES[flavour]) pointerSet(spec, o.pointer, o.schema);
    for (const o of options.asPublished ? [] : QUERY_OVERRIDES[flavour]) {
      const param = (spec.paths[o.path]?.[o.method]?.parameters as Json[] | undefined)?.find(
        (p) => p.in === 'query' && p.name === o.name,
      );
      if (!param)
        throw new Error(`spec override: no query parameter ${o.name} on ${o.method} ${o.path}`);
      param.schema = o.schema;
    }
    for (const o of options.asPublished ? [] : ADDED_QUERY_PARAMETERS[flavour]) {
      const op = spec.paths[o.path]?.[o.method] as Json | undefined;
      if (!op) throw new Error(`spec override: no operation ${o.method} ${o.path}`);
      op.parameters ??= [];
      if ((op.parameters as Json[]).some((p) => p.in === 'query' && p.name === o.name))
        throw new Error(
          `spec override: ${o.method} ${o.path} declares query parameter ${o.name} already`,
        );
      (op.parameters as Json[]).push({ in: 'query', name: o.name, schema: o.schema });
    }
    const registered = { $id: 'spec', components: spec.components };
    this.requestAjv.addSchema(registered);
    this.responseAjv.addSchema(structuredClone(registered));
    this.requestAjv.addSchema(adfSubsetSchema);
    this.operations = [];
    for (const [template, item] of Object.entries(spec.paths as Json)) {
      for (const [method, op] of Object.entries(item as Json)) {
        if (method === 'parameters') continue;
        const route = flavour === 'cloud' ? template : `/rest${template}`;
        const names: string[] = [];
        // Spec templates become anchored regexps: literal segments escaped, {name} captured.
        const source = route.split('/').map((segment) => {
          const param = /^\{(\w+)\}$/.exec(segment);
          if (!param) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
          names.push(param[1] ?? '');
          return '([^/]+)';
        });
        const pattern = new RegExp(`^${source.join('/')}$`);
        this.operations.push({ method, template, route, pattern, names, spec: op as Json });
      }
    }
  }

  match(method: string, routePath: string): Matched | undefined {
    for (const op of this.operations) {
      if (op.method !== method.toLowerCase()) continue;
      const m = op.pattern.exec(routePath);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (const [i, n] of op.names.entries()) params[n] = decodeURIComponent(m[i + 1] ?? '');
      return { op, params };
    }
    return undefined;
  }

  private compile(ajv: Ajv, key: string, schema: unknown): ValidateFunction {
    let fn = this.cache.get(key);
    if (!fn) {
      // Refs inside the spec are `#/components/...`; anchor them to the registered document.
      fn = ajv.compile(rebase(schema));
      this.cache.set(key, fn);
    }
    return fn;
  }

  private problems(fn: ValidateFunction, data: unknown, where: string): string[] {
    return fn(data)
      ? []
      : (fn.errors ?? []).map(
          (e) => `${where}${e.instancePath || ''} ${e.message ?? 'is invalid'}`,
        );
  }

  /** Problems with the query string and JSON body of a request (multipart bodies are checked by the fake). */
  validateRequest(
    op: Operation,
    query: URLSearchParams,
    contentType: string | undefined,
    body: unknown,
  ): string[] {
    const out: string[] = [];
    const declared = (op.spec.parameters ?? []) as Json[];
    for (const name of new Set(query.keys())) {
      const p = declared.find((d) => d.in === 'query' && d.name === name);
      if (!p) {
        out.push(`query parameter "${name}" is not in the spec`);
        continue;
      }
      const schema = p.schema?.type === 'array' ? p.schema.items : p.schema;
      const fn = this.compile(
        this.requestAjv,
        `q ${op.method} ${op.template} ${name}`,
        schema ?? {},
      );
      for (const raw of query.getAll(name))
        out.push(...this.problems(fn, coerce(raw, schema?.type), `query ${name}`));
    }
    for (const p of declared)
      if (p.in === 'query' && p.required && !query.has(p.name))
        out.push(`query parameter "${p.name}" is required`);
    const rb = op.spec.requestBody as Json | undefined;
    const type = contentType?.split(';')[0]?.trim().toLowerCase();
    if (body === undefined) {
      if (rb?.required) out.push('the request body is required');
      return out;
    }
    if (!rb) return [...out, 'this operation takes no request body'];
    const media = type ? rb.content?.[type] : undefined;
    if (!media)
      return [
        ...out,
        `content type ${type ?? '(none)'} is not allowed; the spec allows ${Object.keys(rb.content ?? {}).join(', ')}`,
      ];
    if (type !== 'application/json') return out;
    out.push(
      ...this.problems(
        this.compile(this.requestAjv, `b ${op.method} ${op.template}`, media.schema ?? {}),
        body,
        'body',
      ),
    );
    const minimum =
      this.flavour === 'datacenter'
        ? DC_REQUEST_MINIMUMS[`${op.method} ${op.template}`]
        : undefined;
    if (minimum)
      out.push(
        ...this.problems(
          this.compile(this.requestAjv, `m ${op.method} ${op.template}`, minimum),
          body,
          'body',
        ),
      );
    return out;
  }

  /**
   * Problems with the path parameters of a request (decoded), against their schemas: Data
   * Center's `propertyKey` has `maxLength: 255`, and SCHEMA_OVERRIDES gives Cloud's the limit its
   * description states.
   */
  validatePath(op: Operation, params: Record<string, string>): string[] {
    const out: string[] = [];
    for (const p of (op.spec.parameters ?? []) as Json[]) {
      if (p.in !== 'path' || !(p.name in params)) continue;
      const fn = this.compile(this.requestAjv, `p ${op.method} ${op.template} ${p.name}`, p.schema);
      out.push(
        ...this.problems(fn, coerce(params[p.name] ?? '', p.schema?.type), `path ${p.name}`),
      );
    }
    return out;
  }

  /**
   * Problems with the headers of a request: the header parameters the operation declares
   * (required, schema), and an `Accept` that refuses `application/json`, the only type the
   * spec's responses have (Jira answers it 406). Authorization, the JSON or multipart
   * Content-Type and the attachment XSRF header are checked where the fake reads the body.
   */
  validateHeaders(op: Operation, headers: Record<string, string | string[] | undefined>): string[] {
    const out: string[] = [];
    const one = (name: string) => {
      const v = headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    for (const p of (op.spec.parameters ?? []) as Json[]) {
      if (p.in !== 'header') continue;
      const value = one(p.name);
      if (value === undefined) {
        if (p.required) out.push(`header ${p.name} is required`);
        continue;
      }
      const fn = this.compile(this.requestAjv, `h ${op.method} ${op.template} ${p.name}`, p.schema);
      out.push(...this.problems(fn, coerce(value, p.schema?.type), `header ${p.name}`));
    }
    const accept = one('accept');
    if (accept !== undefined && !acceptsJson(accept))
      out.push(
        `header Accept "${accept}" does not accept application/json, the only type the spec answers`,
      );
    return out;
  }

  /** Problems with an ADF document (Cloud comment bodies and descriptions). */
  validateAdf(doc: unknown, where: string): string[] {
    const fn = this.requestAjv.getSchema('opsbook-adf-subset')!;
    return this.problems(fn, doc, where);
  }

  /** Problems with a response the fake is about to send. */
  validateResponse(op: Operation, status: number, body: unknown): string[] {
    const responses = op.spec.responses as Json;
    const declared = responses[String(status)] ?? responses.default;
    if (!declared)
      return OUT_OF_SPEC_STATUSES.has(status) || UNDECLARED_ERROR_STATUSES[this.flavour].has(status)
        ? []
        : [`status ${status} is not declared for ${op.method.toUpperCase()} ${op.template}`];
    const schema = declared.content?.['application/json']?.schema;
    // Jira sends no body with a 204 even where the spec declares JSON content; undeclared error
    // bodies are Jira's ErrorCollection.
    if (schema === undefined || (status === 204 && body === undefined)) return [];
    const override = RESPONSE_OVERRIDES[this.flavour].find(
      (o) => o.method === op.method && o.path === op.template && o.status === String(status),
    );
    // Jira's array, or the one object the document declares (a server built from it).
    const effective = override ? { anyOf: [schema, { type: 'array', items: schema }] } : schema;
    return this.problems(
      this.compile(this.responseAjv, `r ${op.method} ${op.template} ${status}`, effective),
      body,
      'response',
    );
  }
}

function rebase(schema: unknown): Json {
  const text = JSON.stringify(schema ?? {}).replace(/"#\/components\//g, '"spec#/components/');
  const out = JSON.parse(text) as Json;
  return typeof out === 'object' && out !== null ? out : {};
}

/** Whether an Accept header admits application/json (a media range matching it, q above 0). */
function acceptsJson(accept: string): boolean {
  return accept.split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((x) => x.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) return false;
    return type === '*/*' || type === 'application/*' || type === 'application/json';
  });
}

function coerce(raw: string, type: string | undefined): unknown {
  if (type === 'integer' || type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}
