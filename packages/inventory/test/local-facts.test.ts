import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FACTS_COLLECTOR, parseHostFacts } from '../src/index.js';

// The collector run by a real /bin/sh on this machine, compared with the tools run directly.
const facts = parseHostFacts(
  'localhost',
  execFileSync('/bin/sh', ['-c', FACTS_COLLECTOR], { encoding: 'utf8' }),
);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

describe('facts of localhost agree with the tools run directly', () => {
  it('reads every fact', () => {
    expect(facts.unknown).toEqual([]);
  });
  it('counts the cores nproc counts', () => {
    expect(facts.cpu?.cores).toBe(Number(run('nproc', []).trim()));
  });
  it('reads MemTotal and SwapTotal of /proc/meminfo', () => {
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1]);
    expect(facts.memory?.totalKiB).toBe(kib('MemTotal'));
    expect(facts.memory?.swapTotalKiB).toBe(kib('SwapTotal'));
  });
  it('gives the size of / that df -Pk gives', () => {
    const row = run('df', ['-Pk', '/']).trim().split('\n')[1]?.split(/\s+/) ?? [];
    const root = facts.filesystems.find((f) => f.mount === '/');
    expect(root?.sizeKiB).toBe(Number(row[1]));
  });
  it('reads the kernel release uname -r prints', () => {
    expect(facts.kernel?.release).toBe(run('uname', ['-r']).trim());
  });
});
