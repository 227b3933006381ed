import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTicket, createWorld, exists, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { shippedRunbook } from './runbook-fixtures.js';

/*
 * The shipped log-folder runbooks promise a folder under /var/log (their params' pattern), and
 * run find … -delete and gzip on it with sudo; config-rollout promises a file under /etc, and
 * installs it with sudo. A `..` segment walked out while still matching
 * `^/var/log/[A-Za-z0-9._/-]+$`: /var/log/../../etc is /etc, /etc/../root/.ssh/… is root's.
 */

let world: World;

beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: {
      'disk-cleanup': await shippedRunbook('disk-cleanup'),
      'disk-full-recovery': await shippedRunbook('disk-full-recovery'),
      'service-restart': await shippedRunbook('service-restart'),
      'config-rollout': await shippedRunbook('config-rollout'),
    },
  });
});
afterAll(async () => {
  await world?.remove();
});

async function plan(runbook: string, params: string[], out: string) {
  return world.opsbook([
    'plan',
    runbook,
    '--ticket',
    await createTicket(world),
    ...params.flatMap((p) => ['--param', p]),
    '--target',
    'h1',
    '-o',
    path.join(world.dir, out),
  ]);
}

describe('a log folder param of the shipped runbooks', () => {
  for (const [runbook, param, extra] of [
    ['disk-cleanup', 'path', []],
    ['disk-full-recovery', 'log_dir', ['unit=app.service']],
  ] as const) {
    it(`${runbook}: refuses a ${param} that leaves /var/log through '..', at plan time (exit 2)`, async () => {
      for (const [i, leaving] of [
        '/var/log/../../etc',
        '/var/log/..',
        '/var/log/app/../../../root',
        '/var/log/./../../etc',
      ].entries()) {
        const out = `${runbook}-leaving-${i}.json`;
        const r = await plan(runbook, [`${param}=${leaving}`, ...extra], out);
        expect(r.stdout + r.stderr).not.toMatch(stackTrace);
        expect(r.code, leaving).toBe(2);
        expect(r.stderr).toContain(param);
        expect(exists(path.join(world.dir, out))).toBe(false);
      }
    });

    it(`${runbook}: still plans a ${param} under /var/log, dots inside names included`, async () => {
      for (const [i, folder] of [
        '/var/log/app',
        '/var/log/nginx/',
        '/var/log/app.d/x..y',
      ].entries()) {
        const out = `${runbook}-ok-${i}.json`;
        const r = await plan(runbook, [`${param}=${folder}`, ...extra], out);
        expect(r.stderr).not.toMatch(stackTrace);
        expect(r.code, `${folder}: ${r.stderr}`).toBe(0);
        expect(exists(path.join(world.dir, out))).toBe(true);
      }
    });
  }
});

describe("config-rollout's dest", () => {
  const content = Buffer.from('x\n').toString('base64');
  const sha = '9e00b6a9d8d6d0f8b1e0a3a1a1e44c0b7bd2bbbfa7b3bc1d2e4ed5a9d4c0c6a8';
  it("refuses a dest that leaves /etc through '..', at plan time (exit 2)", async () => {
    for (const [i, leaving] of [
      '/etc/../root/.ssh/authorized_keys',
      '/etc/./../tmp/x',
      '/etc/..',
    ].entries()) {
      const out = `config-rollout-leaving-${i}.json`;
      const r = await plan(
        'config-rollout',
        [`dest=${leaving}`, `content_base64=${content}`, `sha256=${sha}`],
        out,
      );
      expect(r.stdout + r.stderr).not.toMatch(stackTrace);
      expect(r.code, leaving).toBe(2);
      expect(r.stderr).toContain('dest');
      expect(exists(path.join(world.dir, out))).toBe(false);
    }
  });

  it('still plans a dest under /etc', async () => {
    for (const [i, file] of [
      '/etc/nginx/conf.d/app.conf',
      '/etc/.hidden..rc',
      '/etc/sudoers.d/ops',
    ].entries()) {
      const out = `config-rollout-ok-${i}.json`;
      const r = await plan(
        'config-rollout',
        [`dest=${file}`, `content_base64=${content}`, `sha256=${sha}`],
        out,
      );
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, `${file}: ${r.stderr}`).toBe(0);
    }
  });
});
