import type { Transport } from '@opsbook/exec';
import { backupErrors } from './error-codes.js';

/** The first line of `<tool> --version` for each tool the host has; absent tools are left out. */
export async function probeTools(
  transport: Transport,
  tools: readonly string[],
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const command = tools
    .map(
      (t) =>
        `if command -v ${t} >/dev/null 2>&1; then printf '%s\\t%s\\n' ${t} "$(${t} --version 2>&1 | head -n 1)"; fi`,
    )
    .join('\n');
  const result = await transport.exec({
    command,
    timeoutMs: 30_000,
    ...(signal ? { signal } : {}),
  });
  if (result.exitCode !== 0) {
    throw new backupErrors.WorkFailedError(
      'BACKUP_PROBE_FAILED',
      `host ${transport.host}: could not look for ${tools.join(', ')} (${result.timedOut ? 'timed out' : `exit ${result.exitCode}`}): ${result.stderr.trim()}`,
      { host: transport.host },
    );
  }
  const found: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const [name, version] = line.split('\t');
    if (name && version !== undefined && tools.includes(name)) found[name] = version.trim();
  }
  return found;
}
