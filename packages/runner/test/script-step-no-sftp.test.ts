import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalTransport } from '@opsbook/exec';
import type { Config } from '@opsbook/schema';
import { type Sshd, startSshd } from '@opsbook/testkit/sshd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../src/execute/execute.js';
import { hostTransportPool, openTransportFor } from '../src/execute/run.js';
import type { RunEvent } from '../src/execute/run-events.js';
import type { Plan, PlannedHost, PlannedStep } from '../src/plan/plan.js';

/*
 * A host whose sshd_config has no `Subsystem sftp` line (some hardened images): a `script:` step
 * used to fail there with "Unable to start subsystem: sftp", after the steps before it had run.
 * Its bytes now go over a command, checked on the host before they can run.
 */

const SCRIPT = `#!/bin/sh
printf 'mode=%s arg=%s host=%s\\n' "$(stat -c %a "$0")" "$1" "$OPSBOOK_HOST"
`;

let sshd: Sshd;
let dir = '';
let knownHosts = '';

beforeAll(async () => {
  sshd = await startSshd({ address: '127.0.0.11', sftp: false });
  dir = await mkdtemp(path.join(tmpdir(), 'opsbook-no-sftp-'));
  knownHosts = path.join(dir, 'known_hosts');
  await writeFile(knownHosts, `${sshd.knownHostsLine}\n`);
  await mkdir(path.join(dir, 'scripts'));
  await writeFile(path.join(dir, 'scripts', 'report.sh'), SCRIPT);
});
afterAll(async () => {
  await sshd?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const scriptStep = (id: string): PlannedStep => ({
  id,
  name: id,
  kind: 'script',
  script: {
    path: 'scripts/report.sh',
    sha256: createHash('sha256').update(SCRIPT).digest('hex'),
  },
  args: [id],
  where: 'remote',
  sudo: false,
  timeoutMs: 60_000,
  expect: { exitCodes: [0] },
  continueOnError: false,
});

function plannedHost(name: string): PlannedHost {
  return {
    name,
    connection: {
      address: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKeyFile: sshd.clientKeyPath,
      become: false,
      becomeUser: 'root',
      transport: 'ssh',
    },
    phases: {
      prechecks: [scriptStep('pre')],
      steps: [],
      postchecks: [scriptStep('post')],
      rollback: [],
      evidence: [],
    },
  };
}

describe('script steps on a host without the SFTP subsystem', () => {
  it('runs each script from the checked bytes, mode 0700, asking for SFTP once', async () => {
    const hosts = [plannedHost('web-01')];
    const request = {
      config: { knownHosts, stateDir: path.join(dir, 'state') } as Config,
      acceptNewHostKeys: false,
      env: {},
      signal: new AbortController().signal,
    };
    const pool = hostTransportPool(hosts, openTransportFor(request, undefined));
    const ends: RunEvent[] = [];
    const result = await executePlan({
      plan: {
        apiVersion: 'opsbook/v1',
        kind: 'Plan',
        ticket: 'OPS-1',
        runbook: { name: 'no-sftp', version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
        category: 'change',
        grade: 'P3',
        params: {},
        secretParams: [],
        concurrency: 1,
        maxFailures: 1,
        hosts,
      } as Plan,
      runId: 'no-sftp-run',
      stateDir: path.join(dir, 'state'),
      bundleDir: dir,
      secrets: {},
      transportFor: (h) => pool.get(h.name),
      releaseTransport: (h) => pool.release(h.name),
      local: createLocalTransport(),
      record: async (event: RunEvent) => {
        if (event.type === 'step-end') ends.push(event);
      },
      mask: (t) => t,
      signal: new AbortController().signal,
    });
    expect(
      ends.map((e) => (e.type === 'step-end' ? [e.step, e.status, e.stdout, e.reason] : [])),
    ).toEqual([
      ['pre', 'ok', 'mode=700 arg=pre host=web-01\n', undefined],
      ['post', 'ok', 'mode=700 arg=post host=web-01\n', undefined],
    ]);
    expect(result.hosts.map((h) => h.status)).toEqual(['ok']);
    // The host lacks SFTP: learned once, not asked again for the second script.
    expect(sshd.log().match(/subsystem request for sftp by user/g)?.length).toBe(1);
  });
});
