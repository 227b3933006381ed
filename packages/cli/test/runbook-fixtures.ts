import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunbookFixture } from './opsbook-world.js';
import { repoRoot } from './run-cli.js';

/** A runbook as shipped in runbooks/, byte for byte. */
export async function shippedRunbook(name: string): Promise<RunbookFixture> {
  const dir = path.join(repoRoot, 'runbooks', name);
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as {
    version: string;
  };
  // Its scripts/ too: a runbook whose steps run scripts is not valid without them.
  const files: Record<string, string> = {};
  const scripts = await readdir(path.join(dir, 'scripts')).catch(() => [] as string[]);
  for (const name of scripts)
    files[`scripts/${name}`] = await readFile(path.join(dir, 'scripts', name), 'utf8');
  return {
    yaml: await readFile(path.join(dir, 'runbook.yaml'), 'utf8'),
    version: pkg.version,
    ...(scripts.length ? { files } : {}),
  };
}

/*
 * Small runbooks written by the tests. Each leaves marker files named after the host in the
 * `dir` param's folder, so a test can tell exactly which command ran where (every sshd "host"
 * shares this machine's filesystem).
 */

/** The lines before `spec:` of a test runbook; `title` and `description` default to none given. */
export function header(
  name: string,
  category: string,
  grade: string,
  more: { title?: string; description?: string } = {},
): string {
  return `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: ${name}
  title: ${more.title ?? `Test runbook ${name}`}
${more.description ? `  description: ${more.description}\n` : ''}  category: ${category}
  grade: ${grade}
  owners: [ops-test]
`;
}

/** The `dir` param every marker-writing runbook declares (one line of `spec.params`). */
export const dirParam = `    dir: {type: string, required: true, pattern: "^/", description: Marker folder}\n`;

/** Touches `<host>.pre` in prechecks and writes the host's color var to `<host>.ran`. */
export function markerRunbook(name = 'marker', grade = 'P3', category = 'change'): RunbookFixture {
  return {
    yaml: `${header(name, category, grade)}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  prechecks:
    - id: mark-pre
      name: Leave a marker before anything else
      run: touch {{ params.dir }}/{{ host.name }}.pre
  steps:
    - id: mark
      name: Write the host's color
      run: printf '%s\\n' {{ host.vars.color }} > {{ params.dir }}/{{ host.name }}.ran
`,
  };
}

/** Step one announces itself, sleeps, then marks that it finished; step two only marks. */
export const slowRunbook: RunbookFixture = {
  yaml: `${header('slow', 'change', 'P3')}spec:
  params:
${dirParam}    seconds: {type: integer, default: 3, minimum: 1}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: first
      name: Sleep a while
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep {{ params.seconds }} && touch {{ params.dir }}/{{ host.name }}.first-done
    - id: second
      name: Must not start after an interrupt
      run: touch {{ params.dir }}/{{ host.name }}.second
`,
};

/**
 * Its step announces itself, then holds until the test writes `<dir>/release` (at most 2 minutes,
 * then it fails): a test that needs a shard busy until it has seen something waits for that, not
 * for a number of seconds a loaded machine may spend before it looks.
 */
export const heldRunbook: RunbookFixture = {
  yaml: `${header('held', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: hold
      name: Hold until the test releases it
      run: touch {{ params.dir }}/{{ host.name }}.started && i=0 && while [ ! -e {{ params.dir }}/release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done && test -e {{ params.dir }}/release
`,
};

/** A step that outlives its timeout, and a rollback that leaves a marker. */
export const timeoutRunbook: RunbookFixture = {
  yaml: `${header('timeout', 'change', 'P3')}spec:
  params:
${dirParam}  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: hang
      name: Hang past the timeout
      run: touch {{ params.dir }}/{{ host.name }}.started && sleep 60 && touch {{ params.dir }}/{{ host.name }}.not-killed
      timeout: 1s
  rollback:
    - id: undo
      name: Roll back
      run: touch {{ params.dir }}/{{ host.name }}.rolled-back
`,
};

/**
 * Writes params x, x1…x{extra}, byte for byte, to `<host>.x`, `<host>.x1`, … with the template
 * `printf %s {{ params.x }} > …`: one run checks many hostile values at once.
 */
export function echoParamRunbook(extra: number): RunbookFixture {
  const names = ['x', ...Array.from({ length: extra }, (_, i) => `x${i + 1}`)];
  const params = names.map((n) => `    ${n}: {type: string, required: true}\n`).join('');
  const steps = names
    .map(
      (n) => `    - id: write-${n}
      name: Write ${n}
      run: printf %s {{ params.${n} }} > {{ params.dir }}/{{ host.name }}.${n}
`,
    )
    .join('');
  return {
    yaml: `${header('echo-param', 'change', 'P3')}spec:
  params:
${dirParam}${params}  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
${steps}`,
  };
}

