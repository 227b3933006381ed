import { describe, expect, it } from 'vitest';
import { scalarOffsets } from './scalar-offsets.js';
import { parseYamlSource } from './yaml-source.js';

/** Where in the YAML text the first `needle` of the `run` value comes from. */
function sourceOf(yaml: string, needle: string): string {
  const source = parseYamlSource('x.yaml', yaml);
  const value = (source.value as { run: string }).run;
  const span = source.span(['run'])!;
  const at = scalarOffsets(source.text, span, value)(value.indexOf(needle));
  return source.text.slice(at, at + needle.length);
}

describe('scalarOffsets', () => {
  it('maps literal and folded blocks, with deeper indentation kept', () => {
    const literal = 'run: |\n  if true; then\n    echo $x\n  fi\n';
    expect(sourceOf(literal, '$x')).toBe('$x');
    const folded = 'run: >-\n  find /a -type f\n  -name "*.log" -print $y\n';
    expect(sourceOf(folded, '$y')).toBe('$y');
  });

  it('maps plain and quoted scalars, escapes and folded lines included', () => {
    expect(sourceOf('run: echo a\n  b $z\n', '$z')).toBe('$z');
    expect(sourceOf(`run: 'it''s $q'\n`, '$q')).toBe('$q');
    expect(sourceOf('run: "say \\"hi\\" \\x41 $d"\n', '$d')).toBe('$d');
    expect(sourceOf('run: "one \\\n  two $e"\n', '$e')).toBe('$e');
  });
});
