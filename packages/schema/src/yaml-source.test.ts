import { describe, expect, it } from 'vitest';
import { parseYamlSource } from './yaml-source.js';

describe('YAML errors say the fix', () => {
  it('explains ": " inside an unquoted value as the start of a mapping, at its line', () => {
    const text =
      'steps:\n  - id: call\n    run: curl -H "Authorization: Bearer $X" {{ params.url }}\n';
    const { problems } = parseYamlSource('runbook.yaml', text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'runbook.yaml', line: 3 });
    expect(problems[0]!.message).toBe(
      `the value of run is not quoted and holds ": " (in "Authorization: "), which YAML reads as the start of a mapping: quote the whole value ('…', doubling any ' inside) or write it as a | block on the lines below`,
    );
  });

  it('keeps the indentation hint where no value holds ": "', () => {
    const { problems } = parseYamlSource('r.yaml', 'a:\n  b: 1\n c: 2\n');
    expect(problems[0]?.message).not.toMatch(/holds ": "/);
  });
});
