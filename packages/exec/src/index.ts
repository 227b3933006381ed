export { quoteShellArg } from './shell-quote.js';
export { type RenderInput, paramEnv, paramEnvName, renderRunTemplate } from './render-command.js';
export {
  type HostKeyVerdict,
  type KnownHostEntry,
  type KnownHosts,
  appendKnownHostsLine,
  checkHostKey,
  formatKnownHostsLine,
  hostKeyFingerprint,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  matchesGlob,
  parseKnownHosts,
  readKnownHosts,
} from './known-hosts.js';
export {
  type JumpHost,
  type SshConfigEnvironment,
  type SshHostConfig,
  parseProxyJump,
  readSshConfigFile,
  resolveSshConfig,
} from './ssh-config.js';
export { DEFAULT_MAX_CAPTURED_BYTES, type ExecRequest, type ExecResult, OutputCapture, type Transport } from './transport.js';
export { type ShellInvocationOptions, encodeEnvBlock, shellInvocation, shellInvocationLine } from './shell-invocation.js';
export { type LocalTransportOptions, createLocalTransport } from './local-transport.js';
export { type SshConnectOptions, type SshTarget } from './ssh-connect.js';
export { type SshTransportOptions, connectSsh } from './ssh-transport.js';
export { type TransportPool, createTransportPool } from './transport-pool.js';
export {
  type FanOut,
  type FanOutEvent,
  type FanOutOptions,
  type FanOutResult,
  type HostContext,
  type HostOutcome,
  type HostStatus,
  LineSplitter,
  fanOut,
  startFanOut,
} from './fan-out.js';