/** A secret param used by a script and echoed by a command: it must be masked everywhere. */
export const secretRunbook: RunbookFixture = {
  yaml: `${header('secret-token', 'change', 'P3')}spec:
  params:
${dirParam}    token: {type: string, secret: true, minLength: 8, description: API token}
  targets: {default: all, concurrency: 10, maxFailures: 0}
  steps:
    - id: use-token
      name: Use the token in a script
      script: scripts/use-token.sh
      args: ["--verbose"]
    - id: echo-token
      name: A careless command that prints the token
      run: echo token is {{ params.token }} && echo on stderr {{ params.token }} >&2
`,
  files: {
    'scripts/use-token.sh': `#!/bin/sh
set -eu
printf %s "$OPSBOOK_PARAM_TOKEN" | sha256sum | cut -d' ' -f1 > "$OPSBOOK_PARAM_DIR/$OPSBOOK_HOST.token-sha256"
echo "script got token $OPSBOOK_PARAM_TOKEN with $1"
`,
  },
};

/*
 * Composition (docs/composition.md): `maintenance` composes `log-tidy@^1.2.0` between two steps of
 * its own, handing it its params through `with:`.
 */

/** The composed runbook: every phase leaves a marker; `fail` makes its main step fail. */
export function logTidy(version: string, tidyScript = TIDY_SCRIPT): RunbookFixture {
  return {
    version,
    yaml: `${header('log-tidy', 'change', 'P3')}spec:
  params:
${dirParam}    keep: {type: integer, default: 7, minimum: 1, description: Days to keep}
    label: {type: string, default: none, description: A label written as it is}
    fail: {type: boolean, default: false, description: Fail the tidy step}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  prechecks:
    - id: pre
      name: Leave a marker first
      run: touch {{ params.dir }}/{{ host.name }}.tidy-pre
  steps:
    - id: tidy
      name: Keep the days, by script
      script: scripts/tidy.sh
    - id: label
      name: Write the label byte for byte
      run: printf %s {{ params.label }} > {{ params.dir }}/{{ host.name }}.label
    - id: maybe-fail
      name: Fail when asked
      run: test {{ params.fail }} = false
  postchecks:
    - id: check
      name: The script ran
      run: test -f {{ params.dir }}/{{ host.name }}.tidy-keep
  rollback:
    - id: undo
      name: Undo the tidy
      run: touch {{ params.dir }}/{{ host.name }}.tidy-undo
  evidence:
    - id: list
      name: What is there
      run: ls {{ params.dir }}
`,
    files: { 'scripts/tidy.sh': tidyScript },
  };
}

export const TIDY_SCRIPT = `#!/bin/sh
set -eu
printf '%s\\n' "$OPSBOOK_PARAM_KEEP" > "$OPSBOOK_PARAM_DIR/$OPSBOOK_HOST.tidy-keep"
`;

/** The composite: a step of its own, the composed runbook, another step; and its own rollback. */
export const maintenance: RunbookFixture = {
  yaml: `${header('maintenance', 'change', 'P3')}spec:
  params:
${dirParam}    days: {type: integer, default: 14, minimum: 1, description: Days of logs to keep}
    note: {type: string, default: routine, description: A note for the label}
    fail: {type: boolean, default: false, description: Make the tidy fail}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: before
      name: Before the tidy
      run: touch {{ params.dir }}/{{ host.name }}.before
    - id: tidy
      name: Tidy the logs
      uses: runbook:log-tidy@^1.2.0
      with:
        dir: "{{ params.dir }}"
        keep: "{{ params.days }}"
        label: "note: {{ params.note }}"
        fail: "{{ params.fail }}"
    - id: after
      name: After the tidy
      run: touch {{ params.dir }}/{{ host.name }}.after
  rollback:
    - id: undo-all
      name: The composite's own rollback
      run: touch {{ params.dir }}/{{ host.name }}.maintenance-undo
`,
};

/** The step-end events (stepEndsOf) of a host where `maintenance` ran ok. */
export const maintenanceStepsOk = [
  'steps:before:ok',
  'prechecks:tidy/pre:ok',
  'steps:tidy/tidy:ok',
  'steps:tidy/label:ok',
  'steps:tidy/maybe-fail:ok',
  'postchecks:tidy/check:ok',
  'evidence:tidy/list:ok',
  // The composing step ends after its runbook: ok, since every composed phase was.
  'steps:tidy:ok',
  'steps:after:ok',
];
