import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createTicket,
  execFileAsync,
  expectOk,
  type Person,
  peopleById,
  type Site,
} from './opsbook-world.js';

/*
 * Approval files as an attacker (or a careless hand) would make them: the envelope is plain
 * JSON, the payload plain base64, and signatures come from the real `ssh-keygen -Y sign`, so
 * every tampered file below is one a real person could produce with standard tools.
 */

export const APPROVAL_TYPE = 'application/vnd.opsbook.approval+json';
export const NAMESPACE = 'opsbook-approval';

export interface EnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: Array<{ keyid: string; sshsig: string }>;
  proposal?: { keyid: string; sshsig: string };
}

export const PROPOSAL_NAMESPACE = 'opsbook-proposal';

/**
 * What a proposer signs, as the README says: the statement without notBefore, expiresAt and
 * maxRuns, with kind "Proposal" (written here from the format, not taken from opsbook).
 */
export function proposalOf(statement: Statement): Buffer {
  const { notBefore: _n, expiresAt: _e, maxRuns: _m, ...rest } = statement;
  return Buffer.from(`${JSON.stringify({ ...rest, kind: 'Proposal' }, null, 2)}\n`, 'utf8');
}

export type Statement = Record<string, unknown> & {
  ticket: string;
  params: Record<string, unknown>;
  targets: { hosts: string[] } | { selector: string };
  notBefore: string;
  expiresAt: string;
  maxRuns: number;
};

export async function readEnvelope(file: string): Promise<EnvelopeJson> {
  return JSON.parse(await readFile(file, 'utf8')) as EnvelopeJson;
}

export function statementOf(envelope: EnvelopeJson): Statement {
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement;
}

/** The statement's bytes as opsbook writes them (stable order, two-space indent, newline). */
export function payloadOf(statement: Statement): Buffer {
  return Buffer.from(`${JSON.stringify(statement, null, 2)}\n`, 'utf8');
}

export function envelopeText(envelope: EnvelopeJson): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}

/** `ssh-keygen -Y sign -n NAMESPACE -f KEY` over `bytes`; returns the armored signature. */
export async function sshKeygenSign(
  dir: string,
  person: Person,
  bytes: Uint8Array,
  namespace = NAMESPACE,
): Promise<string> {
  const file = path.join(dir, `payload-${randomBytes(6).toString('hex')}`);
  await writeFile(file, bytes);
  try {
    await execFileAsync('ssh-keygen', ['-Y', 'sign', '-f', person.keyFile, '-n', namespace, file]);
    return await readFile(`${file}.sig`, 'utf8');
  } finally {
    await rm(file, { force: true });
    await rm(`${file}.sig`, { force: true });
  }
}

/** A whole envelope around `payload`, signed by each person in turn with ssh-keygen. */
export async function signedEnvelope(
  dir: string,
  payload: Statement | Buffer,
  signers: Person[],
  options: { namespace?: string; payloadType?: string } = {},
): Promise<EnvelopeJson> {
  const bytes = Buffer.isBuffer(payload) ? payload : payloadOf(payload);
  // The statement's proposer signs its proposal, as opsbook plan has them do.
  const proposer = Buffer.isBuffer(payload)
    ? undefined
    : peopleById.get(String(payload.proposer ?? ''));
  const proposal = proposer && {
    keyid: proposer.fingerprint,
    sshsig: await sshKeygenSign(
      dir,
      proposer,
      proposalOf(payload as Statement),
      PROPOSAL_NAMESPACE,
    ),
  };
  const signatures = [];
  for (const p of signers)
    signatures.push({
      keyid: p.fingerprint,
      sshsig: await sshKeygenSign(dir, p, bytes, options.namespace),
    });
  return {
    payloadType: options.payloadType ?? APPROVAL_TYPE,
    payload: bytes.toString('base64'),
    signatures,
    ...(proposal ? { proposal } : {}),
  };
}

export interface PlanArgs {
  ticket?: string;
  params?: Record<string, string>;
  target?: string;
  extra?: string[];
  env?: NodeJS.ProcessEnv;
}

/** `opsbook plan RUNBOOK --ticket … -o FILE` (a new Approved ticket by default); returns the path. */
export async function planApproval(
  site: Site,
  runbook: string,
  file: string,
  args: PlanArgs = {},
): Promise<string> {
  const out = path.resolve(site.dir, file);
  await expectOk(
    site.opsbook(
      [
        'plan',
        runbook,
        '--ticket',
        args.ticket ?? (await createTicket(site)),
        ...Object.entries(args.params ?? {}).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
        ...(args.target ? ['--target', args.target] : []),
        ...(args.extra ?? []),
        '-o',
        out,
        '--force',
      ],
      args.env ? { env: args.env } : {},
    ),
    `opsbook plan ${runbook}`,
  );
  return out;
}

/** `opsbook approve FILE --key KEY` by each person in turn. */
export async function approveAs(site: Site, file: string, ...people: Person[]): Promise<void> {
  for (const p of people)
    await expectOk(
      site.opsbook(['approve', file, '--key', p.keyFile]),
      `opsbook approve as ${p.id}`,
    );
}

/** Plan and approve in one go: the ordinary, valid approval that tampering starts from. */
export async function approvedFile(
  site: Site,
  runbook: string,
  file: string,
  signers: Person[],
  args: PlanArgs = {},
): Promise<string> {
  const out = await planApproval(site, runbook, file, args);
  await approveAs(site, out, ...signers);
  return out;
}
