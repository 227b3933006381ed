import { fileURLToPath } from 'node:url';
import { ValidationError } from '@opsbook/schema';
import { describe, expect, it } from 'vitest';
import { connectionOf } from './connection-of.js';
import { loadInventory, parseInventoryText } from './inventory-file.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

async function firstProblem(file: string) {
  const inventory = await loadInventory(fixtures + file);
  for (const host of inventory.hosts) {
    try {
      connectionOf(host);
    } catch (e) {
      if (e instanceof ValidationError) return e.problems[0]!;
      throw e;
    }
  }
  throw new Error(`${file}: every host connected`);
}

describe('connectionOf', () => {
  it('reads the ansible_* variables, with group defaults and Ansible booleans', async () => {
    const inv = await loadInventory(`${fixtures}connection-vars/hosts.ini`);
    expect(inv.hosts.map(connectionOf)).toEqual([
      {
        address: '10.0.0.11',
        port: 2222,
        user: 'deploy',
        privateKeyFile: '~/.ssh/deploy_ed25519',
        become: false,
        becomeUser: 'root',
        transport: 'ssh',
      },
      {
        address: 'app-02',
        port: 2200,
        user: 'ops',
        become: true,
        becomeUser: 'root',
        transport: 'ssh',
      },
      // No ansible_port: left to ~/.ssh/config's Port, then 22, when the run connects.
      {
        address: '10.0.0.13',
        user: 'ops',
        become: false,
        becomeUser: 'root',
        transport: 'ssh',
      },
      { address: 'localhost', become: false, becomeUser: 'root', transport: 'local' },
    ]);
  });

  it('refuses an out-of-range port at the line that set it (INI)', async () => {
    expect(await firstProblem('malformed/bad-port.ini')).toMatchObject({
      line: 2,
      rule: 'bad-port',
      message: "host 'web-01': ansible_port must be a whole number from 1 to 65535, got 70000",
    });
  });

  it('refuses a port inherited from a group at the line of the group var (YAML)', async () => {
    const p = await firstProblem('malformed/bad-port.yaml');
    expect(p).toMatchObject({
      line: 5,
      col: 5,
      message: "host 'web-01': ansible_port must be a whole number from 1 to 65535, got 0",
    });
    expect(p.file).toMatch(/malformed\/bad-port\.yaml$/);
  });

  it('refuses a misspelt connection variable at its line, naming the one meant (it would connect elsewhere)', () => {
    const inv = parseInventoryText(
      'h.ini',
      '[web]\nweb-01 ansible_host=10.0.0.1 ansible_prot=2222\nweb-02 ansible_usr=deploy\n',
      'ini',
    );
    const problems = inv.hosts.map((h) => {
      try {
        connectionOf(h);
        return undefined;
      } catch (e) {
        return e instanceof ValidationError ? e.problems[0] : e;
      }
    });
    expect(problems).toEqual([
      expect.objectContaining({
        line: 2,
        rule: 'misspelt-connection-var',
        message: expect.stringMatching(
          /^host 'web-01': ansible_prot .*did you mean ansible_port\?/,
        ),
      }),
      expect.objectContaining({
        line: 3,
        rule: 'misspelt-connection-var',
        message: expect.stringMatching(/^host 'web-02': ansible_usr .*did you mean ansible_user\?/),
      }),
    ]);
  });

  it("takes Ansible's own variables that look like the ones it reads, and any other host var", () => {
    const inv = parseInventoryText(
      'h.ini',
      'web-01 ansible_host=10.0.0.1 ansible_ssh_pass=x ansible_become_pass=x ansible_password=x ansible_sudo_pass=x ansible_python_interpreter=/usr/bin/python3 ansible_become_exe=sudo ansible_become_flags=-H ansible_host_key_checking=false ansible_shell_type=sh ansible_network_os=ios ansible_ssh_pipelining=true ansible_become_password=x ansible_scp_extra_args=-l ansible_sftp_extra_args=-l ansible_psrp_port=5986 ansible_libssh_user=x ansible_port_note=x ansible_remote_user=deploy ansible_remote_tmp=/tmp color=blue\n',
      'ini',
    );
    expect(connectionOf(inv.hosts[0]!)).toMatchObject({ address: '10.0.0.1' });
  });

  it('refuses a text port', () => {
    const inv = parseInventoryText('h.ini', 'web-02 ansible_port=ssh\n', 'ini');
    expect(() => connectionOf(inv.hosts[0]!)).toThrow(
      'h.ini:1:1: host \'web-02\': ansible_port must be a whole number from 1 to 65535, got "ssh"',
    );
  });

  it('reads ansible_timeout (seconds, group default, older ansible_ssh_timeout) as connectTimeoutMs', () => {
    const inv = parseInventoryText(
      'h.ini',
      [
        'a ansible_timeout=30',
        'b ansible_ssh_timeout=2.5',
        'c',
        '[slow]',
        'd',
        '[slow:vars]',
        'ansible_timeout=45',
        '',
      ].join('\n'),
      'ini',
    );
    const timeouts = inv.hosts.map((h) => [h.name, connectionOf(h).connectTimeoutMs]);
    expect(Object.fromEntries(timeouts)).toEqual({ a: 30_000, b: 2_500, c: undefined, d: 45_000 });
    // Unset leaves the field out: plans made before it existed keep their digests.
    expect(Object.hasOwn(connectionOf(inv.hosts[2]!), 'connectTimeoutMs')).toBe(false);
  });

  it('refuses an ansible_timeout that is not a positive number of seconds, at its line', () => {
    for (const bad of ['0', '-5', 'ten', '1e9', '100000']) {
      const inv = parseInventoryText('h.ini', `x\nweb-03 ansible_timeout=${bad}\n`, 'ini');
      expect(() => connectionOf(inv.hosts[1]!), bad).toThrow(
        `h.ini:2:1: host 'web-03': ansible_timeout must be a number of seconds above 0 and at most 86400`,
      );
    }
  });

  it('refuses an ansible_host that ssh would read as an option (ProxyCommand injection)', async () => {
    expect(await firstProblem('malformed/option-injection.ini')).toMatchObject({
      line: 2,
      message:
        "host 'web-01': ansible_host '-oProxyCommand=touch /tmp/pwned' starts with '-', which ssh would read as an option: fix the value",
    });
  });

  it.each([
    ['web ansible_user="-oProxyCommand=x"', 'starts with'],
    ["web ansible_user='root evil'", 'contains whitespace'],
    ['web ansible_user=root@other', "contains '@'"],
    ['web ansible_host="\'a\\nb\'"', 'contains a control character'],
    ['web ansible_become=maybe', 'must be a boolean'],
    ['web ansible_connection=winrm', 'is not a connection opsbook supports'],
    ['-oProxyCommand=x', "starts with '-'"],
  ])('refuses %s', (line, why) => {
    const inv = parseInventoryText('h.ini', `${line}\n`, 'ini');
    expect(() => connectionOf(inv.hosts[0]!)).toThrow(why);
  });
});

