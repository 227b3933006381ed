/**
 * The variables of the runner's own environment that a command started on this machine keeps:
 * what a login session has (as sshd gives one over SSH), nothing else. The runner's environment
 * holds the tracker token (JIRA_API_TOKEN), the key passphrase (OPSBOOK_KEY_PASSPHRASE), secret
 * params (OPSBOOK_PARAM_*) and whatever the operator's shell exported (PGPASSWORD, cloud keys):
 * a local step that ran `env` would otherwise put them in its output, the journal and the ticket.
 * A step's own variables (params, OPSBOOK_RUN_ID, …) travel in the env block, locally as over SSH.
 */
const INHERITED_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'TERM',
  'TZ',
  'TMPDIR',
]);
const LOCALE_NAME = /^LC_[A-Z]+$/;

/** The allow-listed part of `env` (see above), for a command run on this machine. */
export function inheritedStepEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (INHERITED_NAMES.has(name) || LOCALE_NAME.test(name)))
      kept[name] = value;
  }
  return kept;
}
