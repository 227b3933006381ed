import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  formatPublicKeyLine,
  initTrust,
  loadKeyFileSigner,
  type SshSigner,
  serializeEnvelope,
  signEnvelope,
} from '@opsbook/approval';
import { type Config, loadConfig } from '@opsbook/schema';
import { stateStoreOf } from '@opsbook/state';
import {
  FAKE_CREDENTIALS,
  type FakeUser,
  type JiraFake,
  startJiraFake,
} from '@opsbook/testkit/jira';
import type { HttpEffects } from '@opsbook/tracker';
import { afterEach, beforeEach, expect } from 'vitest';
import {
  bindingOf,
  createPlan,
  openTicket,
  openTracker,
  proposeTicket,
  type RunOutcome,
  runApproved,
  TicketGate,
  type TicketServices,
} from '../src/index.js';

const repoRunbooks = path.resolve(import.meta.dirname, '../../../runbooks');
const fixture = path.resolve(import.meta.dirname, '../src/__fixtures__/ticket-workflow/mark-done');

/** People of the workflow: their ids in the tracker under test. */
export interface Cast {
  engineer: string;
  senior: string;
  /** vic, the second senior, when the tracker knows him. */
  verifier?: string;
  lead: string;
}

/**
 * A Jira team where the account opsbook writes with is a bot of its own, so that a ticket's
 * reporter, assignee and comments show whether they name the person or the bot.
 */
export const TEAM: FakeUser[] = [
  ['opsbook-bot', 'opsbook bot', FAKE_CREDENTIALS.email],
  ['eve', 'Eve Engineer', 'eve@example.com'],
  ['sam', 'Sam Senior', 'sam@example.com'],
  ['vic', 'Vic Verifier', 'vic@example.com'],
  ['lee', 'Lee Lead', 'lee@example.com'],
].map(([name, displayName, emailAddress], i) => ({
  accountId: `5b10ac8d82e05b22cc7d4f0${i}`,
  name: name!,
  displayName: displayName!,
  emailAddress: emailAddress!,
}));

export interface TicketWorld {
  dir: string;
  config: Config;
  env: NodeJS.ProcessEnv;
  cast: Cast;
  /** The engineer's own key: it signs eve's run claims (listed as an engineer). */
  eve: SshSigner;
  sam: SshSigner;
  vic: SshSigner;
  /** The tracker as the person `user` sees it (local tracker history records who acted). */
  as(user: string, effects?: HttpEffects): TicketServices;
  /** Sleeps the Jira client was asked for (Retry-After, backoff), in ms. */
  sleeps: number[];
  markerDir: string;
  close(): Promise<void>;
}

