import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProxyJump, resolveSshConfig } from './ssh-config.js';

const env = { homeDir: '/home/ops', localUser: 'ops' };
const CONFIG = `
Host web1
  HostName 10.0.0.1
  Port 2222
  IdentityFile ~/.ssh/web1_key

Host web*
  User deploy
  Port 2200
  IdentityFile %d/.ssh/web_%r
  ProxyJump bastion,admin@jump2:2201

Host *.internal
  HostName %h.example.net

Host *
  User root
  IdentityFile ~/.ssh/id_ed25519
`;

describe('resolveSshConfig', () => {
  it('takes the first value of each keyword in file order, as OpenSSH does', () => {
    expect(resolveSshConfig(CONFIG, 'web1', env)).toEqual({
      alias: 'web1',
      hostName: '10.0.0.1',
      port: 2222,
      user: 'deploy',
      identityFiles: [
        '/home/ops/.ssh/web1_key',
        '/home/ops/.ssh/web_deploy',
        '/home/ops/.ssh/id_ed25519',
      ],
      proxyJump: [{ host: 'bastion' }, { user: 'admin', host: 'jump2', port: 2201 }],
      setByConfig: ['port', 'user'],
    });
  });

  it('falls back to the alias, port 22 and the local user without a config', () => {
    expect(resolveSshConfig(undefined, 'db1', env)).toEqual({
      alias: 'db1',
      hostName: 'db1',
      port: 22,
      user: 'ops',
      identityFiles: [],
      proxyJump: [],
      setByConfig: [],
    });
  });

  it('expands %h in HostName and never runs Match exec', () => {
    const cfg = `Match exec "touch /tmp/opsbook-match-exec-ran"\n  User pwned\n${CONFIG}`;
    const resolved = resolveSshConfig(cfg, 'db.internal', env);
    expect(resolved.hostName).toBe('db.internal.example.net');
    expect(resolved.user).toBe('root');
    expect(existsSync('/tmp/opsbook-match-exec-ran')).toBe(false);
  });

  it('refuses a Port that is not a number', () => {
    expect(() => resolveSshConfig('Host x\n  Port http\n', 'x', env)).toThrow(/not a port number/);
  });
});

describe('precedence: inventory, then ssh config, then defaults', () => {
  it('leaves Port to the config when nothing sets it; 22 only when the config has none', () => {
    const cfg = 'Host web1\n  Port 2222\n';
    expect(resolveSshConfig(cfg, 'web1', env).port).toBe(2222);
    expect(resolveSshConfig(cfg, 'db1', env).port).toBe(22);
  });

  it('applies a Match block after earlier lines set HostName (Match host sees it)', () => {
    const cfg = 'Host app\n  HostName 10.1.2.3\nMatch host 10.1.*\n  Port 2202\n  User ops2\n';
    expect(resolveSshConfig(cfg, 'app', env)).toMatchObject({ port: 2202, user: 'ops2' });
  });
});

describe('parseProxyJump', () => {
  it('parses user, host, port, IPv6 and none', () => {
    expect(parseProxyJump('ssh://u@[::1]:2022,h2')).toEqual([
      { user: 'u', host: '::1', port: 2022 },
      { host: 'h2' },
    ]);
    expect(parseProxyJump('none')).toEqual([]);
    expect(() => parseProxyJump('a b@')).toThrow(/ProxyJump/);
  });
});
