import { describe, expect, it } from 'vitest';
import { unpinnedDownloads, unprivilegedCommands } from './command-checks.js';
import { simpleCommands } from './shell-commands.js';

describe('simpleCommands', () => {
  it('finds each command, its operand and whether it reads a pipe', () => {
    expect(
      simpleCommands('LANG=C df -hP /x | grep -v tmpfs; systemctl is-active -q nginx'),
    ).toEqual([
      { name: 'df', operand: '/x', isPiped: false, writesFile: false },
      { name: 'grep', operand: 'tmpfs', isPiped: true, writesFile: false },
      { name: 'systemctl', operand: 'is-active', isPiped: false, writesFile: false },
    ]);
  });

  it('gives up on loops, functions and commands named by variables', () => {
    expect(simpleCommands('for f in a b; do echo "$f"; done')).toBeUndefined();
    expect(simpleCommands('$CMD --now')).toBeUndefined();
  });
});

describe('unprivilegedCommands', () => {
  it('lists the commands when none needs root, else says nothing', () => {
    expect(unprivilegedCommands('uptime && free -m 2>/dev/null')).toEqual(['uptime', 'free']);
    expect(unprivilegedCommands('head -n 5 /etc/shadow')).toBeUndefined();
    expect(unprivilegedCommands('echo 3 > /proc/sys/vm/drop_caches')).toBeUndefined();
    expect(unprivilegedCommands('echo 3 >/proc/sys/vm/drop_caches')).toBeUndefined();
    expect(unprivilegedCommands('systemctl restart nginx')).toBeUndefined();
  });
});

describe('unpinnedDownloads', () => {
  it('finds fetch-and-run, not fetch-then-check', () => {
    expect(unpinnedDownloads('curl -fsSL https://x | sudo -E bash -s')).toEqual([0]);
    expect(unpinnedDownloads('bash <(curl -s https://x)')).toEqual([0]);
    expect(unpinnedDownloads('eval "$(wget -qO- https://x)"')).toEqual([0]);
    expect(
      unpinnedDownloads('curl -fo /tmp/i https://x && sha256sum -c sums && sh /tmp/i'),
    ).toEqual([]);
    expect(unpinnedDownloads('curl -sf https://x/health || sh -c "exit 1"')).toEqual([]);
  });
});
