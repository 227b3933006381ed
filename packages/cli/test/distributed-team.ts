import { mkdir } from 'node:fs/promises';
import { type Postgres, startPostgres } from '@opsbook/testkit/postgres';
import {
  createWorld,
  expectOk,
  type RunbookFixture,
  type RunningCli,
  type Site,
  type World,
  waitFor,
} from './opsbook-world.js';
import type { CliResult } from './run-cli.js';

/** The zones of the team's workers. */
export type Zone = 'dc1' | 'dc2';

/**
 * A team's distributed runs for end-to-end tests: a real PostgreSQL (state store and the job
 * queue), `opsbook worker` processes each in its own site (another machine: its own working copy
 * and trust pin), and the submitting `opsbook run --distribute`. Every process it starts is
 * killed by stopAll, so a test that fails midway leaves no worker running into the next one.
 */
export class DistributedTeam {
  /** Every command of a test reaches its database through OPSBOOK_DATABASE_URL. */
  dbEnv: NodeJS.ProcessEnv = {};
  private readonly processes: RunningCli[] = [];
  private databases = 0;

  private constructor(
    readonly pg: Postgres,
    readonly world: World,
    /** The site of each zone's worker: dc1 runs h1 and h2, dc2 runs h3 and h4. */
    readonly sites: Record<Zone, Site>,
  ) {}

  /** A PostgreSQL server and a world of four sshd hosts in two zones, holding `runbooks`. */
  static async start(runbooks: Record<string, RunbookFixture>): Promise<DistributedTeam> {
    const pg = await startPostgres();
    try {
      const world = await createWorld({ hostCount: 4, runbooks });
      await mkdir(world.stateDir, { recursive: true });
      const sites = await zoneSites(world, { dc1: ['h1', 'h2'], dc2: ['h3', 'h4'] });
      return new DistributedTeam(pg, world, sites);
    } catch (e) {
      await pg.dispose();
      throw e;
    }
  }

  /** Stops every process, the hosts and the server, and removes their files. */
  async remove(): Promise<void> {
    await this.stopAll();
    await this.world.remove();
    await this.pg.dispose();
  }

  /** A new migrated database, which dbEnv names from now on; returns its name. */
  async freshDatabase(): Promise<string> {
    const name = `distribute_${++this.databases}`;
    await this.pg.psql(`create database ${name}`);
    const { pg } = this;
    this.dbEnv = {
      OPSBOOK_DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${name}`,
    };
    await expectOk(
      this.world.opsbook(['db', 'migrate'], { env: this.dbEnv }),
      'opsbook db migrate',
    );
    return name;
  }

  /**
   * `opsbook worker --zone ZONE` (or `args`) in the zone's site (or `site`: another machine of
   * that zone), once it says it is ready.
   */
  async startWorker(
    zone: Zone,
    options: { env?: NodeJS.ProcessEnv; site?: Site; args?: string[] } = {},
  ): Promise<RunningCli> {
    const site = options.site ?? this.sites[zone];
    const worker = site.spawnOpsbook(['worker', ...(options.args ?? ['--zone', zone])], {
      env: { ...this.dbEnv, ...options.env },
    });
    this.processes.push(worker);
    await waitFor(() => {
      if (worker.child.exitCode !== null)
        throw new Error(`the ${zone} worker exited ${worker.child.exitCode}:\n${worker.stderr()}`);
      return worker.stderr().includes('worker ready');
    }, `the ${zone} worker`);
    return worker;
  }

  /** `opsbook ARGS` from the world's own site (the submitter), with the database. */
  submit(args: string[]): RunningCli {
    const run = this.world.spawnOpsbook(args, { env: this.dbEnv });
    this.processes.push(run);
    return run;
  }

  /**
   * The submitting command's result; if it has not ended after 90 s, fails with what every
   * process said (a hang should explain itself).
   */
  async finished(run: RunningCli): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const said = this.processes.map((w, i) => `--- process ${i}:\n${w.stderr()}`).join('\n');
        reject(new Error(`opsbook run --distribute did not end in 90 s:\n${said}`));
      }, 90_000);
    });
    try {
      return await Promise.race([run.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills what is still running of the processes started, and waits for each to end. */
  async stopAll(): Promise<void> {
    for (const p of this.processes.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.done;
    }
  }
}

/**
 * Writes the world's inventory with each host in its zone (`opsbook_zone`), then makes one site
 * per zone for its worker, `worker-ZONE`: another machine with its own working copy, trust pin
 * and state dir, copied from the world with that inventory.
 */
export async function zoneSites<Z extends string>(
  world: World,
  zones: Record<Z, readonly string[]>,
): Promise<Record<Z, Site>> {
  const vars: Record<string, Record<string, string>> = {};
  for (const [zone, hosts] of Object.entries<readonly string[]>(zones))
    for (const h of hosts) vars[h] = { opsbook_zone: zone };
  await world.writeInventory({ vars });
  const sites = {} as Record<Z, Site>;
  for (const zone of Object.keys(zones) as Z[])
    sites[zone] = await world.createSite(`worker-${zone}`);
  return sites;
}
