import { readFile } from 'node:fs/promises';
import {
  FIRST_SENIOR,
  trustAddApprover,
  trustInit,
  trustRevoke,
  trustShow,
  trustSign,
} from '@opsbook/runner';
import { isOpsbookError, UsageError, unreadableFileError } from '@opsbook/schema';
import { stringify } from 'yaml';
import { type CommandSpec, defineCommand, listOption, stringOption } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { formatTable } from '../output.js';
import { signerFor, signerOptions } from './ticket-signer.js';

export const init: CommandSpec = defineCommand({
  options: {
    force: {
      type: 'boolean',
      description:
        "replace a different pinned store: only with the pinned seniors' rotation signatures (approvers.yaml.sig)",
    },
  },
  details: `Pins into /etc/opsbook/trust (or OPSBOOK_TRUST_DIR): run it as root. The pin is refused when the
user who runs opsbook could change it. Check the printed digest with your seniors over another
channel before trusting it.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const { store, replaced } = await trustInit(config, Boolean(ctx.options.force));
    if (ctx.out.json)
      ctx.out.printJson({
        file: store.file,
        version: store.version,
        digest: store.digest,
        replaced: replaced?.version,
      });
    else
      ctx.out.print(
        `pinned ${config.trustStore} version ${store.version} (${store.digest}) in ${config.trustPinDir}${replaced ? `, replacing version ${replaced.version}` : ''}\nconfirm this digest with your seniors over another channel.`,
      );
    return exitCodes.ok;
  },
});

/** trust show's exit: 0 when accepted, 2 when a file is the user's to fix, else 3 (refused). */
function exitOf(error: unknown): number {
  if (!error) return exitCodes.ok;
  return isOpsbookError(error) && error.kind === 'invalid' ? exitCodes.invalid : exitCodes.refused;
}

export const show: CommandSpec = defineCommand({
  async run(ctx) {
    const config = await configFor(ctx);
    const r = await trustShow(config);
    const store = r.accepted ?? r.pinned ?? r.file;
    if (ctx.out.json) {
      ctx.out.printJson({
        pinned: r.pinned && { version: r.pinned.version, digest: r.pinned.digest },
        file: r.file && { version: r.file.version, digest: r.file.digest },
        data: store?.data,
        error: r.error instanceof Error ? r.error.message : undefined,
      });
      return exitOf(r.error);
    }
    if (!store)
      throw new UsageError(
        `no trust store: create ${config.trustStore} with its first senior: ${FIRST_SENIOR} (README, section Approvals); then sudo opsbook trust init`,
      );
    const lines = [
      `trust store ${store.file} version ${store.version} (${store.digest})`,
      r.pinned
        ? `pinned version ${r.pinned.version} in ${config.trustPinDir}`
        : `not pinned yet in ${config.trustPinDir}: run sudo opsbook trust init`,
      '',
      'approvers:',
      ...approverRows(store)
        .split('\n')
        .map((line) => `  ${line}`),
    ];
    lines.push(
      '',
      // As approvers.yaml writes it, not as JSON.
      'policy:',
      ...stringify(store.data.policy)
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
      `rotation: ${store.data.rotation.signatures} senior signature(s)`,
    );
    if (store.revoked.size)
      lines.push('', 'revoked:', ...[...store.revoked].map(([fp, why]) => `  ${fp}  ${why}`));
    if (r.error instanceof Error)
      lines.push('', ctx.out.style.red(`not accepted: ${r.error.message}`));
    ctx.out.print(lines.join('\n'));
    return exitOf(r.error);
  },
});

/** A trust store as trust show reads it (the approval package's TrustStore, through the runner). */
type ShownStore = NonNullable<Awaited<ReturnType<typeof trustShow>>['file']>;

/**
 * One aligned row per key, with its fingerprint as `ssh-keygen -lf` prints it: what a senior
 * compares with the key they hold before pinning, and what `trust revoke` takes.
 */
function approverRows(store: ShownStore): string {
  const byApprover = new Map<string, string[]>();
  for (const [fingerprint, { key, approver }] of store.keys)
    byApprover.set(approver.id, [
      ...(byApprover.get(approver.id) ?? []),
      `${fingerprint} (${[key.type, key.comment].filter(Boolean).join(' ')})`,
    ]);
  const rows = store.data.approvers.flatMap((a) =>
    (byApprover.get(a.id) ?? ['-']).map((key, i) =>
      i === 0 ? [a.id, a.name, a.roles.join(', '), a.jira ?? '', key] : ['', '', '', '', key],
    ),
  );
  return formatTable(['ID', 'NAME', 'ROLES', 'JIRA', 'KEY'], rows);
}

export const addApprover: CommandSpec = defineCommand({
  options: {
    id: {
      type: 'string',
      value: 'ID',
      description: 'their id: the name their keys prove in approvals, run claims and tickets',
    },
    name: { type: 'string', value: 'NAME', description: 'their full name' },
    role: {
      type: 'string',
      value: 'ROLE',
      multiple: true,
      description: 'senior, expert or engineer (engineers propose and run)',
    },
    'key-file': {
      type: 'string',
      value: 'PUB',
      multiple: true,
      description: 'their OpenSSH public key file (.pub)',
    },
    jira: { type: 'string', value: 'ACCOUNT', description: 'their Jira account id' },
  },
  details: `Where approvers.yaml (opsbook.yaml's trustStore) does not exist yet, creates its version 1 with
this approver, who must be a senior, and the README's example policy; nothing is pinned until
sudo opsbook trust init. Each key file is checked as the runner reads keys; an id already listed,
or a key already listed for someone, is refused.`,
  async run(ctx) {
    const config = await configFor(ctx);
    const id = stringOption(ctx, 'id');
    const name = stringOption(ctx, 'name');
    const roles = listOption(ctx, 'role');
    const keyFiles = listOption(ctx, 'key-file');
    if (!id || !name || !roles.length || !keyFiles.length)
      throw new UsageError(
        'give --id, --name, at least one --role (senior|expert|engineer) and at least one --key-file',
      );
    for (const r of roles)
      if (r !== 'senior' && r !== 'expert' && r !== 'engineer')
        throw new UsageError(`--role must be senior, expert or engineer, not '${r}'`);
    const keys = await Promise.all(
      keyFiles.map((f) =>
        readFile(f, 'utf8').then(
          (t) => t.trim(),
          (e: unknown) => {
            throw unreadableFileError(f, e, "pass the approver's OpenSSH public key file (.pub)");
          },
        ),
      ),
    );
    const { store, created, pinned } = await trustAddApprover(config, {
      id,
      name,
      roles: roles as Array<'senior' | 'expert' | 'engineer'>,
      keys,
      keyFiles,
      ...(stringOption(ctx, 'jira') ? { jira: stringOption(ctx, 'jira') } : {}),
    });
    ctx.out.print(
      created
        ? `created ${config.trustStore} (version 1) with ${id} as its senior, and the README's policy: one senior signature per approval, valid at most 7d (90d, with a target selector, for routine standing approvals). Review and commit it, add the others (opsbook trust add-approver --role engineer|senior …), then pin it on each runner: sudo opsbook trust init`
        : pinned
          ? `added ${id} to ${config.trustStore}, now version ${store.version}. It takes effect once ${store.data.rotation.signatures} senior(s) of the pinned version sign it: opsbook trust sign --key …`
          : `added ${id} to ${config.trustStore}, now version ${store.version}. Nothing is pinned on this machine yet: review and commit it, then pin it on each runner: sudo opsbook trust init`,
    );
    return exitCodes.ok;
  },
});

