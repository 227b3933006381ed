import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ServeProcess, startServe } from './alerts-server.js';
import { runCli, stackTrace } from './run-cli.js';

const CONFIG = 'apiVersion: opsbook/v1\nkind: Config\nstateDir: .opsbook\n';

async function storedAlerts(dir: string): Promise<Array<Record<string, unknown>>> {
  const intake = path.join(dir, '.opsbook', 'alerts', 'intake');
  const lines: Array<Record<string, unknown>> = [];
  for (const name of await readdir(intake).catch(() => [] as string[]))
    for (const line of (await readFile(path.join(intake, name), 'utf8')).split('\n'))
      if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
  return lines;
}

describe('opsbook alerts serve (the binary, over loopback HTTP)', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let serve: ServeProcess | undefined;

  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-serve-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    serve = undefined;
    await temp.remove();
  });

  it('prints the bound address first, stores real v4 payloads once, and exits 0 on SIGTERM', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const [first, second] = makeAlertBurst({ alerts: 20, hosts: 2 });
    const res = await serve.post(first!);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 10, duplicates: 0 });
    // Alertmanager retrying the same notification, and the next group at the root path.
    expect(await (await serve.post(first!)).json()).toEqual({ accepted: 0, duplicates: 10 });
    expect((await serve.post(second!, {}, '')).status).toBe(200);
    const stored = await storedAlerts(temp.dir);
    expect(stored).toHaveLength(20);
    expect(new Set(stored.map((a) => a.fingerprint)).size).toBe(20);
    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(serve.stdout().split('\n')[0]).toBe(`listening on ${serve.url}`);
  });

  it('answers 400 to a malformed body and 413 to an oversized one, logs both, and keeps serving', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0', '--max-body', '4k'], { cwd: temp.dir });
    const bad = await serve.post('{"version": "4", "status": "firing", "alerts": [{}]}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/must have|required/);
    expect((await serve.post('not json')).status).toBe(400);
    const big = makeAlertBurst({ alerts: 40, hosts: 1 })[0]!;
    expect(JSON.stringify(big).length).toBeGreaterThan(4096);
    expect((await serve.post(big)).status).toBe(413);
    expect((await serve.post(makeAlertBurst({ alerts: 2, hosts: 1 })[0]!)).status).toBe(200);
    expect(await storedAlerts(temp.dir)).toHaveLength(2);
    expect(await serve.stop()).toBe(0);
    expect(serve.stderr()).toMatch(/refused 400 from 127\.0\.0\.1:\d+/);
    expect(serve.stderr()).toMatch(
      /refused 413 from 127\.0\.0\.1:\d+: body larger than 4096 bytes \(--max-body\): Alertmanager does not send it again; give --max-body room for its largest group/,
    );
    expect(serve.stderr()).not.toMatch(stackTrace);
  });

  it('with a bearer token from a file: 401 without it or with another, 200 with it; the token is never logged', async () => {
    const token = 'tok-3f9a1c7e2b';
    await writeFile(path.join(temp.dir, 'token'), `${token}\n`, { mode: 0o600 });
    serve = await startServe(['--listen', '127.0.0.1:0', '--token-file', 'token'], {
      cwd: temp.dir,
    });
    const payload = makeAlertBurst({ alerts: 1, hosts: 1 })[0]!;
    const none = await serve.post(payload);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await serve.post(payload, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await serve.post(payload, { authorization: `Bearer ${token}` })).status).toBe(200);
    await serve.stop();
    expect(`${serve.stdout()}${serve.stderr()}`).not.toContain(token);
    expect(serve.stderr()).not.toContain('warning');
    expect(await storedAlerts(temp.dir)).toHaveLength(1);
  });

  it('warns when the token file can be read by other users, as ssh does of a private key', async () => {
    const token = 'tok-77c1e0a94d';
    const file = path.join(temp.dir, 'token-open');
    await writeFile(file, `${token}\n`);
    await chmod(file, 0o644);
    serve = await startServe(['--listen', '127.0.0.1:0', '--token-file', 'token-open'], {
      cwd: temp.dir,
    });
    await serve.stop();
    expect(serve.stderr()).toContain(
      'warning: the bearer token file token-open can be read or changed by other users of this machine (mode 0644): chmod 600 token-open',
    );
    expect(`${serve.stdout()}${serve.stderr()}`).not.toContain(token);
  });

  it('with basic auth (password from the environment), as http_config basic_auth sends it', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0', '--basic-user', 'alertmanager'], {
      cwd: temp.dir,
      env: { OPSBOOK_ALERTS_PASSWORD: 'pw-81d2' },
    });
    const payload = makeAlertBurst({ alerts: 1, hosts: 1 })[0]!;
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect((await serve.post(payload, { authorization: basic('alertmanager', 'no') })).status).toBe(
      401,
    );
    expect(
      (await serve.post(payload, { authorization: basic('alertmanager', 'pw-81d2') })).status,
    ).toBe(200);
    await serve.stop();
  });

  it('refuses to listen beyond loopback without credentials, and a bad --listen, with exit 2', async () => {
    const open = await runCli(['alerts', 'serve', '--listen', '0.0.0.0:0'], { cwd: temp.dir });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/reachable from other machines: require credentials/);
    const bad = await runCli(['alerts', 'serve', '--listen', 'nowhere'], { cwd: temp.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not HOST:PORT/);
    expect(`${open.stderr}${bad.stderr}`).not.toMatch(stackTrace);
  });

  it('refuses a --rules file that is not there (a typo), with exit 2, before listening or storing', async () => {
    const serveTypo = await runCli(
      ['alerts', 'serve', '--listen', '127.0.0.1:0', '--rules', 'alert.yaml'],
      { cwd: temp.dir },
    );
    expect(serveTypo.code).toBe(2);
    expect(serveTypo.stderr).toMatch(/alert\.yaml.*there is no alert\.yaml/s);
    expect(serveTypo.stdout).not.toMatch(/listening on/);
    await writeFile(
      path.join(temp.dir, 'body.json'),
      JSON.stringify(makeAlertBurst({ hosts: 1, alerts: 1 })[0]),
    );
    const ingestTypo = await runCli(['alerts', 'ingest', 'body.json', '--rules', 'alert.yaml'], {
      cwd: temp.dir,
    });
    expect(ingestTypo.code).toBe(2);
    expect(await storedAlerts(temp.dir)).toEqual([]);
    expect(`${serveTypo.stderr}${ingestTypo.stderr}`).not.toMatch(stackTrace);
    // Without --rules, no alerts.yaml at its default place is fine: the alerts are stored.
    const stored = await runCli(['alerts', 'ingest', 'body.json'], { cwd: temp.dir });
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stderr).toMatch(/not converged/);
  });

  it('names the address another process holds and what to do, with exit 2', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    const taken = new URL(serve.url).host;
    const second = await runCli(['alerts', 'serve', '--listen', taken], { cwd: temp.dir });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(
      new RegExp(
        `^error: cannot listen on ${taken}: another process listens there \\(EADDRINUSE\\): stop it, or give another --listen`,
        'm',
      ),
    );
    expect(second.stderr).not.toMatch(stackTrace);
    expect(second.stderr).not.toContain('unexpected error');
    // The first receiver is not disturbed.
    expect((await serve.post(makeAlertBurst({ alerts: 1, hosts: 1 })[0]!)).status).toBe(200);
    expect(await serve.stop()).toBe(0);
  });
});

