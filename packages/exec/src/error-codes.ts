import { type ErrorCodeOf, type ErrorKind, errorCodeList, errorsFor } from '@opsbook/schema';

/** The stable codes of connecting to hosts and running commands on them (tools match on them). */
export const execErrorCodes = errorCodeList({
  unreachable: {
    HOST_KEY_UNKNOWN:
      'the host key is not in known_hosts (and new keys are not accepted); nothing was run',
    HOST_KEY_CHANGED:
      'known_hosts holds another key for the host (always refused); nothing was run',
    HOST_KEY_REVOKED: 'the host key is listed under `@revoked`; nothing was run',
    KNOWN_HOSTS_UNSAFE:
      'someone other than the user running opsbook or root can write the known_hosts file or a folder above it, so it vouches for no host key; nothing was run',
    HOST_CERT_UNSUPPORTED:
      'known_hosts trusts only a `@cert-authority` for the host, and host certificates are not supported (ssh2); nothing was run',
    SSH_CONNECTION_REFUSED: 'the host refused the connection (sshd down, wrong port)',
    SSH_CONNECT_TIMEOUT:
      'no TCP connection and SSH banner within `ansible_timeout`, or no key exchange and authentication within the handshake timeout after it',
    SSH_HOST_UNRESOLVED: 'the host name does not resolve',
    SSH_CONNECT_FAILED: 'the connection failed otherwise',
    SSH_AUTH_REFUSED: 'the host accepted no key offered',
    SSH_NO_CREDENTIALS: 'no private key file and no ssh-agent to offer',
    SSH_JUMP_FAILED: 'the jump host (ProxyJump) would not open a connection to the host',
    SSH_CONNECTION_LOST: 'the connection died while a command ran (its outcome is unknown)',
    SSH_CONNECTION_CLOSED: 'a command was started on a transport that was already closed',
    SSH_CHANNEL_FAILED: 'a command could not be started on the connection (no channel)',
    SSH_COPY_FAILED:
      'copying a file to the host failed, or the copy arrived short or altered (then deleted)',
    LOCAL_SPAWN_FAILED: 'a `where: local` command could not be started',
  },
  failed: {
    SSH_SFTP_UNAVAILABLE:
      'the host has no SFTP subsystem, nor sha256sum, openssl or shasum to check a file sent without it; nothing was written',
  },
  refused: {
    SSH_ROUTE_REFUSED:
      'the ssh config gives the host another HostName, or a ProxyJump, than the plan holds (a run takes only its route); nothing was run',
  },
  invalid: {
    SHELL_NUL_BYTE: 'a value holds a NUL byte, which no command or environment can receive',
    SHELL_BAD_UNICODE: 'a value is not well-formed Unicode (a lone surrogate)',
    TEMPLATE_INVALID: 'a command template cannot be rendered with these params and host vars',
  },
});

export type ExecErrorCode<K extends ErrorKind = ErrorKind> = ErrorCodeOf<typeof execErrorCodes, K>;

/** @opsbook/schema's error classes, taking only the codes above. */
export const execErrors = errorsFor(execErrorCodes);
