import path from 'node:path';
import {
  type ParamSpec,
  type PathSegment,
  parseComposeRef,
  type RunbookBundle,
} from '@opsbook/schema';
import { holdsNoCommand } from '../script-empty.js';
import {
  remoteHops,
  type SiblingFileUse,
  siblingFileUses,
  unpinnedDownloads,
  unprivilegedCommands,
} from './command-checks.js';
import { lineIndex } from './line-index.js';
import type { LintFinding } from './lint-finding.js';
import { lintRules, type OwnRuleId } from './lint-rules.js';
import { paramVariable, secretsInArguments, unquotedParams, VAULT_PREFIX } from './param-flow.js';
import type { Placeholder } from './run-block.js';
import { argvWordAt, type CommandWord, commandWordAt } from './shell-commands.js';
import { type LocatedStep, positionOf, type ShellText } from './shell-texts.js';

/** opsbook's own rules (lint-rules.ts) over one runbook: pure, given its steps and shell texts. */
export function ownRuleFindings(
  bundle: RunbookBundle,
  steps: readonly LocatedStep[],
  texts: readonly ShellText[],
  vaultedHostVars: readonly string[] = [],
): LintFinding[] {
  const vaulted = new Set(vaultedHostVars);
  const isCredential = (name: string) => CREDENTIAL_NAME.test(name) || vaulted.has(name);
  /** Why a host var is taken for a credential: the inventory vaults it, or its name. */
  const whyCredential = (name: string) =>
    vaulted.has(name) ? 'Ansible Vault encrypted in the inventory' : 'named as a credential';
  const findings: LintFinding[] = [];
  const { runbook } = bundle;
  const params = runbook.spec.params ?? {};
  const add = (
    rule: OwnRuleId,
    at: { file: string; line: number; col: number; endLine?: number; endCol?: number },
    message: string,
    step?: LocatedStep,
  ) =>
    findings.push({
      rule,
      source: 'opsbook',
      severity: lintRules.get(rule)!.severity,
      file: at.file,
      line: at.line,
      col: at.col,
      endLine: at.endLine ?? at.line,
      endCol: at.endCol ?? at.col,
      message,
      runbook: bundle.name,
      ...(step ? { step: { phase: step.phase, id: step.step.id } } : {}),
    });
  const lines = lineIndex(bundle.source.text);
  const inYaml = (p: PathSegment[], which: 'key' | 'value' = 'value') => {
    const start = bundle.source.locate(p, which);
    const span = bundle.source.span(p, which);
    const end = span ? lines.position(Math.max(span.start, span.end - 1)) : start;
    // A whole mapping's end is many lines on: a finding about it marks its first line.
    const endOn = end.line === start.line ? end : { line: start.line, col: start.col };
    return { file: bundle.file, ...start, endLine: endOn.line, endCol: endOn.col };
  };

  for (const [name, spec] of Object.entries(params)) {
    const leaving = spec.type === 'string' && spec.pattern ? folderEscape(spec.pattern) : undefined;
    if (leaving)
      add(
        'path-pattern-escape',
        inYaml(['spec', 'params', name, 'pattern']),
        `param '${name}': its pattern confines it to ${leaving.folder} but matches ${leaving.value}, which leaves that folder through '..': refuse . and .. segments, e.g. pattern: "^/(?!.*/[.]{1,2}/)(?!.*/[.]{1,2}$)${leaving.folder.slice(1)}[A-Za-z0-9._/-]+$"`,
      );
  }

  const isChange = runbook.metadata.category === 'change';
  if (isChange && !runbook.spec.postchecks?.length)
    add(
      'change-without-postcheck',
      inYaml(['metadata', 'category']),
      'a change runbook needs postchecks: add spec.postchecks that prove the change took effect (the service answers, the file has the approved sha256)',
    );
  if (isChange && !runbook.spec.rollback?.length)
    add(
      'change-without-rollback',
      inYaml(['metadata', 'category']),
      'a change runbook has no rollback: add spec.rollback steps that undo the change on a host where a step failed, or suppress with the reason there is nothing to undo',
    );
  // The scaffolds (pnpm new-runbook, opsbook promote) leave TODO text: still to be written.
  const unwritten = (text: string | undefined) => !text?.trim() || /^\s*TODO\b/i.test(text);
  const todo = (text: string | undefined) => (text?.trim() ? 'is still the TODO placeholder' : '');
  const description = runbook.metadata.description;
  const why =
    'say when to use the runbook and what it changes (engineers and seniors read it in opsbook show and the plan)';
  // A placeholder or empty text is edited where it stands; a missing one is added to the block.
  if (description !== undefined && unwritten(description))
    add(
      'description-missing',
      inYaml(['metadata', 'description']),
      `metadata.description ${todo(description) || 'is empty'}: ${why}`,
    );
  else if (description === undefined) {
    const title = bundle.source.locate(['metadata', 'title'], 'key');
    add(
      'description-missing',
      inYaml(['metadata'], 'key'),
      `the runbook has no description: add \`description:\` under \`metadata:\` (after \`title:\` on line ${title.line}) and ${why}`,
    );
  }
  if (/^\s*TODO\b/i.test(runbook.metadata.title))
    add(
      'description-missing',
      inYaml(['metadata', 'title']),
      'metadata.title is still the TODO placeholder: say in one line what the runbook does (opsbook list, tickets and plans show it)',
    );
  for (const [name, spec] of Object.entries(runbook.spec.params ?? {}))
    if (unwritten(spec.description))
      add(
        'description-missing',
        inYaml(['spec', 'params', name], 'key'),
        `param '${name}' ${spec.description?.trim() ? 'has the TODO placeholder as its description' : 'has no description'}: say what the value is and its unit (shown by opsbook show and plan)`,
      );

  for (const located of steps) {
    const { step, phase, index } = located;
    const stepPath: PathSegment[] = ['spec', phase, index];
    // A step that composes a runbook may not carry timeout: (its composed steps carry theirs).
    if (
      isChange &&
      (phase === 'steps' || phase === 'rollback') &&
      step.timeout === undefined &&
      !parseComposeRef(step.uses)
    )
      add(
        'timeout-missing',
        inYaml([...stepPath, 'id']),
        `${phase === 'rollback' ? 'rollback step' : 'step'} '${step.id}' of a change runbook has no timeout: the runner kills it only after its default (15m); set timeout: to what it needs (e.g. timeout: 2m)`,
        located,
      );
    const placeholder = scaffoldPlaceholder(step);
    if (placeholder)
      add(
        'scaffold-todo',
        inYaml([...stepPath, placeholder.key]),
        phase === 'postchecks'
          ? `postcheck '${step.id}' is still the scaffold's placeholder (${placeholder.why}), which fails every run: write a check that proves the change worked (the service answers, the file has the approved sha256)`
          : `${PHASE_NOUN[phase]} '${step.id}' is still the scaffold's placeholder (${placeholder.why}): write the real command and name it for what it does; the scaffold left it for you`,
        located,
      );
    if (step.sudo === true && step.uses === undefined) {
      // A script is read once, under the first step that uses it: find it by its path.
      const script = step.script && path.join(bundle.dir, step.script.replace(/^\.\//, ''));
      const text = texts.find((t) =>
        script ? t.path === script : t.step.phase === phase && t.step.index === index,
      );
      const commands = text ? unprivilegedCommands(text.text) : undefined;
      if (commands)
        add(
          'sudo-unneeded',
          inYaml([...stepPath, 'sudo'], 'key'),
          `sudo: true, but every command of step '${step.id}' (${commands.join(', ')}) works without root: remove sudo: true so that it runs with the least privilege`,
          located,
        );
    }
  }

  const secretParams = Object.entries(runbook.spec.params ?? {})
    .filter(([, spec]) => spec.secret === true)
    .map(([name]) => name);
  // Values that splitting and globbing leave whole: numbers, booleans, an enum of plain words.
  const splittableParams = Object.entries(runbook.spec.params ?? {})
    .filter(
      ([, spec]) =>
        spec.type === 'string' &&
        !spec.enum?.every((v) => /^[A-Za-z0-9_.,:@%+=/-]*$/.test(String(v))),
    )
    .map(([name]) => name);
  for (const text of texts) {
    const step = steps.find((s) => s.phase === text.step.phase && s.index === text.step.index);
    // A secret param's placeholder, and a credential-named host var's (`pw={{ host.vars.db_password
    // }}; mysql -p"$pw"`): what is assigned from them is followed.
    const seeds = text.placeholders.flatMap((p) =>
      (p.isSecret && p.ref.kind === 'param') ||
      (p.ref.kind === 'host-var' && isCredential(p.ref.name))
        ? [
            {
              start: p.renderedStart,
              end: p.renderedStart + p.raw.length,
              param: `${p.ref.kind === 'host-var' ? CREDENTIAL_PREFIX : ''}${(p.ref as { name: string }).name}`,
            },
          ]
        : [],
    );
    for (const leak of secretsInArguments(text.text, secretParams, seeds)) {
      if (leak.param.startsWith(CREDENTIAL_PREFIX)) {
        const name = leak.param.slice(CREDENTIAL_PREFIX.length);
        // What to hand over in the hint: the variable, or the placeholder when none holds it
        // there (a file, a run: block's placeholder read by xargs).
        const value = isShellVariable(leak.variable)
          ? `"$${leak.variable}"`
          : `{{ host.vars.${name} }}`;
        add(
          'secret-in-command',
          {
            file: text.file,
            ...positionOf(text, leak.start),
            ...endOf(positionOf(text, leak.end - 1)),
          },
          `host var '${name}' (${whyCredential(name)}; ${leak.through ?? `$${leak.variable}`}, from {{ host.vars.${name} }}) is expanded into an argument of ${leak.command ?? 'a command'}: every user of the host can read it in ps and /proc; hand it over in the environment the program reads, as an assignment word before the command (e.g. PGPASSWORD=${value} psql …), or on stdin (printf '%s' ${value} | …)`,
          step,
        );
        continue;
      }
      const vault = leak.param.startsWith(VAULT_PREFIX)
        ? leak.param.slice(VAULT_PREFIX.length)
        : undefined;
      const name = vault ?? leak.param;
      const variable = vault !== undefined ? `OPSBOOK_VAULT_${vault}` : paramVariable(name);
      const via = leak.through
        ? `${leak.through}, from `
        : leak.variable === variable
          ? ''
          : `$${leak.variable}, from `;
      const shown = isShellVariable(leak.variable) ? leak.variable : variable;
      add(
        'secret-in-command',
        {
          file: text.file,
          ...positionOf(text, leak.start),
          ...endOf(positionOf(text, leak.end - 1)),
        },
        `${vault !== undefined ? 'Ansible Vault encrypted host var' : 'secret param'} '${name}' (${via}$${variable}) is expanded into an argument of ${leak.command ?? 'a command'}: every user of the host can read it in ps and /proc; hand it over in the environment the program reads, as an assignment word before the command (e.g. PGPASSWORD="$${shown}" psql …), or on stdin (printf '%s' "$${shown}" | …)`,
        step,
      );
    }
    // A run: block's placeholder is quoted already; a variable assigned from it is not.
    const copies = text.placeholders
      .filter((p) => p.ref.kind === 'param' && splittableParams.includes(p.ref.name))
      .map((p) => ({
        start: p.renderedStart,
        end: p.renderedStart + p.raw.length,
        param: (p.ref as { name: string }).name,
      }));
    for (const use of unquotedParams(text.text, splittableParams, copies)) {
      const variable = paramVariable(use.param);
      const source = text.kind === 'run' ? `{{ params.${use.param} }}` : `$${variable}`;
      const from = use.variable === variable ? `$${variable}` : `$${use.variable}, from ${source}`;
      add(
        'param-unquoted',
        {
          file: text.file,
          ...positionOf(text, use.start),
          ...endOf(positionOf(text, use.end - 1)),
        },
        `param '${use.param}' (${from}) is expanded unquoted into an argument of ${use.command ?? 'a command'}: the shell splits its value on blanks and expands * ? [ in it, so one value becomes several arguments, or options (a value ' /' turns rm -rf /tmp/$X/* into rm -rf /tmp/ /*); quote it: "$${use.variable}"`,
        step,
      );
    }
    for (const hop of remoteHops(text.text))
      add(
        'remote-hop',
        { file: text.file, ...positionOf(text, hop.offset) },
        `${hop.command} reaches another host from the target: that host is not among the hosts the approval names, opsbook does not check its host key against the runner's known_hosts, and what runs there is journaled as this host's output only; make that host a target (inventory and targets:) and run the command there as a step, or suppress with the reason (# opsbook-lint disable=remote-hop REASON) so that the senior reads why`,
        step,
      );
    for (const offset of unpinnedDownloads(text.text))
      add(
        'unpinned-download',
        { file: text.file, ...positionOf(text, offset) },
        'this downloads code and runs it unchecked: what runs is whatever the server sends that day, not what was approved; put the script in the runbook folder (script:), or download it to a file, check its sha256 (sha256sum -c) and run that',
        step,
      );
    for (const p of text.placeholders) {
      const at = placeholderRange(text, p);
      // In a comment it runs nowhere; as an assignment word (the command's environment) or to
      // export and the like, it is in no process's argv.
      const word = commandWordAt(text.text, p.renderedStart);
      // Through $(…): its output is where the substitution stands.
      const isInArgv = (role = argvWordAt(text.text, p.renderedStart)?.role) =>
        role !== 'assignment' && role !== 'builtin-argument' && role !== 'redirection';
      if (p.isSecret && p.ref.kind === 'param' && p.context !== 'comment' && isInArgv())
        add(
          'secret-in-command',
          at,
          `secret param '${p.ref.name}' is used in a command: its value becomes an argument of ${word?.command ?? 'the process'}, which every user of the host can read in ps and /proc; hand it over in the environment the program reads, as an assignment word before the command (e.g. PGPASSWORD={{ params.${p.ref.name} }} psql …), or on stdin (printf '%s' {{ params.${p.ref.name} }} | …), or use a script: step`,
          step,
        );
      if (
        p.ref.kind === 'host-var' &&
        isCredential(p.ref.name) &&
        p.context !== 'comment' &&
        isInArgv()
      )
        add(
          'secret-in-command',
          at,
          `host var '${p.ref.name}' is ${vaulted.has(p.ref.name) ? 'Ansible Vault encrypted in the inventory (it reaches the command' : 'named as a credential (an Ansible Vault encrypted one reaches the command'} as "$OPSBOOK_VAULT_${p.ref.name}"), and its value becomes an argument of ${word?.command ?? 'the process'}, which every user of the host can read in ps and /proc; hand it over in the environment the program reads, as an assignment word before the command (e.g. PGPASSWORD={{ host.vars.${p.ref.name} }} psql …), or on stdin (printf '%s' {{ host.vars.${p.ref.name} }} | …)`,
          step,
        );
      if (
        !p.isSecret &&
        p.context === 'code' &&
        word &&
        readAsOption(word) &&
        mayStartWithDash(p.ref, params)
      )
        add(
          'option-injection',
          at,
          `${p.raw} starts an argument of ${word.command ?? 'a command'} with no -- before it: a value that starts with - is read as an option, and some options run commands (ssh -oProxyCommand=…, tar --to-command=…, find -exec …); write -- before it (${word.command ?? 'command'} [options] -- {{ … }}), or ${p.ref.kind === 'param' ? `give param '${p.ref.name}' a pattern that cannot start with - (pattern: "^[A-Za-z0-9/]…")` : 'use a param with a pattern instead: a host var has none'}`,
          step,
        );
    }
    if (text.kind === 'script') {
      const interpreter = shebangInterpreter(text.text);
      if (interpreter && !/^(?:sh|dash|ash|posix)$/.test(interpreter))
        add(
          'script-not-sh',
          { file: text.file, line: 1, col: 1, endLine: 1, endCol: text.text.indexOf('\n') },
          `the runner runs scripts with sh (sh FILE), so this #! (${interpreter}) is ignored: write the script for POSIX sh (lint checks it as sh) and start it with #!/bin/sh`,
          step,
        );
      for (const use of siblingFileUses(text.text)) {
        const at = positionOf(text, use.offset);
        const end = positionOf(text, use.offset + use.length - 1);
        add(
          'script-sibling-file',
          {
            file: text.file,
            ...at,
            endLine: end.line,
            endCol: end.line === at.line ? end.col : at.col,
          },
          siblingMessage(path.posix.basename(text.file), use),
          step,
        );
      }
      if (holdsNoCommand(text.text))
        add(
          'script-empty',
          { file: text.file, line: 1, col: 1 },
          `the script holds no command (${text.text.trim() ? 'only comments or blank lines' : 'it is empty'}): the step runs it, does nothing and ends ok, so the runbook seems to do what it does not; write the commands, or remove the step`,
          step,
        );
    }
  }
  return findings;
}

function siblingMessage(script: string, use: SiblingFileUse): string {
  const other = use.name ?? 'that file';
  const found =
    use.via === 'script'
      ? `${script} finds ${use.name ?? 'a file'} beside itself (through its own path, $0)`
      : `${script} uses ${use.name ?? 'a file'} from the folder it is run in, as when run by hand from its own folder`;
  return `${found}, but the runner copies only the script a step names, alone, to a temporary folder on the host and runs it from there: ${other} is not there, and the step fails on every host. Paste what ${script} needs from ${other} into it (its functions, its settings), or make that work a step of its own; a file the host itself holds is named by its absolute path`;
}

const PHASE_NOUN: Record<LocatedStep['phase'], string> = {
  prechecks: 'precheck',
  steps: 'step',
  postchecks: 'postcheck',
  rollback: 'rollback step',
  evidence: 'evidence step',
};

/**
 * What pnpm new-runbook and opsbook promote write for the expert to replace: a step named
 * `TODO …`, a run that starts with TODO, the scaffold's `echo would act on …`, and promote's
 * postcheck `echo 'TODO: …' >&2; exit 1`. A TODO further in a name or command is not one.
 */
function scaffoldPlaceholder(
  step: LocatedStep['step'],
): { key: 'name' | 'run'; why: string } | undefined {
  if (/^\s*TODO\b/i.test(step.name)) return { key: 'name', why: 'its name starts with TODO' };
  const run = step.run ?? '';
  if (/^\s*TODO\b/i.test(run)) return { key: 'run', why: 'its run starts with TODO' };
  if (/^\s*echo\s+(['"]?)TODO\b/i.test(run))
    return { key: 'run', why: 'its run only echoes a TODO' };
  if (/^\s*echo would act on\b/.test(run))
    return { key: 'run', why: 'its run only echoes what it would act on' };
  return undefined;
}

const endOf = (p: { line: number; col: number }) => ({ endLine: p.line, endCol: p.col });

/** The start of a use's `param` that is a host var named as a credential (a param's name has no colon). */
const CREDENTIAL_PREFIX = 'host:';

/** A name `$NAME` expands (a variable, a positional param), not a file's or a placeholder's stand-in. */
function isShellVariable(name: string): boolean {
  return /^(?:[A-Za-z_]\w*|\d+|[@*])$/.test(name);
}

/**
 * A host var whose name says it holds a credential (`db_password`, `api_token`, `secret_key`):
 * which vars are Ansible Vault encrypted is the inventory's, which lint does not read. Whole
 * `_`-separated parts, so that `passenger_user` or `bypass_cache` are not taken for one.
 */
const CREDENTIAL_NAME =
  /(?:^|_)(?:pass(?:word|wd|phrase)?|secret|token|api_?key|private_?key|credentials?)(?:_|$)/i;

/**
 * The word is an argument a program may read as an option: it starts with the placeholder, no
 * `--` came before it, and it is not the argument of an option before it (`-n {{ … }}`) or a
 * redirection's file. Builtins that start no process (echo, printf, test, …) are left out.
 */
function readAsOption(word: CommandWord): boolean {
  // A function's call too: what it does with $1 is unknown here.
  if (
    (word.role !== 'argument' && !word.isFunctionCall) ||
    !word.startsWord ||
    word.afterDoubleDash
  )
    return false;
  // A command whose name this reading lost (after a $( ) inside a word, say): say nothing.
  if (!word.command || !/^[A-Za-z0-9_./+-]+$/.test(word.command)) return false;
  const previous = word.previous;
  if (previous === undefined) return false; // the command's name
  if (/^\d*[<>]/.test(previous)) return false;
  return !(previous.startsWith('-') && previous !== '--' && !previous.includes('='));
}

/**
 * Whether a value could start with `-`: a host var can (the inventory sets it, with no rules), a
 * param unless its type, minimum, enum or pattern rules that out.
 */
function mayStartWithDash(ref: Placeholder['ref'], params: Record<string, ParamSpec>): boolean {
  if (ref.kind === 'host-name') return false;
  if (ref.kind === 'host-var') return true;
  const spec = params[ref.name];
  if (!spec) return true;
  if (spec.type === 'boolean') return false;
  if (spec.enum) return spec.enum.some((v) => String(v).startsWith('-'));
  if (spec.type === 'integer' || spec.type === 'number')
    return spec.minimum === undefined || spec.minimum < 0;
  return spec.pattern === undefined || !patternForbidsDash(spec.pattern);
}

/**
 * The pattern's first character can never be `-`: it is anchored (^) and starts with a
 * character, a class (`[a-z]`, `\d`, `\w`) or a literal that `-` does not match, not optional.
 */
function patternForbidsDash(pattern: string): boolean {
  if (pattern.includes('|')) return false;
  const m = /^\^(\[(?:\\.|[^\]\\])*\]|\\[dw]|[A-Za-z0-9_/:@%,~=])/.exec(pattern);
  if (!m) return false;
  if (/^[?*]|^\{0/.test(pattern.slice(m[0].length))) return false;
  try {
    return !new RegExp(`^${m[1]}`, 'u').test('-');
  } catch {
    return false;
  }
}

/**
 * A value that `pattern` accepts although it leaves the folder the pattern starts with (`^/var/log/`
 * written out): its literal prefix up to its last `/`, then a `..` segment. Undefined when the
 * pattern confines no folder (no literal `/name/` prefix) or refuses every such value.
 */
function folderEscape(pattern: string): { folder: string; value: string } | undefined {
  // The literal start: letters, digits, _ - / and escaped dots, after ^ and a leading /.
  const literal = /^\^(\/(?:[A-Za-z0-9_/-]|\\\.|\[\.\])*)/.exec(pattern)?.[1];
  if (!literal) return undefined;
  const text = literal.replaceAll('\\.', '.').replaceAll('[.]', '.');
  const folder = text.slice(0, text.lastIndexOf('/') + 1);
  if (folder.length < 2) return undefined;
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
  const values = ['../x', 'x/../../x', './../x', '..', '../', 'x/../..'].map((v) => folder + v);
  const value = values.find((v) => re.test(v));
  return value === undefined ? undefined : { folder, value };
}

function placeholderRange(text: ShellText, p: Placeholder) {
  const start = positionOf(text, p.renderedStart);
  const end = positionOf(text, p.renderedStart + p.raw.length - 1);
  return { file: text.file, ...start, endLine: end.line, endCol: end.col };
}

/** The program a `#!` line names (`/usr/bin/env bash` → bash), or undefined without one. */
export function shebangInterpreter(script: string): string | undefined {
  const m = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(script);
  if (!m) return undefined;
  const program = m[1]!.split('/').pop()!;
  return program === 'env' && m[2] ? m[2].split('/').pop() : program;
}