async function keyOf(dir: string, name: string): Promise<SshSigner> {
  const file = path.join(dir, `${name}_ed25519`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return loadKeyFileSigner(await readFile(file), { file });
}

/**
 * A repository with opsbook.yaml, two seniors (sam approves, vic verifies) with real ssh-keygen
 * keys, a pinned trust store, collect-diagnostics and the mark-done fixture runbook, and a
 * standing approval for collect-diagnostics on the recurring ticket.
 */
export async function startTicketWorld(fake?: JiraFake): Promise<TicketWorld> {
  const dir = await mkdtemp(path.join(tmpdir(), 'opsbook-tickets-'));
  try {
    const sam = await keyOf(dir, 'sam');
    const vic = await keyOf(dir, 'vic');
    const eve = await keyOf(dir, 'eve');
    await cp(
      path.join(repoRunbooks, 'collect-diagnostics'),
      path.join(dir, 'runbooks/collect-diagnostics'),
      { recursive: true },
    );
    await cp(fixture, path.join(dir, 'runbooks/mark-done'), { recursive: true });
    const markerDir = path.join(dir, 'marker');
    await mkdir(markerDir);
    const cloud = fake?.flavour === 'cloud';
    // By name in TEAM; the fake's default users are an engineer (the caller) and a senior.
    const idOf = (name: string, fallback?: number) => {
      const u = fake?.users.find((x) => x.name === name) ?? fake?.users[fallback ?? -1];
      return fake ? u && (cloud ? u.accountId : u.name) : name;
    };
    const cast: Cast = {
      engineer: idOf('eve', 0)!,
      senior: idOf('sam', 1)!,
      lead: idOf('lee', 1)!,
      ...(idOf('vic') ? { verifier: idOf('vic')! } : {}),
    };
    const lee = await keyOf(dir, 'lee');
    await writeFile(
      path.join(dir, 'approvers.yaml'),
      `apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
  - {id: sam, name: Sam Senior, roles: [senior], keys: ["${formatPublicKeyLine(sam.publicKey)} sam"], jira: "${cast.senior}"}
  - {id: vic, name: Vic Verifier, roles: [senior], keys: ["${formatPublicKeyLine(vic.publicKey)} vic"]${cast.verifier ? `, jira: "${cast.verifier}"` : ''}}
  - {id: eve, name: Eve Engineer, roles: [engineer], keys: ["${formatPublicKeyLine(eve.publicKey)} eve"], jira: "${cast.engineer}"}
  - {id: lee, name: Lee Lead, roles: [expert], keys: ["${formatPublicKeyLine(lee.publicKey)} lee"], jira: "${cast.lead}"}
policy:
  signatures: 1
  maxValidity: 7d
  categories: { routine: { maxValidity: 90d, allowSelectors: true } }
rotation: {signatures: 1}
`,
    );
    const tracker = fake
      ? `tracker: {kind: jira, jira: {baseUrl: "${fake.baseUrl}", project: OPS, flavour: ${fake.flavour}}}`
      : 'tracker: {kind: local}';
    await writeFile(
      path.join(dir, 'opsbook.yaml'),
      `apiVersion: opsbook/v1
kind: Config
runbooks: runbooks
stateDir: state
trustStore: approvers.yaml
${tracker}
standing:
  collect-diagnostics: approvals/collect-diagnostics.approval.json
`,
    );
    const config = await loadConfig({
      file: path.join(dir, 'opsbook.yaml'),
      env: { OPSBOOK_TRUST_DIR: path.join(dir, 'trust-pin') },
    });
    await initTrust(config.trustPinDir, config.trustStore);
    const env: NodeJS.ProcessEnv = { ...(fake?.env ?? {}), HOME: dir, PATH: process.env.PATH };
    const sleeps: number[] = [];
    const as = (user: string, effects: HttpEffects = {}) =>
      openTracker(
        config,
        { ...env, OPSBOOK_USER: user },
        {
          http: {
            timeoutMs: 1500,
            effects: { sleep: async (ms) => void sleeps.push(ms), ...effects },
          },
        },
      );
    const world: TicketWorld = {
      dir,
      config,
      env: { ...env, OPSBOOK_USER: 'eve' },
      cast,
      eve,
      sam,
      vic,
      as,
      sleeps,
      markerDir,
      close: () => rm(dir, { recursive: true, force: true }),
    };
    await writeStandingApproval(world);
    return world;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The recurring ticket of routine work, Approved, and sam's standing approval for it. */
async function writeStandingApproval(world: TicketWorld): Promise<void> {
  const { tracker } = world.as('sam');
  const { key } = await tracker.create({ summary: 'Routine: diagnostics and daily inspection' });
  await tracker.transition(key, tracker.statuses.awaitingApproval);
  await tracker.transition(key, tracker.statuses.approved);
  // As `opsbook plan --standing` makes it: the selector and the plan it renders today.
  const { envelope } = await createPlan({
    config: world.config,
    runbook: 'collect-diagnostics',
    ticket: key,
    params: ['lines=20'],
    standing: true,
    target: 'all',
    expires: '30d',
    maxRuns: 100,
    tracker: bindingOf(tracker),
    proposerSigner: world.eve,
  });
  const signed = await signEnvelope(envelope, world.sam);
  await mkdir(path.join(world.dir, 'approvals'));
  await writeFile(
    path.join(world.dir, 'approvals/collect-diagnostics.approval.json'),
    serializeEnvelope(signed),
  );
}

/**
 * For each test: the tracker of `kind` (a Jira fake with the TEAM, or the local tracker), a world
 * on it, and at the end no request or response out of Atlassian's spec.
 */
export function useTicketWorld(kind: 'local' | 'cloud' | 'datacenter'): {
  fake: JiraFake | undefined;
  world: TicketWorld;
} {
  const current = {} as { fake: JiraFake | undefined; world: TicketWorld };
  beforeEach(async () => {
    current.fake =
      kind === 'local' ? undefined : await startJiraFake({ flavour: kind, users: TEAM });
    current.world = await startTicketWorld(current.fake);
  });
  afterEach(async () => {
    await current.world.close();
    await current.fake?.closeExpectingNone();
  });
  return current;
}

/** eve proposes the mark-done fix on `key`, for sam to review; `more`: a run limit, window, clock. */
export function proposeMarkDone(
  world: TicketWorld,
  services: TicketServices,
  key: string,
  more: Pick<Parameters<typeof proposeTicket>[0], 'maxRuns' | 'expires' | 'now'> = {},
) {
  return proposeTicket({
    services,
    config: world.config,
    key,
    runbook: 'mark-done',
    params: [`dir=${world.markerDir}`],
    proposerSigner: world.eve,
    senior: 'sam',
    ...more,
  });
}

/** A ticket eve opens through `services`, with no evidence run: what a test then works on. */
export function openAs(world: TicketWorld, services: TicketServices, summary: string) {
  return openTicket({
    services,
    config: world.config,
    env: world.env,
    executorSigner: world.eve,
    signal: new AbortController().signal,
    summary,
  });
}

/**
 * A run of the ticket's approval whose runner dies after the run's end (journal and ledger),
 * before telling the ticket: the ticket stays In Progress with the run's claim on it.
 */
export async function runKilledBeforeReport(
  world: TicketWorld,
  services: TicketServices,
  key: string,
): Promise<{ outcome: RunOutcome; file: string }> {
  const { config } = world;
  const signal = new AbortController().signal;
  const approval = await services.tracker.getProperty(key, 'opsbook.approval');
  const file = path.join(world.dir, `${key}.approval.json`);
  await writeFile(file, (approval as { envelope: string }).envelope);
  class DiesBeforeReport extends TicketGate {
    override async finish() {
      return { ticket: key, delivered: 0, pending: [], failed: [] };
    }
  }
  const outcome = await runApproved({
    config,
    approvalFile: file,
    env: world.env,
    executorSigner: world.eve,
    signal,
    ticket: new DiesBeforeReport({ services, store: stateStoreOf(config), signal }),
  });
  expect(outcome.status).toBe('ok');
  expect((await services.tracker.get(key)).status).toBe('In Progress');
  return { outcome, file };
}
