import { describe, expect, it } from 'vitest';
import { type ShellContext, shellContexts } from './shell-context.js';

/** The context at each `@` of `text` (the `@` stands where a placeholder would be). */
function contextsOfMarks(text: string): ShellContext[] {
  const contexts = shellContexts(text);
  const found: ShellContext[] = [];
  for (let i = text.indexOf('@'); i >= 0; i = text.indexOf('@', i + 1))
    found.push(contexts.contextAt(i));
  return found;
}

describe('shellContexts', () => {
  it('tells code from quotes, comments and arithmetic', () => {
    expect(contextsOfMarks(`echo @ "a @ b" 'c @' # d @`)).toEqual([
      'code',
      'double',
      'single',
      'comment',
    ]);
    expect(contextsOfMarks('echo $(( @ + 1 )) @')).toEqual(['arithmetic', 'code']);
  });

  it('starts code again in $( ) and backquotes inside double quotes', () => {
    expect(contextsOfMarks('test -d "$(dirname -- @)" && echo "`echo @` @"')).toEqual([
      'code',
      'code',
      'double',
    ]);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, what is tested
  it('gives ${ } the context around it, and # inside it is no comment', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, what is tested
    expect(contextsOfMarks('echo ${x:-@} "${y#*/} @" ${#z} @')).toEqual(['code', 'double', 'code']);
  });

  it('reads here-document bodies until their delimiter, quoted or with <<-', () => {
    const text = "cat <<EOF >@\nbody @\nEOF\ncat <<-'END'\n\tquoted @\n\tEND\necho @";
    expect(contextsOfMarks(text)).toEqual(['code', 'heredoc', 'heredoc', 'code']);
  });

  it('reads a here-string (<<<) as a word of its line, not a here-document', () => {
    expect(contextsOfMarks('read -r x <<< "@"; echo @\ncurl @')).toEqual([
      'double',
      'code',
      'code',
    ]);
  });

  it('keeps escaped quotes and a # inside a word as code', () => {
    expect(contextsOfMarks('echo \\"@ a#b @ \\\'@')).toEqual(['code', 'code', 'code']);
  });
});
