import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile } from './approval-craft.js';
import { createWorld, type RunbookFixture, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { hostOf, readJournal, runApproval } from './run-outcome.js';

/*
 * Issue #17 item 7, through the binary against a real sshd on a non-default port: a host the
 * inventory names without ansible_port is reached on the Port that ~/.ssh/config (or a file it
 * Includes) gives it, as ssh would; the inventory's own ansible_port still wins over ssh_config
 * (explicit inventory values, then ssh_config, then 22).
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
      // Neither address nor port: both come from ~/.ssh/config's Host block.
      'db-alias': { ansible_user: 'root', ansible_ssh_private_key_file: key },
      // The port comes from a file ~/.ssh/config Includes.
      'db-included': { ansible_user: 'root', ansible_ssh_private_key_file: key },
      // ssh_config says a port where nothing listens; the inventory's ansible_port wins.
      'db-explicit': {
        ansible_host: 'db-explicit',
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

Host db-explicit
  HostName ${h.host}
  Port 9
`,
  );
  await writeFile(
    path.join(sshDir, 'config.d', 'db.conf'),
    `Host db-included\n  HostName ${h.host}\n  Port ${h.port}\n`,
  );
  markers = path.join(world.dir, 'ssh-config-markers');
  await mkdir(markers);
}, 120_000);

afterAll(async () => {
  await world?.remove();
});

describe('opsbook run and ~/.ssh/config (issue #17 item 7)', () => {
  it('reaches a host on the Port ssh_config gives it (directly or through Include) when the inventory gives none, and the inventory port wins over it', async () => {
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config.json',
      [world.people.alice],
      {
        params: { dir: markers },
        target: 'db-alias,db-included,db-explicit',
      },
    );
    const r = await runApproval(world, file);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    for (const host of ['db-alias', 'db-included', 'db-explicit'])
      expect(hostOf(r.doc, host).status).toBe('ok');
    expect((await readdir(markers)).sort()).toEqual([
      'db-alias.ran',
      'db-explicit.ran',
      'db-included.ran',
    ]);
    // The plan, and so the journal, holds only what the inventory says: no port for the first two.
    const starts = (await readJournal(r.doc!.journal.path)).filter((e) => e.type === 'host-start');
    const connection = (host: string) =>
      starts.find((e) => e.host === host)?.connection as { port?: number; address: string };
    expect(connection('db-alias')).toMatchObject({ address: 'db-alias' });
    expect(connection('db-alias').port).toBeUndefined();
    expect(connection('db-explicit').port).toBe(world.hosts[0]!.port);
  });

  it('shows the senior where the port comes from', async () => {
    const file = await approvedFile(
      world,
      'mark',
      'approvals/ssh-config-show.json',
      [world.people.alice],
      {
        params: { dir: markers },
        target: 'db-alias,db-explicit',
      },
    );
    const r = await world.opsbook(['plan', '--show', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('db-alias (ssh root@db-alias, port from ~/.ssh/config or 22)');
    expect(r.stdout).toContain(`db-explicit (ssh root@db-explicit:${world.hosts[0]!.port})`);
  });
});
