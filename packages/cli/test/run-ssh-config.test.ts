import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval } from './run-outcome.js';

/*
 * Issue #17 item 7, through the binary against a real sshd on a non-default port: a host the
 * inventory names without ansible_port is reached on the Port that ~/.ssh/config (or a file it
 * Includes) gives it, as ssh would; the inventory's own ansible_port still wins. A HostName the
 * config gives the plan's address is refused (SSH_ROUTE_REFUSED): the runner machine's config is
 * the engineer's, and would send an approved run to another host (the security audit's F1).
 */

const markRunbook: RunbookFixture = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata: {name: mark, title: Leave a marker, category: change, grade: P4, owners: [ops-test]}
spec:
  params:
    dir: {type: string, required: true, pattern: "^/", description: Marker folder}
  steps:
    - {id: mark, name: Leave a marker, run: "touch {{ params.dir }}/{{ host.name }}.ran"}
`,
};

let world: World;
let markers = '';

beforeAll(async () => {
  world = await createWorld({ hostCount: 1, runbooks: { mark: markRunbook } });
  const h = world.hosts[0]!;
  const key = h.clientKeyPath;
  await world.writeInventory({
    extraHosts: {
      // No port: it comes from a file ~/.ssh/config Includes (Host matching its address).
      'db-port': { ansible_host: h.host, ansible_user: 'root', ansible_ssh_private_key_file: key },
      // No address: ~/.ssh/config would send it to a HostName. Refused, never followed.
      'db-alias': { ansible_user: 'root', ansible_ssh_private_key_file: key },
      // No user and no port: both from ~/.ssh/config (config.d/db.conf), journaled and said.
      'db-user': { ansible_host: h.host, ansible_ssh_private_key_file: key },
      // An address whose ssh_config entry adds a ProxyJump the plan does not hold: refused.
      'db-jumped': {
        ansible_host: 'localhost',
        ansible_port: h.port,
        ansible_user: 'root',
        ansible_ssh_private_key_file: key,
      },
      'db-explicit': {
        ansible_host: h.host,
        ansible_port: h.port,
        ansible_user: 'root',
        ansible_ssh_private_key_file: key,
      },
    },
  });
  const sshDir = path.join(world.dir, 'home', '.ssh');
  await mkdir(path.join(sshDir, 'config.d'), { recursive: true });
  await writeFile(
    path.join(sshDir, 'config'),
    `Include config.d/*.conf

Host db-alias
  HostName ${h.host}
  Port ${h.port}

Host localhost
  ProxyJump root@${h.host}:${h.port}
`,
  );
  await writeFile(
    path.join(sshDir, 'config.d', 'db.conf'),
    `Host ${h.host}\n  Port ${h.port}\n  User root\n`,
  );
  markers = path.join(world.dir, 'ssh-config-markers');
  await mkdir(markers);
}, 120_000);

afterAll(async () => {
  await world?.remove();
});

describe('opsbook run and ~/.ssh/config (issue #17 item 7)', () => {
  it('reaches a host on the Port ssh_config gives its address (through Include) when the inventory gives none, and refuses a HostName the config would send it to', async () => {
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config.json',
      [world.people.alice],
      {
        params: { dir: markers },
        target: 'db-port,db-alias,db-explicit',
      },
    );
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(1);
    expect(hostOf(r.doc, 'db-port').status).toBe('ok');
    expect(hostOf(r.doc, 'db-explicit').status).toBe('ok');
    // The approved address is db-alias; the runner machine's config must not choose another.
    const alias = hostOf(r.doc, 'db-alias');
    expect(alias.status).toBe('failed');
    expect(alias.error).toContain(
      `the ssh config gives db-alias HostName ${world.hosts[0]!.host}, and opsbook connects only to the address the approved plan holds`,
    );
    expect((await readdir(markers)).sort()).toEqual(['db-explicit.ran', 'db-port.ran']);
    // The plan, and so the journal, holds only what the inventory says: no port for db-port.
    const starts = (await readJournal(r.doc!.journal.path)).filter((e) => e.type === 'host-start');
    const connection = (host: string) =>
      starts.find((e) => e.host === host)?.connection as { port?: number; address: string };
    expect(connection('db-port')).toMatchObject({ address: world.hosts[0]!.host });
    expect(connection('db-port').port).toBeUndefined();
    expect(connection('db-explicit').port).toBe(world.hosts[0]!.port);
  });

  it('journals the route each host was reached on before its first step, and says (run output, ticket) what ~/.ssh/config chose that the plan does not hold', async () => {
    const h = world.hosts[0]!;
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config-route.json',
      [world.people.alice],
      { params: { dir: markers }, target: 'db-user,db-explicit' },
    );
    const r = await runApproval(world, file);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    const journal = await readJournal(r.doc!.journal.path);
    const route = (host: string) => journal.find((e) => e.type === 'host-route' && e.host === host);
    expect(route('db-user')).toMatchObject({
      address: h.host,
      port: h.port,
      user: 'root',
      jumps: [],
      fromSshConfig: ['port', 'user'],
    });
    expect(route('db-explicit')).toMatchObject({
      address: h.host,
      port: h.port,
      user: 'root',
      jumps: [],
      fromSshConfig: [],
    });
    // Before any step there: whoever verifies the run sees where its commands went.
    const kinds = journal.filter((e) => e.host === 'db-user').map((e) => e.type);
    expect(kinds.slice(0, 3)).toEqual(['host-start', 'host-route', 'step-start']);
    expect(r.stderr).toContain(
      `[db-user] reached as root@${h.host} port ${h.port}: port, user from ~/.ssh/config, not in the approved plan`,
    );
    expect(r.stderr).not.toContain('[db-explicit] reached as');
    const shown = await world.opsbook([
      'ticket',
      'show',
      statementOf(await readEnvelope(file)).ticket,
      '--json',
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    const comments = JSON.stringify(
      (JSON.parse(shown.stdout) as { local: { comments: Array<{ body: unknown }> } }).local
        .comments,
    );
    expect(comments).toContain('Connections ~/.ssh/config chose (not in the approved plan)');
    expect(comments).toContain(`root@${h.host} port ${h.port}`);
    expect((await world.opsbook(['journal', 'verify', r.doc!.runId])).code).toBe(0);
  });

  it('refuses a ProxyJump that ~/.ssh/config adds to a host whose plan holds none (SSH_ROUTE_REFUSED), before anything runs there', async () => {
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config-jump.json',
      [world.people.alice],
      { params: { dir: markers }, target: 'db-jumped' },
    );
    const before = await readdir(markers);
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(1);
    const jumped = hostOf(r.doc, 'db-jumped');
    expect(jumped.status).toBe('failed');
    expect(jumped.error).toContain(
      `the ssh config gives localhost ProxyJump root@${world.hosts[0]!.host}:${world.hosts[0]!.port}, and opsbook takes only the route the approved plan holds`,
    );
    expect(await readdir(markers)).toEqual(before);
  });

  it('shows the senior where the port comes from', async () => {
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config-show.json',
      [world.people.alice],
      {
        params: { dir: markers },
        target: 'db-port,db-explicit',
      },
    );
    const r = await world.opsbook(['plan', '--show', file]);
    expect(r.code, r.stderr).toBe(0);
    const h = world.hosts[0]!;
    expect(r.stdout).toContain(`db-port (ssh root@${h.host}, port from ~/.ssh/config or 22)`);
    expect(r.stdout).toContain(`db-explicit (ssh root@${h.host}:${h.port})`);
  });
});
