import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvedFile,
  envelopeText,
  NAMESPACE,
  payloadOf,
  planApproval,
  readEnvelope,
  signedEnvelope,
  statementOf,
} from './approval-craft.js';
import {
  createTicket,
  createWorld,
  execFileAsync,
  exists,
  type Person,
  type World,
  waitFor,
} from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * Issue 3, "Done means": opsbook and real OpenSSH sign and verify each other's approvals, through
 * the real `opsbook` binary, ssh-keygen and ssh-agent; `opsbook verify` refuses tampered files with
 * their stable code; `plan --show` prints the exact commands per host.
 */

let world: World;
let dirParam: Record<string, string>;
beforeAll(async () => {
  world = await createWorld({ hostCount: 2, runbooks: { marker: markerRunbook() } });
  dirParam = { dir: world.markerDir };
});
afterAll(async () => {
  await world?.remove();
});

/** `ssh-keygen -Y verify` as a senior's colleague would run it; returns its exit code and output. */
async function sshKeygenVerify(
  signer: Person,
  signature: string,
  payloadFile: string,
): Promise<{ code: number; out: string }> {
  const allowed = path.join(world.dir, `allowed_signers-${signer.id}`);
  await writeFile(allowed, `${signer.id} namespaces="${NAMESPACE}" ${signer.publicLine}\n`);
  const sigFile = `${payloadFile}.${signer.id}.sig`;
  await writeFile(sigFile, signature);
  const cmd = 'ssh-keygen -Y verify -f "$1" -I "$2" -n "$3" -s "$4" < "$5"';
  return execFileAsync('sh', ['-c', cmd, 'sh', allowed, signer.id, NAMESPACE, sigFile, payloadFile])
    .then((r) => ({ code: 0, out: r.stdout + r.stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      out: e.stdout + e.stderr,
    }));
}

