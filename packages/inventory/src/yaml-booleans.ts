import type { YamlSource } from '@opsbook/schema';
import { mapYamlStrings } from './map-yaml-strings.js';

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

/**
 * The value of a YAML inventory or vars file as Ansible reads it: unquoted `yes`/`no`/`on`/`off`
 * become booleans (a quoted `'yes'` stays a string). Keys are left alone.
 */
export function withYaml11Booleans(source: YamlSource, value: unknown): unknown {
  return mapYamlStrings(value, (v, path) => {
    if (!Object.hasOwn(yaml11Booleans, v)) return v;
    const span = source.span(path, 'value');
    const raw = span ? source.text.slice(span.start, span.end).trim() : '';
    return raw === v ? yaml11Booleans[v] : v;
  });
}
