import type { ParamSpec } from '@opsbook/schema';
import {
  firstVersionChangeset,
  type RunbookCategory,
  type RunbookGrade,
  runbookPackageJson,
} from '../scaffold/runbook-package.js';
import { renderYaml, type YamlValue } from '../scaffold/runbook-yaml.js';
import { renderPrologue } from './param-prologue.js';
import {
  type DetectedParam,
  detectScriptInterface,
  type ScriptProblem,
} from './script-interface.js';

/**
 * The runbook `opsbook promote` makes of an ad-hoc script, as files: runbook.yaml with the
 * params the script's arguments and environment gave, the script under scripts/ with the lines
 * that hand it those params, package.json, and the changeset of its first version. Pure: the
 * caller checks the script was text, writes the files, and proves the result valid.
 */

export interface PromotionRequest {
  name: string;
  /** The script's file name (its folder is not kept). */
  scriptName: string;
  scriptText: string;
  category: RunbookCategory;
  grade: RunbookGrade;
  title?: string;
  description?: string;
}

export interface PromotedFile {
  /** Relative to the runbook folder, with `/`. */
  path: string;
  text: string;
}

export interface Promotion {
  name: string;
  /** The promoted script, relative to the runbook folder. */
  script: string;
  files: PromotedFile[];
  /** From the repository root. */
  changeset: PromotedFile;
  params: DetectedParam[];
  notes: string[];
  /** Why the script cannot be promoted as it is, at its lines: nothing may be written. */
  problems: ScriptProblem[];
  /** The line of the original script a line of the promoted one came from (1-based), if any. */
  originalLine(line: number): number | undefined;
  /**
   * For a line promote added (originalLine gives none), the line of the original script it goes
   * before (1-based): what is found there is shown at a line the user's script has.
   */
  addedBefore(line: number): number;
}

/** Shells whose scripts are promoted for sh (they mostly are sh); anything else is refused. */
const SH = /^(?:sh|dash|ash|posix|busybox)$/;
const SH_LIKE = /^(?:bash|ksh|ksh93|mksh|lksh|pdksh|zsh)$/;

export interface Shebang {
  interpreter: string;
  /** Options after the interpreter that `set` understands (`-e`, `-eu`). */
  setOptions?: string;
  line: string;
}

/** The interpreter a `#!` line names (`/usr/bin/env bash` → bash), or undefined for none. */
export function readShebang(text: string): Shebang | undefined {
  const line = /^#!([^\n]*)/.exec(text)?.[1];
  if (line === undefined) return undefined;
  const words = line.trim().split(/\s+/);
  const env = words[0]?.endsWith('/env') ? 1 : 0;
  const interpreter = (words[env] ?? '').split('/').pop() ?? '';
  const options = words
    .slice(env + 1)
    .filter((w) => /^-[efuvx]+$/.test(w))
    .map((w) => w.slice(1))
    .join('');
  return { interpreter, line: `#!${line}`, ...(options ? { setOptions: `-${options}` } : {}) };
}

/** Whether a `#!` interpreter is a shell opsbook can run the script with (as sh). */
export function isShellInterpreter(interpreter: string): boolean {
  return SH.test(interpreter) || SH_LIKE.test(interpreter);
}

export function planPromotion(request: PromotionRequest): Promotion {
  const { name, scriptName, scriptText } = request;
  const shebang = readShebang(scriptText);
  const detected = detectScriptInterface(scriptText);
  const notes = [...detected.notes];
  const params = detected.params;
  const lines = scriptText.split('\n');
  const start = shebang ? 1 : 0;
  const headerEnd = headerLength(lines, start);
  const extra: string[] = [];
  const isSh = shebang === undefined || SH.test(shebang.interpreter);
  if (!isSh) {
    extra.push(
      `# Its #! line was ${shebang.line.trim()}: the runner runs every script with sh (sh FILE), so`,
      '# it is checked and run as sh; make sure it uses nothing sh lacks.',
    );
    notes.push(
      `the script's #! named ${shebang.interpreter}: the runner runs scripts with sh, so it is now #!/bin/sh (it uses nothing sh lacks: that would be a lint error)`,
    );
  }
  // `sh FILE` ignores the #! line's options: they become a `set` line.
  if (shebang?.setOptions) extra.push(`set ${shebang.setOptions}`);
  const prologue = renderPrologue(params);
  const inserted = [
    ...(extra.length && !prologue.length ? ['# opsbook promote:'] : []),
    ...extra,
    ...prologue,
  ];
  const head = [isSh && shebang ? shebang.line : '#!/bin/sh', ...lines.slice(start, headerEnd)];
  const promoted = [...head, ...inserted, ...lines.slice(headerEnd)].join('\n');
  const script = `scripts/${safeFileName(scriptName)}`;
  const shifted = head.length + inserted.length;
  const originalLine = (line: number): number | undefined => {
    if (line === 1) return shebang ? 1 : undefined;
    if (line <= head.length) return line - 1 + start;
    if (line <= shifted) return undefined;
    return headerEnd + line - shifted;
  };
  // A #!/bin/sh put first goes before the script's line 1; the rest after its header.
  const addedBefore = (line: number): number => (line === 1 ? 1 : headerEnd + 1);
  const header = headerComments(lines.slice(start, headerEnd));
  const title =
    request.title ??
    header.find((l) => isTitleLike(l)) ??
    `TODO: say in one line what ${name} does`;
  const runbook = runbookDocument(request, { title, header, script, params, notes });
  return {
    name,
    script,
    files: [
      { path: 'package.json', text: runbookPackageJson(name, title) },
      { path: 'runbook.yaml', text: renderYaml(runbook) },
      { path: script, text: promoted },
    ],
    changeset: firstVersionChangeset(
      name,
      `First version of the ${name} runbook, promoted from the ad-hoc script ${scriptName}.`,
    ),
    params,
    notes,
    problems: detected.problems,
    originalLine,
    addedBefore,
  };
}

