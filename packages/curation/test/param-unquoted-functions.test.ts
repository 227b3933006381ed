import { describe, expect, it } from 'vitest';
import { lintFixture } from './lint-fixture.js';

/*
 * A shell function's call starts no process, but the shell splits and globs an unquoted word
 * there as for any command: `clean $OPSBOOK_PARAM_DIR` hands the function several arguments.
 */

describe('param-unquoted: the arguments of a shell function', () => {
  it("fails a param unquoted in a function's call, and in the function where it expands $1 unquoted", async () => {
    const r = await lintFixture({
      params: '    dir: {type: string, description: Folder}',
      phases: '  steps:\n    - id: clean\n      name: Clean\n      script: scripts/clean.sh',
      files: {
        'scripts/clean.sh': [
          '#!/bin/sh',
          'clean() { rm -rf -- "$1"/cache; }',
          'show() { ls -- $1; }',
          'clean $OPSBOOK_PARAM_DIR',
          'show "$OPSBOOK_PARAM_DIR"',
          '',
        ].join('\n'),
      },
    });
    expect(r.of('param-unquoted')).toEqual([
      r.at('$1;', 'scripts/clean.sh'),
      r.at('$OPSBOOK_PARAM_DIR\n', 'scripts/clean.sh'),
    ]);
  });

  it('keeps option-injection at a placeholder that starts a function call argument', async () => {
    const r = await lintFixture({
      phases:
        '  steps:\n    - id: list\n      name: List\n      run: show() { ls "$1"; }; show {{ host.vars.dir }}',
    });
    expect(r.of('option-injection')).toEqual([r.at('{{ host.vars.dir }}')]);
  });
});
