import { UsageError } from '@opsbook/schema';

/**
 * The ShellCheck that lint and promote run, from the environment: OPSBOOK_SHELLCHECK (the
 * program, default shellcheck on PATH) and OPSBOOK_SHELLCHECK_TIMEOUT (how long one ShellCheck
 * process may run, in seconds; default a minute and a second per file it checks).
 */
export function shellCheckFromEnv(env: NodeJS.ProcessEnv = process.env): {
  shellcheck?: string;
  shellcheckTimeoutMs?: number;
} {
  const timeout = env.OPSBOOK_SHELLCHECK_TIMEOUT?.trim();
  let ms: number | undefined;
  if (timeout) {
    const seconds = /^\d+(?:\.\d+)?$/.test(timeout) ? Number(timeout) : Number.NaN;
    if (!(seconds > 0) || seconds > 86_400)
      throw new UsageError(
        `OPSBOOK_SHELLCHECK_TIMEOUT is '${timeout}': give the seconds one ShellCheck run may take (e.g. 300), more than 0 and at most 86400, or unset it for the default`,
      );
    ms = Math.ceil(seconds * 1000);
  }
  return {
    ...(env.OPSBOOK_SHELLCHECK ? { shellcheck: env.OPSBOOK_SHELLCHECK } : {}),
    ...(ms !== undefined ? { shellcheckTimeoutMs: ms } : {}),
  };
}
