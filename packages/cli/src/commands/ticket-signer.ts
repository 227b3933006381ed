import { chooseSigner } from '@opsbook/runner';
import type { CommandContext, OptionSpec } from '../command.js';
import { stringOption } from '../command.js';
import { askSecret } from '../prompt.js';

/** The options of every command where a senior signs (same as opsbook approve). */
export const signerOptions: Record<string, OptionSpec> = {
  key: {
    type: 'string',
    value: 'PATH',
    description: 'your private key file (passphrase from OPSBOOK_KEY_PASSPHRASE or a prompt)',
  },
  agent: {
    type: 'boolean',
    description: 'sign with ssh-agent (SSH_AUTH_SOCK); hardware keys work this way',
  },
  fingerprint: {
    type: 'string',
    value: 'SHA256:…',
    description: 'with --agent: which key, when the agent holds several',
  },
};

export function signerFor(ctx: CommandContext) {
  const key = stringOption(ctx, 'key');
  const fingerprint = stringOption(ctx, 'fingerprint');
  return chooseSigner({
    ...(key ? { key } : {}),
    agent: Boolean(ctx.options.agent),
    ...(fingerprint ? { fingerprint } : {}),
    env: process.env,
    askPassphrase: (f) => askSecret(`passphrase for ${f}: `),
  });
}
