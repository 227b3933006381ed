import { type ErrorCodeEntry, type ErrorCodeOf, type ErrorKind, errorsFor } from '@opsbook/schema';

/** The stable codes of connecting to hosts and running commands on them (tools match on them). */
export const execErrorCodes = [
  {
    code: 'HOST_KEY_UNKNOWN',
    kind: 'unreachable',
    meaning: 'the host key is not in known_hosts (and new keys are not accepted); nothing was run',
  },
  {
    code: 'HOST_KEY_CHANGED',
    kind: 'unreachable',
    meaning: 'known_hosts holds another key for the host (always refused); nothing was run',
  },
  {
    code: 'HOST_KEY_REVOKED',
    kind: 'unreachable',
    meaning: 'the host key is listed under `@revoked`; nothing was run',
  },
  {
    code: 'SSH_CONNECTION_REFUSED',
    kind: 'unreachable',
    meaning: 'the host refused the connection (sshd down, wrong port)',
  },
  {
    code: 'SSH_CONNECT_TIMEOUT',
    kind: 'unreachable',
    meaning: 'no SSH handshake within the timeout (`ansible_timeout`)',
  },
  { code: 'SSH_HOST_UNRESOLVED', kind: 'unreachable', meaning: 'the host name does not resolve' },
  { code: 'SSH_CONNECT_FAILED', kind: 'unreachable', meaning: 'the connection failed otherwise' },
  { code: 'SSH_AUTH_REFUSED', kind: 'unreachable', meaning: 'the host accepted no key offered' },
  {
    code: 'SSH_NO_CREDENTIALS',
    kind: 'unreachable',
    meaning: 'no private key file and no ssh-agent to offer',
  },
  {
    code: 'SSH_JUMP_FAILED',
    kind: 'unreachable',
    meaning: 'the jump host (ProxyJump) would not open a connection to the host',
  },
  {
    code: 'SSH_CONNECTION_LOST',
    kind: 'unreachable',
    meaning: 'the connection died while a command ran (its outcome is unknown)',
  },
  {
    code: 'SSH_CONNECTION_CLOSED',
    kind: 'unreachable',
    meaning: 'a command was started on a transport that was already closed',
  },
  {
    code: 'SSH_CHANNEL_FAILED',
    kind: 'unreachable',
    meaning: 'a command could not be started on the connection (no channel)',
  },
  {
    code: 'SSH_COPY_FAILED',
    kind: 'unreachable',
    meaning: 'copying a file to the host failed',
  },
  {
    code: 'LOCAL_SPAWN_FAILED',
    kind: 'unreachable',
    meaning: 'a `where: local` command could not be started',
  },
  {
    code: 'SHELL_NUL_BYTE',
    kind: 'invalid',
    meaning: 'a value holds a NUL byte, which no command or environment can receive',
  },
  {
    code: 'SHELL_BAD_UNICODE',
    kind: 'invalid',
    meaning: 'a value is not well-formed Unicode (a lone surrogate)',
  },
  {
    code: 'TEMPLATE_INVALID',
    kind: 'invalid',
    meaning: 'a command template cannot be rendered with these params and host vars',
  },
] as const satisfies readonly ErrorCodeEntry[];

export type ExecErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<typeof execErrorCodes, K>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const execErrors = errorsFor(execErrorCodes);
