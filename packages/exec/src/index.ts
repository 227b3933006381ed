export { type ExecErrorCode, execErrorCodes } from './error-codes.js';
export {
  canExecStream,
  execStream,
  type StreamExecRequest,
  type StreamExecution,
  type StreamExit,
} from './exec-stream.js';
export {
  type FanOut,
  type FanOutEvent,
  type FanOutOptions,
  type FanOutResult,
  fanOut,
  type HostContext,
  type HostOutcome,
  type HostStatus,
  LineSplitter,
  MAX_LINE_LENGTH,
  type SplitLine,
  startFanOut,
} from './fan-out.js';
export { inheritedStepEnv } from './inherited-step-env.js';
export {
  appendKnownHostsLine,
  checkHostKey,
  formatKnownHostsLine,
  type HostKeyVerdict,
  hostKeyFingerprint,
  type KnownHostEntry,
  type KnownHosts,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  matchesGlob,
  parseKnownHosts,
  readKnownHosts,
} from './known-hosts.js';
export { checkKnownHostsOwner } from './known-hosts-owner.js';
export { createLocalTransport, type LocalTransportOptions } from './local-transport.js';
export {
  paramEnv,
  paramEnvName,
  type RunTemplateInput,
  renderRunTemplate,
  vaultEnvName,
} from './render-command.js';
export {
  type RenderInput,
  renderTemplate,
  type TemplateEncoding,
  type TemplateLocation,
} from './render-template.js';
export {
  commandArgumentBytes,
  encodeEnvBlock,
  MAX_ARGUMENT_BYTES,
  type ShellInvocationOptions,
  shellInvocation,
  shellInvocationLine,
} from './shell-invocation.js';
export { quoteShellArg } from './shell-quote.js';
export {
  type JumpHost,
  parseProxyJump,
  resolveSshConfig,
  type SshConfigEnvironment,
  type SshHostConfig,
} from './ssh-config.js';
export {
  loadSshConfig,
  MAX_INCLUDE_DEPTH,
  type ReadSshConfigOptions,
  readSshConfigFile,
  type SshConfigSource,
} from './ssh-config-source.js';
export { preloadSsh2, type SshConnectOptions, type SshTarget } from './ssh-connect.js';
export { createSshFileCache, type SshFileCache } from './ssh-file-cache.js';
export { connectSsh, type SshTransportOptions } from './ssh-transport.js';
export {
  type AcceptedHostKey,
  CommandCancelledError,
  type CommandEnd,
  DEFAULT_MAX_CAPTURED_BYTES,
  type ExecRequest,
  type ExecResult,
  type HostRoute,
  killUnconfirmedText,
  OutputCapture,
  type Transport,
} from './transport.js';
export { createTransportPool, type TransportPool } from './transport-pool.js';
