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
      // `ssh -W %h:%p bastion` is what ProxyJump does: taken as one; any other command refused.
      const jump = jumpOfProxyCommand(value);
      if (jump === undefined) {
        return `has ProxyCommand, which opsbook does not run (only 'ssh -W %h:%p [-q] [-p port] [-l user] [user@]host' is read, as a ProxyJump): use -o ProxyJump=[user@]bastion[:port] (or ansible_ssh_common_args='-J bastion')`;
      }
      proxyJump ??= jump;
      return undefined;
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

/** The jump host of `ssh -W %h:%p [-q] [-p PORT] [-l USER] [USER@]HOST`; undefined for any other command. */
function jumpOfProxyCommand(command: string): string | undefined {
  let words: string[];
  try {
    words = shlexSplit(command);
  } catch {
    return undefined;
  }
  if (words[0] !== 'ssh' && words[0] !== '/usr/bin/ssh') return undefined;
  let forwards = false;
  let port: string | undefined;
  let user: string | undefined;
  let host: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-W' && words[i + 1] === '%h:%p') {
      forwards = true;
      i++;
    } else if (w === '-q') continue;
    else if (w === '-p' && /^\d{1,5}$/.test(words[i + 1] ?? '')) port = words[++i];
    else if (w === '-l' && /^[\w.-]+$/.test(words[i + 1] ?? '')) user = words[++i];
    else if (!w.startsWith('-') && host === undefined) host = w;
    else return undefined;
  }
  if (!forwards || host === undefined) return undefined;
  if (user !== undefined && host.includes('@')) return undefined;
  const jump = `${user !== undefined ? `${user}@` : ''}${host}${port !== undefined ? `:${port}` : ''}`;
  return proxyJumpRe.test(jump) && !jump.includes(',') ? jump : undefined;
}
