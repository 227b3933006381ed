import { chooseExecutorSigner, chooseSigner, type SignerChoice } from '@opsbook/runner';
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

/** --key / --agent / --fingerprint for a listed person's own key, doing `what` (the default: ssh's). */
export function ownKeyOptions(what: string): Record<string, OptionSpec> {
  return {
    key: {
      type: 'string',
      value: 'PATH',
      description: `your private key, listed in approvers.yaml: it signs ${what} (default: ~/.ssh/id_ed25519, id_ecdsa or id_rsa)`,
    },
    agent: { type: 'boolean', description: `sign ${what} with ssh-agent (SSH_AUTH_SOCK)` },
    fingerprint: signerOptions.fingerprint!,
  };
}

/** The options of every command that runs: the executor signs the run claim with their own key. */
export const executorOptions = ownKeyOptions('the run claim');

/** The options of `plan` and `ticket propose`: the proposer signs the proposal with their own key. */
export const proposerOptions = ownKeyOptions('the proposal');

function choiceOf(ctx: CommandContext): SignerChoice {
  const key = stringOption(ctx, 'key');
  const fingerprint = stringOption(ctx, 'fingerprint');
  return {
    ...(key ? { key } : {}),
    agent: Boolean(ctx.options.agent),
    ...(fingerprint ? { fingerprint } : {}),
    env: process.env,
    askPassphrase: (f) => askSecret(`passphrase for ${f}: `),
  };
}

export function signerFor(ctx: CommandContext) {
  return chooseSigner(choiceOf(ctx));
}

/**
 * Who runs, proposes, or opens or escalates a ticket: --key, --agent, or the first of
 * ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
 */
export function executorSignerFor(
  ctx: CommandContext,
  what: 'run' | 'proposal' | 'ticket' = 'run',
) {
  return chooseExecutorSigner(choiceOf(ctx), what);
}
