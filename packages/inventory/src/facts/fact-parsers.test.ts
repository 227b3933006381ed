import { describe, expect, it } from 'vitest';
import { parseInterfaces, parseServices } from './network-facts.js';
import { parseBlockDevices, parseFilesystems, parseMemory } from './storage-facts.js';
import { parseCpu, parseKernel, parseOsRelease, parseUptime } from './system-facts.js';

// Format samples of other distributions (documented formats, not captured here; see the
// fixtures README). Rocky 9's os-release is as shipped by rocky-release; Alpine's by alpine-base.
const ROCKY_OS = `NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n`;
const ALPINE_OS = `NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n`;
const ARM_CPU = `processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n`;

describe('system fact parsers on two distributions', () => {
  it('reads os-release of Rocky and Alpine (quoted and bare values)', () => {
    expect(parseOsRelease(ROCKY_OS)).toEqual({
      ok: true,
      data: {
        id: 'rocky',
        name: 'Rocky Linux',
        versionId: '9.3',
        prettyName: 'Rocky Linux 9.3 (Blue Onyx)',
      },
    });
    expect(parseOsRelease(ALPINE_OS)).toMatchObject({
      ok: true,
      data: { id: 'alpine', versionId: '3.19.1' },
    });
  });

  it('reads the model of an ARM cpuinfo and counts its processors without nproc', () => {
    expect(parseCpu(ARM_CPU)).toEqual({
      ok: true,
      data: { model: 'Raspberry Pi 4 Model B Rev 1.4', cores: 2 },
    });
    expect(parseCpu(`OPSBOOK_NPROC 1\n${ARM_CPU}`)).toMatchObject({ data: { cores: 1 } });
  });

  it('reads uname of an aarch64 Rocky kernel', () => {
    expect(parseKernel('Linux 5.14.0-362.8.1.el9_3.aarch64 aarch64\n')).toEqual({
      ok: true,
      data: { name: 'Linux', release: '5.14.0-362.8.1.el9_3.aarch64', machine: 'aarch64' },
    });
  });
});

describe('fallback tools', () => {
  it('reads interfaces from /proc/net/dev and /proc/net/if_inet6 when ip is missing', () => {
    const text = [
      'OPSBOOK_SECTION proc',
      'Inter-|   Receive                |  Transmit',
      ' face |bytes    packets errs drop|bytes    packets',
      '    lo:  123 4 0 0 0 0 0 0 123 4 0 0 0 0 0 0',
      '  eth0: 999 9 0 0 0 0 0 0 999 9 0 0 0 0 0 0',
      '00000000000000000000000000000001 01 80 10 80       lo',
    ].join('\n');
    expect(parseInterfaces(text)).toEqual({
      ok: true,
      data: [
        {
          name: 'lo',
          addresses: [
            { family: 'inet6', address: '0000:0000:0000:0000:0000:0000:0000:0001', prefix: 128 },
          ],
        },
        { name: 'eth0', addresses: [] },
      ],
    });
  });

  it('reads listening sockets from /proc/net/tcp and netstat -p program names', () => {
    const proc =
      'OPSBOOK_SECTION proc\n  sl  local_address rem_address   st\n   0: 0100007F:0016 00000000:0000 0A 0\n';
    expect(parseServices(proc)).toEqual({
      ok: true,
      data: [{ address: '127.0.0.1', port: 22, process: null }],
    });
    const netstat = [
      'OPSBOOK_SECTION netstat',
      'Proto Recv-Q Send-Q Local Address Foreign Address State PID/Program name',
      'tcp 0 0 0.0.0.0:5432 0.0.0.0:* LISTEN 812/postgres',
    ].join('\n');
    expect(parseServices(netstat)).toEqual({
      ok: true,
      data: [{ address: '0.0.0.0', port: 5432, process: 'postgres' }],
    });
  });
});

const parsers = {
  parseOsRelease,
  parseKernel,
  parseCpu,
  parseUptime,
  parseMemory,
  parseFilesystems,
  parseBlockDevices,
  parseInterfaces,
  parseServices,
};
const GARBAGE = [
  '',
  '\x00\x01\x02\xff\xfe',
  'OPSBOOK_MISSING everything',
  'OPSBOOK_SECTION lsblk\nNAME="x" SIZE="nope"',
  'OPSBOOK_SECTION sys\n../../etc 12 0',
  'OPSBOOK_SECTION ip\n1: lo inet 999.1/800',
  'Filesystem\nnot a row\n'.repeat(50),
];

describe.each(Object.entries(parsers))('%s on garbage', (_, parse) => {
  it.each(GARBAGE.map((g) => [JSON.stringify(g).slice(0, 40), g]))(
    'answers unknown with a reason for %s',
    (_label, input) => {
      const result = parse(input as string);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/\S/);
    },
  );
});
