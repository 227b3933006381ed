import type { YamlSource } from '@opsbook/schema';
import { mapYamlScalars } from './map-yaml-strings.js';

/**
 * The plain scalars YAML 1.1 (PyYAML, which Ansible uses) reads as booleans and opsbook's YAML
 * 1.2 loader reads as strings. `true`/`false` in any case are booleans in both already.
 */
const yaml11Booleans: Record<string, boolean> = {
  yes: true,
  Yes: true,
  YES: true,
  on: true,
  On: true,
  ON: true,
  no: false,
  No: false,
  NO: false,
  off: false,
  Off: false,
  OFF: false,
};

/** PyYAML's implicit int and float patterns (resolver.py), tried float first, as it does. */
const PY_FLOAT =
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;

/**
 * Where a text may hold a plain number that YAML 1.1 reads otherwise than 1.2: a leading zero
 * (octal `0644`, `08`; not a zero inside a name or a date, `web-01`, `2024-01-05`), `0o`/`0b`, an
 * underscore, an exponent, a base-60 `1:20`. Most inventories hold none, and then no number is
 * looked at.
 */
const MAYBE_YAML11_NUMBER =
  /(?<![0-9A-Za-z_.+-])[-+]?0[0-9_oObB]|[0-9]_|[0-9.][eE][-+]?[0-9]|[0-9]:[0-5]?[0-9]/;

/** A plain scalar's number as PyYAML constructs it (constructor.py), or undefined: not one. */
export function pyYamlNumber(raw: string): number | undefined {
  if (PY_FLOAT.test(raw)) {
    const v = raw.replaceAll('_', '').toLowerCase();
    const sign = v.startsWith('-') ? -1 : 1;
    const body = v.replace(/^[-+]/, '');
    if (body === '.inf') return sign * Number.POSITIVE_INFINITY;
    if (body === '.nan') return Number.NaN;
    return sign * (body.includes(':') ? base60(body) : Number(body));
  }
  if (PY_INT.test(raw)) {
    const v = raw.replaceAll('_', '');
    const sign = v.startsWith('-') ? -1 : 1;
    const body = v.replace(/^[-+]/, '');
    if (body === '0') return 0;
    if (body.startsWith('0b')) return sign * Number.parseInt(body.slice(2), 2);
    if (body.startsWith('0x')) return sign * Number.parseInt(body.slice(2), 16);
    if (body.startsWith('0')) return sign * Number.parseInt(body, 8);
    return sign * (body.includes(':') ? base60(body) : Number(body));
  }
  return undefined;
}

function base60(body: string): number {
  return body.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
}

/**
 * The value of a YAML inventory or vars file as Ansible reads it (YAML 1.1, as PyYAML): unquoted
 * `yes`/`no`/`on`/`off` are booleans, and plain numbers are PyYAML's (`0644` is octal 420, `08`
 * and `1e3` are text, `1_000` and `1:20` are numbers); a quoted scalar stays a string. Keys are
 * left alone.
 */
export function withYaml11Scalars(source: YamlSource, value: unknown): unknown {
  const mayDiffer = MAYBE_YAML11_NUMBER.test(source.text);
  // The numbers YAML 1.2 read from a token 1.1 reads otherwise: only those are looked at.
  const numbers = mayDiffer ? numbersOfDifferingTokens(source.text) : new Set<number>();
  return mapYamlScalars(value, (v, path) => {
    const isBoolean = typeof v === 'string' && Object.hasOwn(yaml11Booleans, v);
    const mayBeNumber =
      typeof v === 'number'
        ? numbers.has(v)
        : mayDiffer && /^[-+.0-9]/.test(v) && pyYamlNumber(v) !== undefined;
    if (!isBoolean && !mayBeNumber) return v;
    const span = source.span(path, 'value');
    if (!span) return v;
    const raw = source.text.slice(span.start, span.end).trim();
    // Only a plain scalar as written: a quoted one, or a block, is a string in both.
    if (raw !== String(v) && typeof v === 'string') return v;
    if (isBoolean) return yaml11Booleans[v as string];
    if (/^['"|>]/.test(raw)) return v;
    const number = pyYamlNumber(raw);
    return number === undefined ? raw : number;
  });
}

/**
 * Plain tokens YAML 1.2 reads as numbers and 1.1 otherwise: a leading zero (`0644`, `08`), `0o`,
 * an exponent (`1e3`; 1.1 wants a dot and a signed exponent). Their 1.2 values.
 */
const DIFFERING_NUMBER_TOKEN =
  /(?:^|[\s[,{])([-+]?(?:0[0-9o][0-9a-fA-F_]*|[0-9.]+[eE][-+]?[0-9]+))(?=$|[\s,\]}#])/gm;

function numbersOfDifferingTokens(text: string): Set<number> {
  const found = new Set<number>();
  for (const m of text.matchAll(DIFFERING_NUMBER_TOKEN)) {
    const n = Number(m[1]);
    if (!Number.isNaN(n)) found.add(n);
  }
  return found;
}