describe('connectionOf: the route to a host is never ignored (issue #17 item 5)', () => {
  const file = `${fixtures}connection-routes/hosts.ini`;
  const hostOf = async (name: string) =>
    (await loadInventory(file)).hosts.find((h) => h.name === name)!;

  it('takes ProxyJump from ansible_ssh_common_args (-o ProxyJump=, -J), the first one given', async () => {
    expect(connectionOf(await hostOf('app-01')).proxyJump).toBe('ops@bastion.example.com:2222');
    // common args come before extra args on ansible's ssh command line; ssh takes the first.
    expect(connectionOf(await hostOf('app-02')).proxyJump).toBe('bastion');
    // ProxyCommand 'ssh -W %h:%p …' is a ProxyJump written the old way.
    expect(connectionOf(await hostOf('app-06')).proxyJump).toBe('ops@bastion.example.com:2222');
  });

  it.each([
    [
      'app-03',
      8,
      "host 'app-03': ansible_ssh_common_args has ProxyCommand, which opsbook does not run (only 'ssh -W %h:%p [-q] [-p port] [-l user] [user@]host' is read, as a ProxyJump): use -o ProxyJump=[user@]bastion[:port]",
    ],
    [
      'app-04',
      9,
      "host 'app-04': ansible_become_method is 'su', but opsbook becomes another user with sudo only (sudo -n)",
    ],
    ['app-05', 10, "host 'app-05': ansible_ssh_extra_args has '-p', which opsbook does not apply"],
  ])('refuses %s naming the host, the variable and its file:line', async (name, line, message) => {
    const host = await hostOf(name);
    const e = (() => {
      try {
        connectionOf(host);
      } catch (x) {
        return x as ValidationError;
      }
      throw new Error(`${name} was accepted`);
    })();
    expect(e.code).toBe('INVENTORY_INVALID');
    expect(e.problems[0]).toMatchObject({ file, line });
    expect(e.problems[0]!.message).toContain(message);
  });

  it.each([
    ['ansible_user', "'root evil'", 'evil'],
    ['ansible_port', '2299', '2299'],
    ['ansible_ssh_common_args', "'-o ProxyJump=ops@jump-vaulted.example:2201'", 'jump-vaulted'],
    ['ansible_timeout', '17', '17'],
  ])(
    'refuses a vaulted %s, which the plan, the ticket and the journal would show in clear',
    (key, value, secret) => {
      const inv = parseInventoryText('h.ini', `web ${key}=${value}\n`, 'ini');
      const host = inv.hosts[0]!;
      host.varOrigins[key] = { ...host.varOrigins[key]!, isVaulted: true };
      let message = '';
      try {
        connectionOf(host);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(
        `host 'web': ${key} (a vaulted value) is refused: connection values are shown`,
      );
      expect(message).not.toContain(secret);
    },
  );

  it('refuses an ansible_become_user other than root (sudo steps run as root), at its line', () => {
    const inv = parseInventoryText(
      'h.ini',
      'web ansible_become=yes ansible_become_user=postgres\n',
      'ini',
    );
    expect(() => connectionOf(inv.hosts[0]!)).toThrow(
      "h.ini:1:1: host 'web': ansible_become_user is 'postgres', but opsbook's sudo steps run as root (sudo -n)",
    );
    const root = parseInventoryText(
      'h.ini',
      'web ansible_become=yes ansible_become_user=root\n',
      'ini',
    );
    expect(connectionOf(root.hosts[0]!).becomeUser).toBe('root');
  });
});
