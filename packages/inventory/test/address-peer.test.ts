import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseHostAddress } from '../src/host-range.js';

/** The real peer: Ansible's own parse_address, on the python3 that /usr/bin/ansible runs on. */
const run = promisify(execFile);

const script = `
import json, sys
from ansible.parsing.utils.addresses import parse_address
out = []
for s in json.load(sys.stdin):
    try:
        host, port = parse_address(s, allow_ranges=True)
        out.append({'host': host, 'port': port} if port is not None else {'host': host})
    except Exception:
        out.append(None)
print(json.dumps(out))
`;

const samples = [
  'host-0001',
  'web01.example.com',
  'web[01:03].example.com:2222',
  'db-[a:c]',
  'éa.example',
  'x_',
  // The ASCII names parseHostAddress decides without the Unicode expression, and their edges.
  '_a',
  '_',
  '9',
  'web-',
  '-web',
  'x-_y',
  'Web01.Example.COM',
  'a..b',
  'a.',
  'a_.b',
  'a b',
  'host:port',
  'h:22:33',
  '[web]:22',
  '10.0.0.1',
  '10.0.0.1:22',
  '[10.0.0.1]:22',
  '10.0.0.[1:3]',
  '10.0.[0:2:2].1:2200',
  '1.2.3.4.5',
  '300.1.1.1',
  '127.0.0.1:',
  'fe80::1',
  'fe80::1:22',
  '[fe80::1]:22',
  '::1',
  '[::1]',
  '::ffff:10.0.0.1',
  'fe80::[a:c]',
  '2001:db8:0:0:0:0:0:1',
  // Not here: what only starts like an IPv6 address ('1:2:3:4:5:6:7:8:9'). Ansible's expression
  // anchors only its first and last alternatives and takes it as a host; opsbook refuses it.
];

describe('host declarations', () => {
  it("split into host and port as Ansible's parse_address does, addresses and names alike", async () => {
    const child = run('/usr/bin/python3', ['-c', script]);
    child.child.stdin?.end(JSON.stringify(samples));
    const theirs = JSON.parse((await child).stdout) as unknown[];
    expect(samples.map((s) => parseHostAddress(s) ?? null)).toEqual(theirs);
    expect(theirs.filter((t) => t === null).length).toBeGreaterThan(3);
  });
});