describe('approvals interoperate with real OpenSSH', () => {
  it('verifies a signature made by ssh-keygen -Y sign over `opsbook approval payload` and attached', async () => {
    const file = await planApproval(world, 'marker', 'interop-keygen.json', { params: dirParam });
    const payload = await world.opsbook(['approval', 'payload', file]);
    expect(payload.code).toBe(0);
    // The bytes on stdout are exactly the payload every signature covers.
    expect(Buffer.from(payload.stdout)).toEqual(
      Buffer.from((await readEnvelope(file)).payload, 'base64'),
    );
    const p = path.join(world.dir, 'interop-keygen.payload');
    await writeFile(p, payload.stdout);
    await execFileAsync('ssh-keygen', [
      '-Y',
      'sign',
      '-n',
      NAMESPACE,
      '-f',
      world.people.bob.keyFile,
      p,
    ]);
    const attach = await world.opsbook(['approval', 'attach-signature', file, `${p}.sig`]);
    expect(attach.stderr).toBe('');
    expect(attach.code).toBe(0);
    const verify = await world.opsbook(['verify', file]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`signed by Bob Senior (bob, ${world.people.bob.fingerprint})`);
  });

  it('attaches no signature that would not count, and never lets a bad one replace a good one', async () => {
    const file = await planApproval(world, 'marker', 'interop-attach.json', { params: dirParam });
    const payload = path.join(world.dir, 'interop-attach.payload');
    await writeFile(payload, (await world.opsbook(['approval', 'payload', file])).stdout);
    const other = path.join(world.dir, 'interop-attach.other');
    await writeFile(other, 'not the payload');
    /** An `ssh-keygen -Y sign` signature by `who` over `message` in `namespace`, as a .sig file. */
    const sign = async (who: Person, message: string, namespace = NAMESPACE, name = who.id) => {
      const copy = path.join(world.dir, `interop-attach.${name}`);
      await writeFile(copy, await readFile(message));
      await execFileAsync('ssh-keygen', ['-Y', 'sign', '-n', namespace, '-f', who.keyFile, copy]);
      return `${copy}.sig`;
    };
    const good = await world.opsbook([
      'approval',
      'attach-signature',
      file,
      await sign(world.people.bob, payload),
    ]);
    expect(good.code).toBe(0);
    const before = await readFile(file, 'utf8');
    const refusals: [string, number, string, string][] = [
      [
        await sign(world.people.bob, payload, 'wrong-ns', 'bob-ns'),
        2,
        'SIGNATURE_INVALID',
        "namespace 'wrong-ns'",
      ],
      [
        await sign(world.people.bob, other, NAMESPACE, 'bob-other'),
        2,
        'SIGNATURE_INVALID',
        'opsbook approval payload',
      ],
      // grace proposed it (the engineer every command runs as); dave is an expert.
      [await sign(world.people.grace, payload), 3, 'SELF_APPROVAL', 'self-approval'],
      [await sign(world.people.dave, payload), 3, 'SIGNER_NOT_SENIOR', 'not a senior'],
      [await sign(world.people.erin, payload), 3, 'KEY_REVOKED', 'revoked'],
    ];
    for (const [sig, code, errorCode, words] of refusals) {
      const r = await world.opsbook(['approval', 'attach-signature', file, sig, '--json']);
      expect(r.code, sig).toBe(code);
      expect(JSON.parse(r.stdout).error, sig).toMatchObject({ code: errorCode });
      expect(r.stdout, sig).toContain(words);
      expect(r.stdout, sig).toContain('nothing was attached');
      // The file is as it was: bob's good signature is still the one it carries.
      expect(await readFile(file, 'utf8'), sig).toBe(before);
    }
    const verify = await world.opsbook(['verify', file]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`signed by Bob Senior (bob, ${world.people.bob.fingerprint})`);
  });

  it('verify says what run would: a valid approval of a ticket that is not Approved is exit 3', async () => {
    const ticket = await createTicket(world, false);
    const file = await approvedFile(
      world,
      'marker',
      'interop-open-ticket.json',
      [world.people.bob],
      {
        params: dirParam,
        ticket,
      },
    );
    const verify = await world.opsbook(['verify', file, '--json']);
    expect(verify.code).toBe(3);
    expect(JSON.parse(verify.stdout).error).toMatchObject({ code: 'TICKET_NOT_APPROVED' });
    const run = await world.opsbook(['run', file, '--json']);
    expect(run.code).toBe(3);
    expect(JSON.parse(run.stdout).error).toMatchObject({ code: 'TICKET_NOT_APPROVED' });
  });

  it('makes signatures with `opsbook approve --key` that ssh-keygen -Y verify accepts', async () => {
    for (const signer of [world.people.alice, world.people.bob]) {
      const file = await approvedFile(world, 'marker', `interop-${signer.id}.json`, [signer], {
        params: dirParam,
      });
      const envelope = await readEnvelope(file);
      expect(envelope.signatures.map((s) => s.keyid)).toEqual([signer.fingerprint]);
      const payloadFile = `${file}.payload`;
      await writeFile(payloadFile, Buffer.from(envelope.payload, 'base64'));
      const good = await sshKeygenVerify(signer, envelope.signatures[0]!.sshsig, payloadFile);
      expect(good.out).toContain(`Good "${NAMESPACE}" signature for ${signer.id}`);
      expect(good.code).toBe(0);
      // The same signature over one changed byte is rejected by OpenSSH too.
      const text = Buffer.from(envelope.payload, 'base64').toString('utf8');
      await writeFile(payloadFile, text.replace('"maxRuns": 1', '"maxRuns": 2'));
      const bad = await sshKeygenVerify(signer, envelope.signatures[0]!.sshsig, payloadFile);
      expect(bad.code).not.toBe(0);
    }
  });

  it('signs through a real ssh-agent loaded with ssh-add (`opsbook approve --agent`)', async () => {
    const socket = path.join(world.dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await waitFor(() => exists(socket), 'the ssh-agent socket');
      const env = { SSH_AUTH_SOCK: socket };
      await execFileAsync('ssh-add', [world.people.alice.keyFile], {
        env: { ...process.env, ...env },
      });
      const file = await planApproval(world, 'marker', 'interop-agent.json', { params: dirParam });
      const approve = await world.opsbook(['approve', file, '--agent'], { env });
      expect(approve.stderr).toBe('');
      expect(approve.code).toBe(0);
      expect(approve.stdout).toContain(`signed ${file} as ${world.people.alice.fingerprint}`);
      const verify = await world.opsbook(['verify', file]);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toContain('signed by Alice Senior (alice,');
    } finally {
      if (agent.pid) process.kill(agent.pid, 'SIGTERM');
    }
  });
});