/** The end of the script's header: the comments and blank lines from line `start` (0-based). */
function headerLength(lines: readonly string[], start: number): number {
  let k = start;
  while (k < lines.length && /^\s*(?:#.*)?$/.test(lines[k]!)) k++;
  return k;
}

/** The header's comments as text, directives left out, blank lines at either end dropped. */
function headerComments(lines: readonly string[]): string[] {
  const text = lines
    .map((l) => l.replace(/^\s*#+\s?/, '').trimEnd())
    .filter((l) => !/^\s*(?:shellcheck\s|opsbook-lint\s|-\*-|vim?:)/.test(l));
  while (text.length && !text[0]) text.shift();
  while (text.length && !text[text.length - 1]) text.pop();
  return text;
}

function isTitleLike(line: string): boolean {
  const l = line.trim();
  return (
    l.length >= 3 &&
    l.length <= 200 &&
    !/^(?:usage|example|author|copyright)\b/i.test(l) &&
    /[A-Za-z]/.test(l)
  );
}

function safeFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '');
  return safe || 'script.sh';
}

function stepId(script: string): string {
  const stem = script
    .replace(/^scripts\//, '')
    .replace(/\.[A-Za-z0-9]+$/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `run-${stem || 'script'}`.slice(0, 64).replace(/-+$/, '');
}

function runbookDocument(
  request: PromotionRequest,
  facts: {
    title: string;
    header: string[];
    script: string;
    params: DetectedParam[];
    notes: string[];
  },
): { [k: string]: YamlValue } {
  const { name, scriptName, category, grade } = request;
  const provenance = [
    `Promoted with opsbook promote from the ad-hoc script ${scriptName}.`,
    ...(facts.header.some((l) => l.trim())
      ? ['Its header said:', ...facts.header.map((l) => (l ? `  ${l}` : ''))]
      : []),
  ];
  const description = [
    request.description?.trim() ??
      'TODO: when to use this runbook, what it changes, and how to tell it worked.',
    '',
    ...provenance,
  ]
    .join('\n')
    .replace(/\n+$/, '')
    .concat('\n');
  const isChange = category === 'change';
  const step: { [k: string]: YamlValue } = {
    id: stepId(facts.script),
    name: `Run ${scriptName}`,
    script: facts.script,
    // The runner's default, written out: a change says how long it may take (lint: timeout-missing).
    ...(isChange ? { timeout: '15m' } : {}),
  };
  const spec: { [k: string]: YamlValue } = {
    ...(facts.params.length
      ? { params: Object.fromEntries(facts.params.map((p) => [p.name, paramSpecOf(p)])) }
      : {}),
    // One host at a time until the expert who reviews it says more is safe.
    targets: { concurrency: 1, maxFailures: 0 },
    steps: [step],
  };
  if (isChange) {
    spec.postchecks = [
      {
        id: 'check-result',
        name: 'TODO: prove the change worked (this check fails until it is written)',
        run: `echo 'TODO: write the postcheck of ${name} in runbook.yaml' >&2; exit 1`,
      },
    ];
    facts.notes.push(
      'a change runbook needs a postcheck that proves the change worked: the one written fails until you write it',
    );
  }
  return {
    apiVersion: 'opsbook/v1',
    kind: 'Runbook',
    metadata: { name, title: facts.title, description, category, grade },
    spec,
  };
}

function paramSpecOf(p: DetectedParam): { [k: string]: YamlValue } {
  const spec: ParamSpec = {
    type: p.type,
    ...(p.default !== undefined ? { default: p.default } : {}),
    // Without a default, a param is required unless it says otherwise: one the script gives a
    // default of its own (computed, or a secret's) or reads without one may be left out.
    ...(p.default === undefined ? { required: p.required } : {}),
    ...(p.secret ? { secret: true } : {}),
    description: p.description,
  };
  return spec as { [k: string]: YamlValue };
}
