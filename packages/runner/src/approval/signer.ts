import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { connectAgentSigner, loadKeyFileSigner, type SshSigner } from '@opsbook/approval';
import { UsageError, ValidationError } from '@opsbook/schema';
import { runnerErrors } from '../error-codes.js';

export interface SignerChoice {
  /** Private key file (ed25519, ecdsa, rsa; OpenSSH or PEM). */
  key?: string;
  /** Use ssh-agent (SSH_AUTH_SOCK): keys on hardware tokens work this way. */
  agent?: boolean;
  /** With --agent: the key to use, as SHA256:… (needed when the agent holds several). */
  fingerprint?: string;
  env: NodeJS.ProcessEnv;
  /** Asks for the passphrase of an encrypted key when OPSBOOK_KEY_PASSPHRASE is not set. */
  askPassphrase?: (file: string) => Promise<string | undefined>;
}

/** The senior's signer: a key file or the agent, exactly one of them. */
export async function chooseSigner(choice: SignerChoice): Promise<SshSigner> {
  if (Boolean(choice.key) === Boolean(choice.agent)) {
    throw new UsageError(
      'sign with exactly one of --key PATH (a private key file) or --agent (ssh-agent)',
    );
  }
  if (choice.agent) {
    return connectAgentSigner({
      env: choice.env,
      ...(choice.fingerprint ? { fingerprint: choice.fingerprint } : {}),
    });
  }
  const file = choice.key!;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw ValidationError.single(
      file,
      `cannot read the key file (${(e as NodeJS.ErrnoException).code}): give the private key, e.g. ~/.ssh/id_ed25519`,
      'missing-file',
    );
  }
  const passphrase = choice.env.OPSBOOK_KEY_PASSPHRASE;
  try {
    return await loadKeyFileSigner(bytes, { file, ...(passphrase ? { passphrase } : {}) });
  } catch (e) {
    // An encrypted key without a passphrase: ask once, when a person is there to answer.
    if (
      passphrase ||
      !choice.askPassphrase ||
      !(e instanceof ValidationError) ||
      !/passphrase/i.test(e.message)
    )
      throw e;
    const asked = await choice.askPassphrase(file);
    if (!asked) throw e;
    return loadKeyFileSigner(bytes, { file, passphrase: asked });
  }
}

/** The key files `ssh` itself tries first, in its order. */
export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

/**
 * The executor's signer: --key or --agent as for a senior, else the first of ~/.ssh/id_ed25519,
 * id_ecdsa, id_rsa, like ssh. Which file is used widens nothing: the key must be one the trust
 * store lists, and the run claim proves its holder signed.
 */
export async function chooseExecutorSigner(
  choice: SignerChoice,
  what: 'run' | 'proposal' | 'ticket' = 'run',
): Promise<SshSigner> {
  if (choice.key || choice.agent) return chooseSigner(choice);
  const home = choice.env.HOME;
  const found = home
    ? DEFAULT_IDENTITY_FILES.map((f) => path.join(home, '.ssh', f)).find((f) => existsSync(f))
    : undefined;
  if (found) return chooseSigner({ ...choice, key: found });
  const [code, signed] = (
    {
      run: ['EXECUTOR_UNPROVEN', 'a run is signed by the person who makes it'],
      proposal: ['PROPOSER_UNPROVEN', 'a proposal is signed by the person who makes it'],
      ticket: [
        'PERSON_UNPROVEN',
        'what you write on a ticket (opening, commenting, escalating) is signed by the person who writes it',
      ],
    } as const
  )[what];
  throw new runnerErrors.RefusalError(
    code,
    `${signed}: pass --key PATH (your private key, listed in approvers.yaml) or --agent; none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa exists`,
  );
}