describe('opsbook verify refuses tampered approvals (exit 3 with the code)', () => {
  let base: string;
  beforeAll(async () => {
    base = await approvedFile(world, 'marker', 'verify-base.json', [world.people.alice], {
      params: dirParam,
    });
  });

  async function tampered(name: string, make: () => Promise<string>): Promise<string> {
    const file = path.join(world.dir, `verify-${name}.json`);
    await writeFile(file, await make());
    return file;
  }

  const cases: Array<[string, string, () => Promise<string>]> = [
    [
      'with one payload byte edited',
      'SIGNATURE_INVALID',
      async () => {
        const envelope = await readEnvelope(base);
        const s = statementOf(envelope);
        return envelopeText({
          ...envelope,
          payload: payloadOf({ ...s, maxRuns: 9 }).toString('base64'),
        });
      },
    ],
    [
      'with no signature at all',
      'THRESHOLD_NOT_MET',
      async () => envelopeText({ ...(await readEnvelope(base)), signatures: [] }),
    ],
    [
      'signed by a key nobody trusts',
      'SIGNER_UNTRUSTED',
      async () =>
        envelopeText(
          await signedEnvelope(world.dir, statementOf(await readEnvelope(base)), [
            world.people.mallory,
          ]),
        ),
    ],
    [
      'signed by an expert who is not a senior',
      'SIGNER_NOT_SENIOR',
      async () =>
        envelopeText(
          await signedEnvelope(world.dir, statementOf(await readEnvelope(base)), [
            world.people.dave,
          ]),
        ),
    ],
    [
      'signed in another namespace',
      'SIGNATURE_INVALID',
      async () =>
        envelopeText(
          await signedEnvelope(
            world.dir,
            statementOf(await readEnvelope(base)),
            [world.people.bob],
            {
              namespace: 'file',
            },
          ),
        ),
    ],
    [
      'signed by a revoked key',
      'KEY_REVOKED',
      async () =>
        envelopeText(
          await signedEnvelope(world.dir, statementOf(await readEnvelope(base)), [
            world.people.erin,
          ]),
        ),
    ],
  ];

  it.each(cases)('refuses an approval %s with %s', async (name, code, make) => {
    const file = await tampered(name.replace(/\W+/g, '-'), make);
    const r = await world.opsbook(['verify', file]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^refused \\(${code}\\): .+: .+`));
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code).toBe(3);
    const json = await world.opsbook(['verify', '--json', file]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code, kind: 'refused' } });
  });

  it('accepts the untampered file the cases start from', async () => {
    expect((await world.opsbook(['verify', base])).code).toBe(0);
  });
});

describe('opsbook plan --show', () => {
  it('prints the runbook, ticket, params, hosts and the exact command per host', async () => {
    const ticket = await createTicket(world);
    const file = await planApproval(world, 'marker', 'show.json', {
      ticket,
      params: { dir: `${world.markerDir}/with space` },
    });
    const r = await world.opsbook(['plan', '--show', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse((await world.opsbook(['plan', '--show', file, '--json'])).stdout) as {
      planDigest: string;
      plan: {
        runbook: { digest: string };
        hosts: Array<{ name: string; phases: Record<string, Array<{ command: string }>> }>;
      };
    };
    expect(r.stdout).toContain('marker 1.0.0');
    expect(r.stdout).toContain(json.plan.runbook.digest);
    expect(r.stdout).toContain(json.planDigest);
    expect(r.stdout).toContain(ticket);
    expect(r.stdout).toContain('signatures: none yet');
    // Each host's section lists that host's own commands, quoted exactly as they will run.
    const sections = r.stdout.split(/^host /m).slice(1);
    expect(sections.map((s) => s.split(' ')[0])).toEqual(world.hostNames);
    for (const [i, host] of json.plan.hosts.entries()) {
      const [pre, mark] = [host.phases.prechecks![0]!.command, host.phases.steps![0]!.command];
      expect(pre).toBe(`touch '${world.markerDir}/with space'/'${host.name}'.pre`);
      expect(mark).toBe(
        `printf '%s\\n' 'blue' > '${world.markerDir}/with space'/'${host.name}'.ran`,
      );
      expect(sections[i]).toContain(`$ ${pre}\n`);
      expect(sections[i]).toContain(`$ ${mark}\n`);
    }
    // --show only renders: nothing ran anywhere.
    expect(world.hosts.map((h) => h.countLogins())).toEqual([0, 0]);
  });
});
