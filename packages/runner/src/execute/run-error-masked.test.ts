import { describe, expect, it } from 'vitest';
import { withSecretsMasked } from './run.js';
import { createMasker } from './secret-mask.js';

/*
 * An error that leaves a run after its secrets are known is shown by the CLI (an unexpected
 * error's exit 70 prints its message, --debug its stack). A fault inside opsbook once printed
 * pieces of a secret's forms that way (the masker's own pattern, in V8's "Regular expression too
 * large"): whatever leaves the run is masked with the run's secrets first.
 */
describe('an error leaving a run', () => {
  const secret = 'S3cr3t-token-4242';
  const mask = createMasker([secret]);

  it('has the secret masked in its message and its stack, the same error kept', () => {
    const error = new TypeError(
      `could not read ${secret} (${Buffer.from(secret).toString('hex')})`,
    );
    const shown = withSecretsMasked(error, mask);
    expect(shown).toBe(error);
    expect(error.message).toBe('could not read *** (***)');
    expect(error.stack).not.toContain(secret);
    expect(error.stack).not.toContain(Buffer.from(secret).toString('hex'));
    expect(error.stack).toContain('TypeError: could not read *** (***)');
  });

  it('withholds its text when masking it fails, rather than show it unmasked', () => {
    const error = new Error(`pattern ${secret}`);
    withSecretsMasked(error, () => {
      throw new SyntaxError('Invalid regular expression: Regular expression too large');
    });
    expect(error.message).toBe(
      'the message was withheld: it may hold a secret, and masking it failed',
    );
    expect(error.stack).not.toContain(secret);
  });

  it('keeps an abort as it is when there is nothing to mask, and masks one it cannot write into', () => {
    const abort = AbortSignal.abort().reason as Error;
    expect(withSecretsMasked(abort, mask)).toBe(abort);
    const frozen = Object.freeze(new Error(`frozen ${secret}`));
    const shown = withSecretsMasked(frozen, mask) as Error;
    expect(shown.message).toBe('frozen ***');
    expect(shown.stack).not.toContain(secret);
  });

  it('is left as it is before the secrets are known, and when it is not an Error', () => {
    const error = new Error(`early ${secret}`);
    expect(withSecretsMasked(error, undefined)).toBe(error);
    expect(error.message).toBe(`early ${secret}`);
    expect(withSecretsMasked('text', mask)).toBe('text');
  });
});