describe('opsbook alerts serve with alerts.yaml', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  let serve: ServeProcess | undefined;
  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-serve-rules-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\nownership:\n  default: {roundRobin: [eve]}\n',
    );
  });
  afterEach(async () => {
    if (serve && serve.child.exitCode === null) await serve.stop('SIGKILL');
    serve = undefined;
    await temp.remove();
  });

  async function tickets(): Promise<Array<{ key: string; comments: unknown[] }>> {
    const dir = path.join(temp.dir, '.opsbook', 'tracker', 'tickets');
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
      n.endsWith('.json'),
    );
    return Promise.all(
      names.map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8'))),
    );
  }

  async function until<T>(what: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
    for (;;) {
      const v = await what();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('converges a burst into one ticket per cluster, and a restart after SIGKILL doubles nothing', async () => {
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    const burst = makeAlertBurst({ alerts: 200, hosts: 20, clusters: 4 });
    for (const body of burst) expect((await serve.post(body)).status).toBe(200);
    // Settled: all 200 alerts converged, and the tracker lacks nothing of any incident.
    const settled = (alerts: number) =>
      until(
        async () =>
          JSON.parse((await runCli(['alerts', 'list', '--json'], { cwd: temp.dir })).stdout) as {
            incidents: Array<{ alerts: number; ticket: string | null; waiting: boolean }>;
          },
        ({ incidents }) =>
          incidents.reduce((n, i) => n + i.alerts, 0) >= alerts &&
          incidents.every((i) => i.ticket && !i.waiting),
      );
    await settled(200);
    const before = await tickets();
    expect(before.map((t) => t.key).sort()).toEqual(['OPS-1', 'OPS-2', 'OPS-3', 'OPS-4']);
    const comments = (list: typeof before) =>
      Object.fromEntries(list.map((t) => [t.key, t.comments.length]));
    expect(await serve.stop('SIGKILL')).toBe(null);
    // Started again, Alertmanager re-sending the same notifications and one new alert.
    serve = await startServe(['--listen', '127.0.0.1:0'], { cwd: temp.dir });
    for (const body of burst) expect((await serve.post(body)).status).toBe(200);
    const more = makeAlertBurst({ alerts: 200, hosts: 20, clusters: 4 })[0]!;
    (more.alerts[0]!.labels as Record<string, string>).alertname = 'Brand new';
    (more.alerts[0] as { fingerprint: string }).fingerprint = '00000000000000aa';
    expect((await serve.post(more)).status).toBe(200);
    await settled(201);
    const after = await tickets();
    expect(after).toHaveLength(4);
    expect(comments(after)).toEqual({
      ...comments(before),
      'OPS-1': comments(before)['OPS-1']! + 1,
    });
    expect(await serve.stop()).toBe(0);
    expect(serve.stderr()).toMatch(/^1 comment\(s\) posted$/m);
    expect(serve.stderr()).not.toMatch(/tickets:/);
  });
});

