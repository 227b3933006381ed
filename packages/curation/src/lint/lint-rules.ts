/**
 * opsbook's own lint rules: the one list of their ids, severities and what each one asks for.
 * The README's rule table, `opsbook lint --help`, the SARIF rule metadata and the suppression
 * check (`# opsbook-lint disable=ID`) all read it. ShellCheck's findings keep ShellCheck's codes
 * (`SC2086`) and its levels.
 */

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintRule {
  readonly id: string;
  readonly severity: LintSeverity;
  /** One line: what the rule finds. */
  readonly summary: string;
}

const rules = {
  'change-without-postcheck': {
    severity: 'error',
    summary: 'a change runbook has no postchecks: nothing proves the change worked',
  },
  'change-without-rollback': {
    severity: 'warning',
    summary: 'a change runbook has no rollback: a failed host is left half changed',
  },
  'timeout-missing': {
    severity: 'warning',
    summary:
      "a step or rollback step of a change runbook has no timeout: it runs until the runner's default kills it",
  },
  'scaffold-todo': {
    severity: 'error',
    summary:
      "a step or check is still a scaffold's placeholder (pnpm new-runbook, opsbook promote): its name or run starts with TODO, or it is the scaffold's echo",
  },
  'secret-in-command': {
    severity: 'error',
    summary:
      'a secret param ({{ params.X }} or $OPSBOOK_PARAM_X, or a variable or positional param it was handed to: token=$2 after set -- …), a host var named as a credential ({{ host.vars.db_password }}) or an Ansible Vault one ($OPSBOOK_VAULT_X) is expanded into the arguments of a program, which every user of the host can read in ps; as an assignment word (the environment) or to export it is fine',
  },
  'param-unquoted': {
    severity: 'error',
    summary:
      "a param's value (its $OPSBOOK_PARAM_X, or a variable or positional param it was handed to) is expanded unquoted into a program's arguments: the shell splits it and expands * ? [ in it, so one value becomes several arguments or options; a # shellcheck disable=SC2086 does not hide it",
  },
  'option-injection': {
    severity: 'error',
    summary:
      'a {{ … }} placeholder starts an argument with no -- before it, and its value may start with - (a host var, a param without a pattern that rules it out): the program reads it as an option, and some options run commands',
  },
  'path-pattern-escape': {
    severity: 'error',
    summary:
      "a string param's pattern confines a path to a folder (^/var/log/…) but matches a value that leaves it through a .. segment (/var/log/../../etc): the runbook acts outside the folder its pattern promises",
  },
  'unpinned-download': {
    severity: 'error',
    summary:
      'code downloaded and run unchecked (curl … | sh, wget -O- | bash, sh -c "$(curl …)"): what runs is not what was approved',
  },
  'remote-hop': {
    severity: 'warning',
    summary:
      'a step reaches another host (ssh, sftp, scp or rsync to host:path): that host is not among the targets the approval names, opsbook checks neither its host key nor journals what runs there',
  },
  'sudo-unneeded': {
    severity: 'warning',
    summary: 'sudo: true on a step whose every command works without root (heuristic)',
  },
  'script-not-sh': {
    severity: 'error',
    summary: "a script's #! names another interpreter, but the runner runs every script with sh",
  },
  'script-empty': {
    severity: 'error',
    summary:
      'a script holds no command (only comments or blank lines, or nothing): the step does nothing and still ends ok (opsbook promote refuses such a script too)',
  },
  'script-sibling-file': {
    severity: 'error',
    summary:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, in the rule text
      'a script sources or runs a file beside itself (dirname "$0", ${0%/*}, . ./lib.sh, ./step2.sh): the runner copies only the script a step names to the host, so the step fails on every host',
  },
  'description-missing': {
    severity: 'warning',
    summary: 'the runbook or one of its params has no description',
  },
  'suppression-invalid': {
    severity: 'error',
    summary: '# opsbook-lint disable= without a reason, or naming a rule that does not exist',
  },
  'suppression-unused': {
    severity: 'warning',
    summary: '# opsbook-lint disable= that suppresses nothing: remove it',
  },
  'version-unchanged': {
    severity: 'error',
    summary:
      'with --since REV: the runbook changed since REV, but neither a version greater than at REV nor a pending changeset says so, or its version is lower than at REV',
  },
} as const satisfies Record<string, Omit<LintRule, 'id'>>;

export type OwnRuleId = keyof typeof rules;

/** opsbook's rules by id. */
export const lintRules: ReadonlyMap<OwnRuleId, LintRule> = new Map(
  Object.entries(rules).map(([id, rule]) => [id as OwnRuleId, { id, ...rule }]),
);

/** A ShellCheck code as findings and suppressions write it: `SC` and four digits. */
export const SHELLCHECK_CODE = /^SC\d{4}$/;

/** Whether `id` names a rule a suppression may name: one of opsbook's, or a ShellCheck code. */
export function isKnownRule(id: string): boolean {
  return lintRules.has(id as OwnRuleId) || SHELLCHECK_CODE.test(id);
}

/** ShellCheck's wiki page of a code: what the finding means and how to fix it. */
export function shellCheckHelpUri(code: string): string {
  return `https://www.shellcheck.net/wiki/${code}`;
}
