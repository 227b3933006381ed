import { execFile } from 'node:child_process';
import { appendFile, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type JiraFake, startJiraFake } from '@opsbook/testkit/jira';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approversYaml, makePerson, type Person, type PersonName } from './opsbook-world.js';
import { runCli, stackTrace } from './run-cli.js';

/*
 * `opsbook doctor` on a new machine: each part of the setup it reads (config, trust pin, state
 * store, outbox, tracker, inventory) is named with what to change when it is wrong, before a
 * ticket or a run trips on it.
 */

const execFileAsync = promisify(execFile);

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let store: string;

beforeAll(async () => {
  tmp = await makeTempDir('opsbook-doctor-');
  const ids: PersonName[] = ['alice', 'bob', 'dave', 'erin', 'grace', 'mallory'];
  await mkdir(path.join(tmp.dir, 'keys'));
  const made = await Promise.all(ids.map((id) => makePerson(path.join(tmp.dir, 'keys'), id)));
  store = approversYaml(
    Object.fromEntries(ids.map((id, i) => [id, made[i]])) as Record<PersonName, Person>,
  );
});
afterAll(async () => {
  await tmp?.remove();
});

/** A workspace: opsbook.yaml with `tracker`, approvers.yaml, a one-host local inventory. */
async function workspace(name: string, tracker = 'tracker: {kind: local}') {
  const dir = path.join(tmp.dir, name);
  await mkdir(dir);
  await writeFile(
    path.join(dir, 'opsbook.yaml'),
    `apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ninventory: inventory.yaml\n${tracker}\n`,
  );
  await writeFile(path.join(dir, 'approvers.yaml'), store);
  await writeFile(
    path.join(dir, 'inventory.yaml'),
    'all:\n  hosts:\n    h1: {ansible_connection: local}\n',
  );
  const env = { HOME: dir, OPSBOOK_USER: 'grace', OPSBOOK_TRUST_DIR: path.join(dir, 'pin') };
  return {
    dir,
    opsbook: (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      runCli(args, { cwd: dir, env: { ...env, ...extra } }),
  };
}

describe('opsbook doctor', () => {
  it('on a new team with no approvers.yaml, names the command that creates it', async () => {
    const w = await workspace('no-store');
    await rm(path.join(w.dir, 'approvers.yaml'));
    const r = await w.opsbook(['doctor']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      `→ create ${path.join(w.dir, 'approvers.yaml')} with its first senior: opsbook trust add-approver --id ID --name NAME --role senior --key-file KEY.pub (README, section Approvals); then sudo opsbook trust init`,
    );
    const show = await w.opsbook(['trust', 'show']);
    expect(show.code).toBe(2);
    expect(show.stderr).toContain('with its first senior: opsbook trust add-approver --id ID');
  });

  it('names the missing trust pin and how to make it, then says ready once it is made', async () => {
    const w = await workspace('pin');
    const before = await w.opsbook(['doctor']);
    expect(before.code, before.stderr).toBe(1);
    expect(before.stdout).toMatch(/^✗ trust +.*approvers\.yaml is not pinned in .*pin/m);
    expect(before.stdout).toContain('→ sudo opsbook trust init');
    expect(before.stdout).toMatch(/^✓ state +files store .*state: 0 run\(s\)$/m);
    expect(before.stdout).toMatch(/^✓ tracker +the embedded local tracker/m);
    expect(before.stdout).toMatch(/^✓ inventory +.*inventory\.yaml: 1 host\(s\)/m);
    expect(before.stdout).toContain('1 problem(s) to fix');

    const init = await w.opsbook(['trust', 'init']);
    expect(init.code, init.stderr).toBe(0);
    const after = await w.opsbook(['doctor', '--json']);
    expect(after.code, after.stderr).toBe(0);
    const doc = JSON.parse(after.stdout) as {
      ok: boolean;
      findings: { area: string; level: string }[];
    };
    expect(doc.ok).toBe(true);
    expect(doc.findings.map((f) => [f.area, f.level])).toEqual([
      ['config', 'ok'],
      ['trust', 'ok'],
      ['state', 'ok'],
      ['outbox', 'ok'],
      ['tracker', 'ok'],
      ['inventory', 'ok'],
    ]);
  });

  it('fails a known_hosts that others can write, which a run would refuse (KNOWN_HOSTS_UNSAFE)', async () => {
    const w = await workspace('known-hosts');
    await writeFile(
      path.join(w.dir, 'inventory.yaml'),
      'all:\n  hosts:\n    h1: {ansible_host: 127.0.0.2}\n',
    );
    const knownHosts = path.join(w.dir, 'known_hosts');
    await writeFile(knownHosts, '');
    await appendFile(path.join(w.dir, 'opsbook.yaml'), `knownHosts: ${knownHosts}\n`);
    await chmod(knownHosts, 0o666);
    const r = await w.opsbook(['doctor']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^✗ known hosts +1 host\\(s\\) over SSH would all be refused: the known_hosts file ${knownHosts} is not trusted: .*\\(mode 666\\)`,
        'm',
      ),
    );
    await chmod(knownHosts, 0o600);
    const fixed = await w.opsbook(['doctor']);
    expect(fixed.stdout).not.toContain('would all be refused');
  });

  it('names the SSH hosts known_hosts has no key for, with the ssh-keyscan command, before a run refuses them', async () => {
    const w = await workspace('known-hosts-missing');
    await writeFile(
      path.join(w.dir, 'inventory.yaml'),
      'all:\n  hosts:\n    h1: {ansible_host: 127.0.0.2, ansible_port: 2222}\n    h2: {ansible_host: 127.0.0.3}\n    h3: {ansible_connection: local}\n',
    );
    const knownHosts = path.join(w.dir, 'known_hosts');
    // A real host key line for h2 (port 22): only h1 is missing.
    await execFileAsync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      path.join(w.dir, 'hk'),
    ]);
    const hostKey = (await readFile(path.join(w.dir, 'hk.pub'), 'utf8')).split(' ');
    await writeFile(knownHosts, `127.0.0.3 ${hostKey[0]} ${hostKey[1]}\n`, { mode: 0o600 });
    await appendFile(path.join(w.dir, 'opsbook.yaml'), `knownHosts: ${knownHosts}\n`);
    expect((await w.opsbook(['trust', 'init'])).code).toBe(0);
    const r = await w.opsbook(['doctor']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stdout).toBe(0); // a warning: --accept-new-host-keys may be the team's way
    expect(r.stdout).toMatch(
      new RegExp(
        `^! known hosts +1 of 2 host\\(s\\) over SSH have no key in ${knownHosts}.*: h1 `,
        'm',
      ),
    );
    expect(r.stdout).toContain(`ssh-keyscan -p 2222 127.0.0.2 >> ${knownHosts}`);
    expect(r.stdout).not.toMatch(/h2 \(127\.0\.0\.3/);

    await appendFile(knownHosts, `[127.0.0.2]:2222 ${hostKey[0]} ${hostKey[1]}\n`);
    const all = await w.opsbook(['doctor']);
    expect(all.code, all.stdout).toBe(0);
    expect(all.stdout).toMatch(/^✓ known hosts +a key for each of the 2 host\(s\) over SSH/m);
  });

  it('looks a host up at the port ~/.ssh/config gives it where the inventory sets none, as a run connects', async () => {
    const w = await workspace('known-hosts-ssh-config-port');
    await writeFile(
      path.join(w.dir, 'inventory.yaml'),
      'all:\n  hosts:\n    h1: {ansible_host: 127.0.0.4}\n',
    );
    await execFileAsync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-f',
      path.join(w.dir, 'hk'),
    ]);
    const hostKey = (await readFile(path.join(w.dir, 'hk.pub'), 'utf8')).split(' ');
    const knownHosts = path.join(w.dir, 'known_hosts');
    // The key is known at the port the run will use (2200, from ~/.ssh/config), not at 22.
    await writeFile(knownHosts, `[127.0.0.4]:2200 ${hostKey[0]} ${hostKey[1]}\n`, { mode: 0o600 });
    await appendFile(path.join(w.dir, 'opsbook.yaml'), `knownHosts: ${knownHosts}\n`);
    await mkdir(path.join(w.dir, '.ssh'), { mode: 0o700 });
    await writeFile(path.join(w.dir, '.ssh', 'config'), 'Host 127.0.0.4\n  Port 2200\n', {
      mode: 0o600,
    });
    expect((await w.opsbook(['trust', 'init'])).code).toBe(0);
    const r = await w.opsbook(['doctor']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^✓ known hosts +a key for each of the 1 host\(s\) over SSH/m);
    // Without the config, the run connects to port 22, where no key is known.
    await rm(path.join(w.dir, '.ssh', 'config'));
    const bare = await w.opsbook(['doctor']);
    expect(bare.stdout).toContain(`ssh-keyscan -p 22 127.0.0.4 >> ${knownHosts}`);
  });

  it('names an alerts.yaml that would not load, with where to look', async () => {
    const w = await workspace('bad-alerts');
    await writeFile(
      path.join(w.dir, 'alerts.yaml'),
      'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\ncorrelate:\n  - {name: c, by: {labels: [cluster]}}\nownership:\n  default: { roundRobin: [alise] }\n',
    );
    await w.opsbook(['trust', 'init']);
    const r = await w.opsbook(['doctor']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(
      /^✗ alerts +alerts\.yaml does not load, so alerts serve, ingest and dispatch would refuse it: alerts\.yaml:7:\d+: 'alise' is not a person of approvers\.yaml: did you mean alice\?/m,
    );
    expect(r.stdout).toContain('→ opsbook validate names every problem at its line');
  });

  it('fails schedules on the files store, where none of them would run', async () => {
    const w = await workspace('schedules-files');
    await appendFile(
      path.join(w.dir, 'opsbook.yaml'),
      'schedules:\n  daily: { runbook: daily-inspection, cron: "0 6 * * *" }\n',
    );
    await w.opsbook(['trust', 'init']);
    const r = await w.opsbook(['doctor']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(
      /^✗ schedules +opsbook\.yaml has 1 schedule\(s\), and schedules need the PostgreSQL state store/m,
    );
    expect(r.stdout).toContain('run opsbook db migrate (docs/schedules.md)');
  });

  it('reports a ledger line it cannot read at its file and line, and still checks the rest', async () => {
    const w = await workspace('ledger');
    await mkdir(path.join(w.dir, 'state'), { mode: 0o700 });
    await appendFile(path.join(w.dir, 'state', 'ledger.jsonl'), 'not a record\n');
    const r = await w.opsbook(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stdout).toMatch(/^✗ state +.*ledger\.jsonl:1:1: this ledger line is not a run/m);
    expect(r.stdout).toMatch(/^✓ tracker /m);
    expect(r.stdout).toMatch(/^✓ inventory /m);
  });

  it('names a state dir that is a file, with what to do, and still checks the rest', async () => {
    const w = await workspace('state-file');
    await writeFile(path.join(w.dir, 'state'), 'not a folder\n');
    const r = await w.opsbook(['doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.stdout).toContain(
      '✗ state      opsbook.yaml:3:11: stateDir, the state folder (journals, ledger, local tickets), is state, which is a file: no run could journal\n             → point stateDir at a folder (opsbook makes it if it is missing), or move that file away',
    );
    expect(r.stdout).not.toContain('ENOTDIR: not a directory');
    expect(r.stdout).toMatch(/^✓ inventory /m);
  });

  describe.each([['cloud'], ['datacenter']] as const)('with Jira %s', (flavour) => {
    let fake: JiraFake;
    beforeAll(async () => {
      // This project's workflow calls the review status "Code Review", not opsbook's "In Review".
      fake = await startJiraFake({ flavour, statuses: { review: 'Code Review' } });
    });
    afterAll(async () => {
      await fake.closeExpectingNone();
    });

    const jira = (statuses = '') =>
      `tracker:\n  kind: jira\n  jira:\n    project: OPS\n    flavour: ${flavour}\n${statuses}`;

    it('names a status the project lacks and the setting to change, before any ticket needs it', async () => {
      const w = await workspace(`jira-${flavour}`, jira());
      // alice's Jira account is one of the project's users; bob's is a typo.
      const known = fake.users[1]!;
      const account = flavour === 'cloud' ? known.accountId : known.name;
      await writeFile(
        path.join(w.dir, 'approvers.yaml'),
        store
          .replace(/( {2}- id: alice\n(?: {4}.*\n)*? {4}keys: .*\n)/, `$1    jira: ${account}\n`)
          .replace(/( {2}- id: bob\n(?: {4}.*\n)*? {4}keys: .*\n)/, '$1    jira: bob-typo-42\n'),
      );
      await w.opsbook(['trust', 'init']);
      const r = await w.opsbook(['doctor'], fake.env);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`^✓ jira assignee alice +${account} \\(`, 'm'));
      expect(r.stdout).toMatch(
        /^✗ jira assignee bob +approvers\.yaml gives bob the Jira account bob-typo-42, which cannot be assigned tickets in OPS/m,
      );
      expect(r.stdout).toContain("→ set bob's jira: in approvers.yaml");
      expect(r.stdout).toMatch(/^✓ jira account +signed in to .* as /m);
      expect(r.stdout).toMatch(/^✓ jira status inProgress +'In Progress'$/m);
      expect(r.stdout).toMatch(
        /^✗ jira status review +'In Review' is not a status of OPS's Task workflow \(it has: .*Code Review.*\)$/m,
      );
      expect(r.stdout).toContain('→ set tracker.jira.statuses.review in opsbook.yaml');
      // Reading only: the doctor created nothing.
      expect(fake.requests().every((q) => q.method === 'get')).toBe(true);
    });

    it('checks that each owner alerts.yaml names can be assigned tickets, once each', async () => {
      const w = await workspace(
        `jira-owners-${flavour}`,
        jira('    statuses: {review: Code Review}\n'),
      );
      const known = fake.users[1]!;
      const account = flavour === 'cloud' ? known.accountId : known.name;
      await mkdir(path.join(w.dir, 'oncall'));
      await writeFile(
        path.join(w.dir, 'oncall', 'db.yaml'),
        `apiVersion: opsbook/v1\nkind: OnCall\nshifts:\n  - { from: "2025-03-03T08:00:00Z", person: ${account} }\n  - { from: "2025-03-10T08:00:00Z", person: olga-typo }\n`,
      );
      await writeFile(
        path.join(w.dir, 'alerts.yaml'),
        `apiVersion: opsbook/v1\nkind: AlertRules\nversion: 4\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\nownership:\n  rules:\n    - { match: { groups: [db] }, onCall: oncall/db.yaml }\n  default: { roundRobin: [${account}, sam-typo] }\n`,
      );
      await w.opsbook(['trust', 'init']);
      const r = await w.opsbook(['doctor'], fake.env);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toMatch(
        /^✓ alerts +alerts\.yaml version 4: 1 correlation rule\(s\), 2 ownership rule\(s\)$/m,
      );
      expect(
        r.stdout.match(new RegExp(`^✓ jira assignee ${account} +${account} \\(`, 'gm')),
      ).toHaveLength(1);
      for (const typo of ['olga-typo', 'sam-typo'])
        expect(r.stdout).toMatch(
          new RegExp(
            `^✗ jira assignee ${typo} +alerts\\.yaml hands incidents' tickets to ${typo}, which cannot be assigned tickets in OPS`,
            'm',
          ),
        );
      expect(r.stdout).toContain("→ write the owner's Jira");
      expect(fake.requests().every((q) => q.method === 'get')).toBe(true);
    });

    it('says ready once opsbook.yaml names the project\u2019s status', async () => {
      const w = await workspace(
        `jira-fixed-${flavour}`,
        jira('    statuses: {review: Code Review}\n'),
      );
      await w.opsbook(['trust', 'init']);
      const r = await w.opsbook(['doctor'], fake.env);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/^✓ jira status review +'Code Review'$/m);
    });

    it("fails a commentVisibility role the account is not in (Jira would refuse opsbook's comments), and passes one it is in", async () => {
      const w = await workspace(
        `jira-visibility-${flavour}`,
        jira(
          '    statuses: {review: Code Review}\n    commentVisibility: {type: role, value: Administrators}\n',
        ),
      );
      await w.opsbook(['trust', 'init']);
      const r = await w.opsbook(['doctor'], fake.env);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toMatch(
        /^✗ jira comment visibility +.* is not in project role Administrators of OPS: Jira refuses the comments opsbook posts restricted to it/m,
      );
      expect(r.stdout).toContain('tracker.jira.commentVisibility in opsbook.yaml');
      const d = await workspace(
        `jira-visibility-ok-${flavour}`,
        jira(
          '    statuses: {review: Code Review}\n    commentVisibility: {type: role, value: Developers}\n',
        ),
      );
      await d.opsbook(['trust', 'init']);
      const ok = await d.opsbook(['doctor'], fake.env);
      // Developers holds the group jira-software-users: Cloud lists the account's groups, Data
      // Center lets it not, so the doctor warns there (exit 0) rather than guess.
      expect(ok.code, ok.stdout).toBe(0);
      expect(ok.stdout).toMatch(
        flavour === 'cloud'
          ? /^✓ jira comment visibility +.* acts in role Developers through group jira-software-users$/m
          : /^! jira comment visibility +cannot tell whether .* is in project role Developers of OPS/m,
      );
    });
  });
});
