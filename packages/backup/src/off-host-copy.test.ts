import { describe, expect, it } from 'vitest';
import { parseCopyTarget } from './off-host-copy.js';

describe('parseCopyTarget', () => {
  it('reads user, host and port, and leaves a bare name to ~/.ssh/config as an alias', () => {
    expect(parseCopyTarget('backup@vault.example.com:2222')).toEqual({
      name: 'backup@vault.example.com:2222',
      host: 'vault.example.com',
      port: 2222,
      user: 'backup',
    });
    expect(parseCopyTarget('root@[::1]:22')).toMatchObject({ host: '::1', port: 22 });
    expect(parseCopyTarget('vault')).toEqual({ name: 'vault' });
  });

  it.each([
    ['an option in disguise', '-oProxyCommand=x'],
    ['a path', 'vault:/srv'],
    ['a port out of range', 'vault:70000'],
    ['spaces', 'vault example'],
  ])('refuses %s', (_what, to) => {
    expect(() => parseCopyTarget(to)).toThrow(/copy destination/);
  });
});
