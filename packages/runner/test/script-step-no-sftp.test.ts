import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
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

/** Runs `hosts` through executePlan on the sshd; the journal's events, in order, and the result. */
async function runOn(hosts: PlannedHost[]) {
  const request = {
    config: { knownHosts, stateDir: path.join(dir, 'state') } as Config,
    acceptNewHostKeys: false,
    env: {},
    signal: new AbortController().signal,
  };
  const pool = hostTransportPool(hosts, openTransportFor(request, undefined));
  const events: RunEvent[] = [];
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
      events.push(event);
    },
    mask: (t) => t,
    signal: new AbortController().signal,
  });
  return { events, result };
}

describe('script steps on a host without the SFTP subsystem', () => {
  it('runs each script from the checked bytes, mode 0700, asking for SFTP once', async () => {
    const { events, result } = await runOn([plannedHost('web-01')]);
    expect(
      events.flatMap((e) =>
        e.type === 'step-end' ? [[e.step, e.status, e.stdout, e.reason]] : [],
      ),
    ).toEqual([
      ['pre', 'ok', 'mode=700 arg=pre host=web-01\n', undefined],
      ['post', 'ok', 'mode=700 arg=post host=web-01\n', undefined],
    ]);
    expect(result.hosts.map((h) => h.status)).toEqual(['ok']);
    // The host lacks SFTP: learned once, not asked again for the later scripts.
    expect(sshd.log().match(/subsystem request for sftp by user/g)?.length).toBe(1);
  });
});

describe('a script that cannot be staged on a host', () => {
  it('fails the host before its first step: nothing runs there, not even the steps before the script', async () => {
    const marker = path.join(dir, 'changed-before-script');
    const host = plannedHost('web-02');
    const { script: _s, args: _a, ...common } = scriptStep('touch');
    const touch: PlannedStep = { ...common, kind: 'run', command: `touch ${marker}` };
    // The plan's sha256 is of other bytes than the file holds now (edited during the run).
    const changed: PlannedStep = {
      ...scriptStep('report'),
      script: { path: 'scripts/report.sh', sha256: 'f'.repeat(64) },
    };
    host.phases = { ...host.phases, prechecks: [], steps: [touch, changed], postchecks: [] };
    const { events, result } = await runOn([host]);
    expect(result.hosts.map((h) => [h.status, h.error])).toEqual([
      [
        'failed',
        expect.stringContaining('scripts/report.sh changed after the approval was verified'),
      ],
    ]);
    // Connected (its route journaled), then failed before any step.
    expect(events.map((e) => e.type)).toEqual(['host-start', 'host-route', 'host-end']);
    await expect(stat(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
