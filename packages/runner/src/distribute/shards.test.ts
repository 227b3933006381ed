import { describe, expect, it } from 'vitest';
import { HostResults } from './host-results.js';
import { readShardJob } from './shard-job.js';
import { shardTask, splitIntoShards, zoneOf } from './shards.js';

const at = (zone: string, ...names: string[]) => names.map((name) => ({ name, zone }));

describe('splitIntoShards', () => {
  it('cuts each zone into runs of at most the shard size, each host once, in plan order', () => {
    const hosts = [...at('dc1', 'a', 'b', 'c'), ...at('dc2', 'd'), ...at('dc1', 'e')];
    expect(splitIntoShards(hosts, 2)).toEqual([
      { index: 0, zone: 'dc1', hosts: ['a', 'b'] },
      { index: 1, zone: 'dc1', hosts: ['c', 'e'] },
      { index: 2, zone: 'dc2', hosts: ['d'] },
    ]);
  });

  it('refuses a shard size that is not a positive whole number', () => {
    expect(() => splitIntoShards(at('dc1', 'a'), 0)).toThrow(/--shard-size 0/);
    expect(() => splitIntoShards(at('dc1', 'a'), 1.5)).toThrow(/--shard-size 1.5/);
  });
});

describe('zoneOf', () => {
  it('reads opsbook_zone, and puts a host without it in zone default', () => {
    expect(zoneOf({ name: 'a', vars: { opsbook_zone: 'dc1' } })).toBe('dc1');
    expect(zoneOf({ name: 'b', vars: {} })).toBe('default');
    expect(shardTask('dc1')).toBe('opsbook.shard.dc1');
  });

  it('refuses a zone that is not a plain name (it becomes a task name)', () => {
    expect(() => zoneOf({ name: 'a', vars: { opsbook_zone: 'dc1; drop' } })).toThrow(
      /host a \(opsbook_zone\): zone "dc1; drop" is not a zone name/,
    );
  });

  it('refuses a vaulted zone that is not a plain name without showing it', () => {
    const host = {
      name: 'a',
      vars: { opsbook_zone: 'VLT zone secret' },
      varOrigins: {
        opsbook_zone: { file: 'hosts.yaml', line: 4, col: 7, isVaulted: true as const },
      },
    };
    const refusal = (() => {
      try {
        zoneOf(host);
      } catch (e) {
        return e as Error;
      }
      throw new Error('the vaulted zone was accepted');
    })();
    expect(refusal.message).toContain(
      'host a (opsbook_zone): zone (a vaulted value) is not a zone name',
    );
    expect(refusal.message).not.toContain('VLT');
    expect(zoneOf({ ...host, vars: { opsbook_zone: 'dc2' } })).toBe('dc2');
  });
});

describe('readShardJob', () => {
  const job = { version: 1, runId: 'r1', shard: 0, zone: 'dc1', hosts: ['a'], approval: 'e30=' };

  it('takes a well-formed job', () => {
    expect(readShardJob(job)).toEqual(job);
  });

  it.each([
    [{ ...job, version: 2 }, /version 2/],
    [{ ...job, hosts: [] }, /no host list/],
    [{ ...job, hosts: ['a', 'a'] }, /a host is listed twice/],
    [{ ...job, approval: '' }, /no approval/],
    [null, /not an object/],
  ])('refuses a malformed job with SHARD_REFUSED (%#)', (payload, message) => {
    expect(() => readShardJob(payload)).toThrow(message);
    expect(() => readShardJob(payload)).toThrow(expect.objectContaining({ code: 'SHARD_REFUSED' }));
  });
});

describe('HostResults', () => {
  it("builds a host's result from its step-end and host-end events; a host never ended is not-started", () => {
    const results = new HostResults();
    results.add({
      type: 'step-end',
      host: 'a',
      phase: 'steps',
      step: 's1',
      status: 'ok',
      exitCode: 0,
      durationMs: 5,
    });
    const a = results.add({ type: 'host-end', host: 'a', status: 'ok', rolledBack: false });
    expect(a).toMatchObject({ host: 'a', status: 'ok', steps: [{ id: 's1', status: 'ok' }] });
    expect(results.inOrder(['b', 'a']).map((h) => [h.host, h.status])).toEqual([
      ['b', 'not-started'],
      ['a', 'ok'],
    ]);
  });
});
