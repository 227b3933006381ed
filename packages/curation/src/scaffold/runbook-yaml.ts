/**
 * Writes a runbook (or any JSON-like value) as YAML a reviewer reads easily: block mappings and
 * sequences, plain scalars where YAML cannot misread them, double quotes (JSON's escapes, which
 * are YAML's) everywhere else, and `|` blocks for text of several lines. No anchors, aliases or
 * tags: the loader refuses them.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [k: string]: YamlValue };

const INDENT = '  ';

export function renderYaml(value: { [k: string]: YamlValue }): string {
  return `${mappingLines(value, '').join('\n')}\n`;
}

/** A YAML 1.1 or 1.2 word that a plain scalar would turn into something else than a string. */
const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~|\.inf|\.nan)$/i;

/** A string that can stand unquoted: no indicator, no `: ` or ` #`, not a number or keyword. */
function isPlainSafe(s: string): boolean {
  return (
    /^[A-Za-z_/][A-Za-z0-9_ ./()-]*$/.test(s) &&
    !RESERVED.test(s) &&
    !s.endsWith(' ') &&
    !s.includes('  ')
  );
}

export function yamlScalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value !== 'string') return String(value);
  return isPlainSafe(value) ? value : JSON.stringify(value);
}

/** Text of several lines as a `|` block; undefined when a block cannot hold it exactly. */
function blockScalar(s: string, indent: string): string[] | undefined {
  if (!s.includes('\n')) return undefined;
  // Control characters, a first line that starts with a space (it would set the indentation)
  // and trailing blank lines need quotes.
  if (/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029\r]/.test(s) || /^[ \t]/.test(s)) return;
  if (/\n\n$/.test(s) || s === '\n') return undefined;
  const chomp = s.endsWith('\n') ? '' : '-';
  const body = (chomp ? s : s.slice(0, -1)).split('\n');
  return [`|${chomp}`, ...body.map((l) => (l ? `${indent}${l}` : ''))];
}

function isScalar(v: YamlValue): v is string | number | boolean | null {
  return v === null || typeof v !== 'object';
}

function mappingLines(map: { [k: string]: YamlValue }, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    const k = `${indent}${yamlScalar(key)}:`;
    lines.push(...valueLines(k, value, indent));
  }
  return lines;
}

/** `head` (`key:` or `-`) followed by `value`, nested one level deeper than `indent`. */
function valueLines(head: string, value: YamlValue, indent: string): string[] {
  const inner = indent + INDENT;
  if (isScalar(value)) {
    const block = typeof value === 'string' ? blockScalar(value, inner) : undefined;
    if (block) return [`${head} ${block[0]}`, ...block.slice(1)];
    return [`${head} ${yamlScalar(value)}`];
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${head} []`];
    if (value.every((v) => typeof v === 'string' && isPlainSafe(v) && !v.includes(',')))
      return [`${head} [${value.join(', ')}]`];
    return [head, ...value.flatMap((item) => itemLines(item, inner))];
  }
  if (Object.keys(value).length === 0) return [`${head} {}`];
  return [head, ...mappingLines(value, inner)];
}

/** One sequence item: `- scalar`, or a mapping whose first key shares the `- ` line. */
function itemLines(item: YamlValue, indent: string): string[] {
  if (isScalar(item) || Array.isArray(item)) return valueLines(`${indent}-`, item, indent);
  const lines = mappingLines(item, `${indent}${INDENT}`);
  if (lines.length === 0) return [`${indent}- {}`];
  lines[0] = `${indent}- ${lines[0]!.slice(indent.length + INDENT.length)}`;
  return lines;
}