describe('opsbook alerts ingest', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  beforeEach(async () => {
    temp = await makeTempDir('opsbook-alerts-ingest-');
    await writeFile(path.join(temp.dir, 'opsbook.yaml'), CONFIG);
  });
  afterEach(() => temp.remove());

  it('stores the alerts of a saved body and of stdin, a second time as duplicates', async () => {
    const [a, b] = makeAlertBurst({ alerts: 6, hosts: 2 });
    await writeFile(path.join(temp.dir, 'a.json'), JSON.stringify(a));
    const first = await runCli(['alerts', 'ingest', 'a.json'], { cwd: temp.dir });
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/^stored 3 alert\(s\) in /);
    const again = await runCli(['alerts', 'ingest', 'a.json', '-', '--json'], {
      cwd: temp.dir,
      input: JSON.stringify(b),
    });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 3, duplicates: 3 });
    expect(await storedAlerts(temp.dir)).toHaveLength(6);
  });

  it('stores nothing when one body is invalid, naming the file and the problem (exit 2)', async () => {
    const [a] = makeAlertBurst({ alerts: 2, hosts: 1 });
    await writeFile(path.join(temp.dir, 'a.json'), JSON.stringify(a));
    await writeFile(path.join(temp.dir, 'b.json'), '{\n  "version": "3",\n  "alerts": []\n}\n');
    const r = await runCli(['alerts', 'ingest', 'a.json', 'b.json'], { cwd: temp.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^b\.json:2:\d+: .*version/m);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(await storedAlerts(temp.dir)).toHaveLength(0);
  });

  it('alerts dispatch exits 4 (DISPATCH_PENDING) while Jira cannot be reached, keeping the incidents for later', async () => {
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      `${CONFIG}tracker: {kind: jira, jira: {baseUrl: "http://127.0.0.1:9", project: OPS, flavour: cloud, timeout: 1s}}\n`,
    );
    await writeFile(
      path.join(temp.dir, 'alerts.yaml'),
      'apiVersion: opsbook/v1\nkind: AlertRules\nversion: 1\n',
    );
    await writeFile(
      path.join(temp.dir, 'a.json'),
      JSON.stringify(makeAlertBurst({ alerts: 2, hosts: 1 })[0]),
    );
    const env = { JIRA_EMAIL: 'ops@example.com', JIRA_API_TOKEN: 'x' };
    const stored = await runCli(['alerts', 'ingest', 'a.json', '--no-dispatch'], {
      cwd: temp.dir,
      env,
    });
    expect(stored.stdout).toMatch(/opened INC-1, INC-2/);
    const r = await runCli(['alerts', 'dispatch'], { cwd: temp.dir, env });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /DISPATCH_PENDING.*INC-1, INC-2 wait in the alert store; run opsbook alerts dispatch again later/,
    );
    expect(r.stderr).not.toMatch(stackTrace);
  });
});