export const revoke: CommandSpec = defineCommand({
  args: '<SHA256:fingerprint>',
  positionals: { min: 1, max: 1 },
  options: {
    reason: { type: 'string', value: 'TEXT', description: 'why (lost laptop, left the team, …)' },
  },
  async run(ctx) {
    const config = await configFor(ctx);
    const reason = stringOption(ctx, 'reason');
    if (!reason) throw new UsageError('say why with --reason');
    const store = await trustRevoke(config, ctx.positionals[0]!, reason);
    ctx.out.print(
      `revoked ${ctx.positionals[0]} in ${config.trustStore}, now version ${store.version}. Collect ${store.data.rotation.signatures} rotation signature(s): opsbook trust sign --key …`,
    );
    return exitCodes.ok;
  },
});

/** Where a rotation stands: the signatures that count, those that do not and why, what is left. */
function rotationText(signed: Awaited<ReturnType<typeof trustSign>>): string {
  const { rotation: r, version } = signed;
  if (!r)
    return signed.pinRefused
      ? `Not counted here: the pin on this machine cannot be used (${signed.pinRefused}); each runner counts them against its own pinned version.`
      : 'No trust store is pinned on this machine: each runner counts them against its own pinned version (sudo opsbook trust init pins one here).';
  const lines = [
    `${r.counted.length} of ${r.needed} needed signatures from seniors of the pinned version ${r.pinnedVersion}${r.counted.length ? ` (${r.counted.join(', ')})` : ''}`,
    ...r.uncounted.map((u) => `${u.who}'s does not count: ${u.why}`),
  ];
  const left = r.needed - r.counted.length;
  lines.push(
    left > 0
      ? `Ask ${left} more senior(s) of version ${r.pinnedVersion} to run opsbook trust sign.`
      : `Enough: the next run as root (or sudo opsbook trust init --force) pins version ${version} on each runner.`,
  );
  return lines.join('\n');
}

export const sign: CommandSpec = defineCommand({
  options: signerOptions,
  async run(ctx) {
    const config = await configFor(ctx);
    const signer = await signerFor(ctx);
    const signed = await trustSign(config, signer);
    if (ctx.out.json) {
      ctx.out.printJson({
        file: signed.file,
        version: signed.version,
        signatures: signed.envelope.signatures.length,
        rotation: signed.rotation ?? null,
      });
      return exitCodes.ok;
    }
    ctx.out.print(
      `signed ${config.trustStore} version ${signed.version} as ${signer.publicKey.fingerprint}; ${signed.file} carries ${signed.envelope.signatures.length} signature(s):\n${rotationText(signed)}`,
    );
    return exitCodes.ok;
  },
});
