import { isOpsbookError, UsageError } from '@opsbook/schema';
import { type BackupAction, closed, flagSchema, isSet } from './action-context.js';
import { backupErrors } from './error-codes.js';
import { checkCopyPath, copyOffHost, parseCopyTarget } from './off-host-copy.js';
import { listBackups, openRepository } from './repository.js';

/**
 * `backup.copy`: after a backup, the backups this run made of this host go to another machine
 * over SSH, hashed there against the manifest; earlier copies of this host's backups are hashed
 * again. A failure fails the step and says which copy; the local backups are never touched.
 */
export const copyAction: BackupAction = {
  name: 'backup.copy',
  description:
    'copy the backups this run made of the host to another machine over SSH, and check every copy’s sha256 there',
  withSchema: closed(
    {
      to: {
        type: 'string',
        description:
          '[user@]host[:port] or a ~/.ssh/config alias; empty: no off-host copy (the step says so)',
      },
      path: { type: 'string', description: 'absolute folder on the destination' },
      recheck: {
        ...flagSchema,
        description: 're-hash the earlier copies of this host’s backups (default true)',
      },
    },
    ['to', 'path'],
  ),
  async run(ctx) {
    const to = String(ctx.with.to ?? '');
    const folder = String(ctx.with.path ?? '');
    if (to === '')
      return {
        ok: true,
        summary: 'no off-host copy: the destination is empty (the backups are on this runner only)',
        data: { copied: [] },
      };
    checkCopyPath(folder);
    const target = parseCopyTarget(to);
    if (!ctx.connect)
      throw new UsageError(
        'backup.copy needs a runner that can open SSH connections for actions: run it with opsbook run',
      );
    const repo = await openRepository(ctx.repository, { create: true });
    const ofHost = (await listBackups(repo)).backups.filter((b) => b.manifest.host === ctx.host);
    const made = ofHost.filter((b) => b.manifest.runId === ctx.runId);
    let transport: Awaited<ReturnType<NonNullable<typeof ctx.connect>>>;
    try {
      transport = await ctx.connect(target);
    } catch (e) {
      throw new backupErrors.WorkFailedError(
        'BACKUP_COPY_FAILED',
        `could not reach the copy destination ${to}: ${(e as Error).message}; the local backups are kept`,
        { destination: to },
      );
    }
    try {
      const report = await copyOffHost({
        transport,
        destination: { to, path: folder },
        copy: made,
        recheck: ctx.with.recheck === undefined || isSet(ctx.with.recheck) ? ofHost : [],
        signal: ctx.signal,
      });
      const bad = report.checks.filter((c) => !c.ok);
      const copied = report.checks.filter((c) => c.action === 'copied' && c.ok).length;
      const checked = report.checks.filter((c) => c.action === 'checked' && c.ok).length;
      return {
        ok: report.ok,
        summary: report.ok
          ? `${copied} backup(s) copied to ${report.destination} and checked there; ${checked} earlier copy(ies) still match`
          : `${bad.length} copy(ies) on ${report.destination} do not match the manifest: ${bad.map((c) => `${c.backupId} (${c.mismatches.join(', ')})`).join('; ')}; the local backups are kept`,
        data: { ...report },
      };
    } catch (e) {
      // The destination dropping the connection is this step's failure, not the backed-up
      // host's: it must not mark the host unreachable.
      if (isOpsbookError(e) && e.kind === 'unreachable')
        throw new backupErrors.WorkFailedError(
          'BACKUP_COPY_FAILED',
          `the copy destination ${to} was lost during the copy: ${e.message}; the local backups are kept`,
          { destination: to },
        );
      throw e;
    } finally {
      await transport.close().catch(() => undefined);
    }
  },
};
