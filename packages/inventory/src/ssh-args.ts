import { ShlexError, shlexSplit } from './shlex-split.js';

/**
 * What `ansible_ssh_common_args` / `ansible_ssh_extra_args` ask of ssh, as far as opsbook can
 * honour it. ProxyJump (`-J`, `-o ProxyJump=…`) is applied; options that only make checks
 * looser or tune the session are not applied (opsbook keeps its strict checks) and are listed
 * in the README; anything that changes where or how the connection goes (ProxyCommand, a
 * port, a user, a key, another config) is refused: connecting directly when the inventory says
 * "through the bastion" would be a security problem in a segmented network.
 */
export type SshArgsReading = { proxyJump?: string } | { refused: string };

/** Options opsbook does not apply without changing the route or the authentication. */
const notApplied = new Set([
  'stricthostkeychecking',
  'userknownhostsfile',
  'globalknownhostsfile',
  'serveraliveinterval',
  'serveralivecountmax',
  'controlmaster',
  'controlpath',
  'controlpersist',
  'connecttimeout',
  'connectionattempts',
  'compression',
  'loglevel',
  'forwardagent',
  'forwardx11',
  'tcpkeepalive',
  'preferredauthentications',
  'passwordauthentication',
  'kbdinteractiveauthentication',
  'gssapiauthentication',
  'identitiesonly',
  'hashknownhosts',
  'addkeystoagent',
  'visualhostkey',
  'batchmode',
]);
/** Flags without an argument that change nothing opsbook does. */
const quietFlags = new Set([
  '-q',
  '-v',
  '-vv',
  '-vvv',
  '-C',
  '-A',
  '-a',
  '-x',
  '-X',
  '-Y',
  '-T',
  '-t',
  '-tt',
  '-n',
  '-N',
  '-4',
  '-6',
]);

const proxyJumpRe =
  /^(?:none|(?:(?:ssh:\/\/)?(?:[^@\s,/:-][^@\s,]*@)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.][A-Za-z0-9_.-]*)(?::\d{1,5})?)(?:,(?:ssh:\/\/)?(?:[^@\s,/:-][^@\s,]*@)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.][A-Za-z0-9_.-]*)(?::\d{1,5})?)*)$/;

export function readSshArgs(text: string): SshArgsReading {
  let words: string[];
  try {
    words = shlexSplit(text);
  } catch (e) {
    return {
      refused: `cannot be split into ssh arguments (${e instanceof ShlexError ? e.message : String(e)})`,
    };
  }
  let proxyJump: string | undefined;
  const option = (raw: string): string | undefined => {
    const eq = raw.match(/^([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/s);
    if (!eq) return `has '-o ${raw}', which is not Option=value`;
    const [, name, value] = eq as unknown as [string, string, string];
    const lower = name.toLowerCase();
    if (lower === 'proxyjump') {
      if (!proxyJumpRe.test(value))
        return `has ProxyJump '${value}', which is not [user@]host[:port][,…]`;
      // As ssh: the first ProxyJump given wins.
      proxyJump ??= value;
      return undefined;
    }
    if (lower === 'proxycommand') {
      return `has ProxyCommand, which opsbook does not run: use -o ProxyJump=[user@]bastion[:port] (or ansible_ssh_common_args='-J bastion')`;
    }
    if (notApplied.has(lower)) return undefined;
    return `has ssh option ${name}, which opsbook does not apply: remove it, or use the matching ansible_* variable (ansible_port, ansible_user, ansible_ssh_private_key_file)`;
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    let why: string | undefined;
    if (w === '-o' || w === '-J') {
      const next = words[++i];
      if (next === undefined) return { refused: `ends with '${w}' and no value` };
      why = w === '-o' ? option(next) : option(`ProxyJump=${next}`);
    } else if (w.startsWith('-o')) why = option(w.slice(2));
    else if (w.startsWith('-J')) why = option(`ProxyJump=${w.slice(2)}`);
    else if (quietFlags.has(w)) why = undefined;
    else
      why = `has '${w}', which opsbook does not apply: remove it, or use -o ProxyJump=… or the matching ansible_* variable`;
    if (why) return { refused: why };
  }
  return proxyJump === undefined ? {} : { proxyJump };
}
