import { describe, expect, it } from 'vitest';
import { placeholderSpotProblem, runTemplateSkeleton } from './run-template.js';

/** Why each placeholder of `run` is refused, or 'ok'. */
function verdicts(run: string): string[] {
  return runTemplateSkeleton(run).placeholders.map((p) => placeholderSpotProblem(p, false) ?? 'ok');
}

describe('where a placeholder is refused in a run: block', () => {
  it('accepts the spots where the shell reads the quoted word it becomes', () => {
    for (const run of [
      'ls -- {{ params.p }}',
      'test -d "$(dirname -- {{ params.p }})"',
      'dir={{ params.p }} && echo "cleaning $dir"',
      "cat <<'EOF' > {{ params.p }}/note\nwritten\nEOF",
      'echo ${X:-{{ params.p }}} ${X#{{ params.p }}} ${X%%{{ params.p }}}',
      'export DIR={{ params.p }}; local dir={{ params.p }}',
      'grep -v {{ params.p }} /etc/hosts',
      '[ -n {{ params.p }} ] && echo set',
      'echo a \\\n  {{ params.p }}',
      '# a comment: {{ params.p }}',
      'printf %s {{ params.p }} | read -r line',
      'read -r pid < {{ params.p }} && mapfile -t lines < {{ params.p }}',
      'read -r line <<< {{ params.p }}',
    ])
      expect(verdicts(run), run).toEqual(verdicts(run).map(() => 'ok'));
  });

  it.each([
    ['echo "x {{ params.p }}"', 'is inside double quotes'],
    ["echo 'x {{ params.p }}'", 'is inside single quotes'],
    ['cat <<EOF\n{{ params.p }}\nEOF', 'is in a here-document'],
    ['echo $(( {{ params.p }} + 1 ))', 'is inside $(( ))'],
    ['echo \\{{ params.p }}', 'follows a backslash'],
    ['echo ${{ params.p }}', 'follows a $'],
    // A line continuation is removed before the shell reads: `$\⏎'…'` is `$'…'`.
    ['echo price $\\\n{{ params.p }}', 'follows a $'],
    ['echo `cat {{ params.p }}`', 'is inside backquotes'],
    ["echo $'Don\\'t restart {{ params.p }} now'", "follows a $'…' string"],
    ["echo $'don\\'t touch ' {{ params.p }}", "follows a $'…' string"],
    ['(( {{ params.p }} > 1 )) && echo big', 'is inside $(( ))'],
    ['let m={{ params.p }}', 'is in a command that evaluates arithmetic'],
    ['local -i n={{ params.p }}', 'is in a command that evaluates arithmetic'],
    ['l=1; [[ $l -le {{ params.p }} ]] && echo ok', 'is inside [[ ]]'],
    ['echo ${a[{{ params.p }}]}', 'is inside ${ }'],
    ['echo ${X:{{ params.p }}}', 'is inside ${ }'],
    ['a[{{ params.p }}]=1', 'is inside a [ ] subscript'],
    ['echo $[{{ params.p }} + 1]', 'is inside a [ ] subscript'],
    ['read -r {{ params.p }} < /etc/hostname', 'is used as a variable name'],
    ['unset {{ params.p }}', 'is used as a variable name'],
    ['printf -v {{ params.p }} %s x', 'is used as a variable name'],
    ['if [ -v {{ params.p }} ]; then :; fi', 'is used as a variable name'],
  ])('refuses %j', (run, why) => {
    const [verdict, ...others] = verdicts(run);
    expect(others).toEqual([]);
    expect(verdict?.startsWith(why), verdict).toBe(true);
  });
});
