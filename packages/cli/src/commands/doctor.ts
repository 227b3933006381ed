import { access, constants, stat } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import { ALERT_RULES_FILE, type AlertRules } from '@opsbook/alerts';
import {
  checkKnownHostsOwner,
  knownKeyTypes,
  loadSshConfig,
  readKnownHosts,
  resolveSshConfig,
  type SshConfigSource,
} from '@opsbook/exec';
import { connectionOf, type InventoryHost } from '@opsbook/inventory';
import {
  clockSkewWarning,
  FIRST_SENIOR,
  loadRunInventory,
  measureClockSkew,
  openTracker,
  readApprovalFile,
  scheduleRunbookProblems,
  schedulesOf,
  trustShow,
} from '@opsbook/runner';
import { type Config, formatProblem, storageErrorOf } from '@opsbook/schema';
import { auditTrailExposure, stateStoreOf } from '@opsbook/state';
import type { Assignee, SetupCheck } from '@opsbook/tracker';
import { type CommandContext, defineCommand } from '../command.js';
import { configFor } from '../context.js';
import { exitCodes } from '../exit-code.js';
import { stateDirNotFolder } from '../state-dir-mistake.js';
import { showControlsIn } from '../terminal-safe.js';
import { rulesFor } from './alert-rules-file.js';

/** One line of the doctor's answer: ok, a warning (works, but look), or a failure (fix it). */
interface Finding {
  area: string;
  level: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export default defineCommand({
  details: `Checks this machine's setup before work needs it, reading only: opsbook.yaml, the pinned trust
store against approvers.yaml, the state store (the files under stateDir or the team's PostgreSQL
database, and its clock against this machine's: 30 s apart or more is warned of, since schedules
lose slots past 2 minutes), tracker writes waiting in the outbox, the tracker (with Jira: the account the
credentials sign in as, the project, its issue type, every status opsbook moves tickets to, and
whether each approver's jira: account in approvers.yaml, and each owner alerts.yaml names, can
be assigned its tickets), alerts.yaml when there is one, the standing approvals and schedules
of opsbook.yaml (an approval expired or near its end, a schedule whose runbook has none), and the
inventory. Each failure says what to change.

Exit 0 when nothing failed (warnings included), 1 when something did, 2 when opsbook.yaml
itself cannot be read.

Examples:
  opsbook doctor
  opsbook doctor --json`,
  async run(ctx) {
    const config = await configFor(ctx);
    const findings: Finding[] = [
      {
        area: 'config',
        level: 'ok',
        detail: config.file ?? `no opsbook.yaml above ${process.cwd()}: the defaults`,
      },
    ];
    // The trust store is read once: its area checks it, the tracker's takes its Jira accounts.
    const trust = trustShow(config);
    trust.catch(() => undefined); // its area reports a failure
    // So are the alert rules: their area checks them, the tracker's takes their owners.
    const rules = rulesFor(ctx, config, true);
    rules.catch(() => undefined);
    const read: Read = { trust, rules };
    const areas: Array<[string, (c: Config, r: Read) => Promise<Finding[]>]> = [
      ['trust', (c, r) => trustFindings(c, r.trust)],
      ['state', stateFindings],
      ['outbox', outboxFindings],
      ['tracker', trackerFindings],
      ['alerts', alertRulesFindings],
      ['standing', routineFindings],
      ['inventory', inventoryFindings],
    ];
    for (const [area, check] of areas) {
      // One area's trouble (a database down) must not hide what the others say.
      findings.push(
        ...(await check(config, read).catch((e: unknown) => [
          // A full, read-only or misplaced path in words, not Node's errno text.
          { area, level: 'fail' as const, detail: message(storageErrorOf(e) ?? e) },
        ])),
      );
    }
    return report(ctx, findings);
  },
});

function report(ctx: CommandContext, findings: Finding[]): number {
  const failed = findings.filter((f) => f.level === 'fail').length;
  const warned = findings.filter((f) => f.level === 'warn').length;
  if (ctx.out.json) {
    ctx.out.printJson({ ok: failed === 0, findings });
  } else {
    const { style } = ctx.out;
    const mark = { ok: style.green('✓'), warn: style.yellow('!'), fail: style.red('✗') };
    const width = Math.max(...findings.map((f) => f.area.length));
    const lines = showControlsIn(findings).flatMap((f) => [
      `${mark[f.level]} ${f.area.padEnd(width)}  ${f.detail}`,
      ...(f.fix ? [`  ${' '.repeat(width)}  ${style.dim(`→ ${f.fix}`)}`] : []),
    ]);
    lines.push(
      '',
      failed
        ? style.red(`${failed} problem(s) to fix${warned ? `, ${warned} warning(s)` : ''}`)
        : `${style.green('ready')}${warned ? ` (${warned} warning(s))` : ''}`,
    );
    ctx.out.print(lines.join('\n'));
  }
  return failed ? exitCodes.failed : exitCodes.ok;
}

type Trust = ReturnType<typeof trustShow>;

/**
 * What more than one area reads: the trust store, and alerts.yaml checked as serve loads it
 * (undefined: there is none).
 */
interface Read {
  trust: Trust;
  rules: Promise<AlertRules | undefined>;
}

async function alertRulesFindings(_config: Config, read: Read): Promise<Finding[]> {
  let rules: AlertRules | undefined;
  try {
    rules = await read.rules;
  } catch (e) {
    return [
      {
        area: 'alerts',
        level: 'fail',
        detail: `${ALERT_RULES_FILE} does not load, so alerts serve, ingest and dispatch would refuse it: ${message(e).split('\n')[0]}`,
        fix: 'opsbook validate names every problem at its line',
      },
    ];
  }
  if (!rules) return [];
  return [
    {
      area: 'alerts',
      level: 'ok',
      detail: `${ALERT_RULES_FILE} version ${rules.version}: ${rules.correlate.length} correlation rule(s), ${rules.ownership.length} ownership rule(s)`,
    },
  ];
}

/** Days before a standing approval's end from which the doctor warns: time to have it renewed. */
const RENEW_WITHIN_DAYS = 14;

/**
 * opsbook.yaml's standing approvals (what routine runs and schedules run under) and schedules:
 * an approval that cannot be read, is not standing, approves another runbook, has expired or
 * expires soon; a schedule whose runbook is unknown, not routine, or has no standing approval.
 * Signatures are not checked here: every run checks them against the trust pin.
 */
async function routineFindings(config: Config): Promise<Finding[]> {
  const findings: Finding[] = [];
  const standing = config.raw.standing ?? {};
  const now = Date.now();
  for (const [runbook, file] of Object.entries(standing)) {
    const area = `standing ${runbook}`;
    const absolute = path.resolve(config.root, file);
    let read: Awaited<ReturnType<typeof readApprovalFile>>;
    try {
      read = await readApprovalFile(absolute);
    } catch (e) {
      findings.push({
        area,
        level: 'fail',
        detail: `${file}: ${message(e).split('\n')[0]}`,
        fix: `save it again (opsbook ticket approval KEY -o ${file}), or fix standing.${runbook} in opsbook.yaml`,
      });
      continue;
    }
    const { statement } = read;
    if (read.envelope.signatures.length === 0) {
      findings.push({
        area,
        level: 'fail',
        detail: `${file} is a plan no senior has signed: routine runs of ${runbook} are refused`,
        fix: `have a senior approve it (opsbook approve ${file}, or ticket approve on ${statement.ticket})`,
      });
      continue;
    }
    if (!('selector' in statement.targets) || statement.runbook.name !== runbook) {
      findings.push({
        area,
        level: 'fail',
        detail: `${file} approves ${statement.runbook.name} ${'selector' in statement.targets ? `for "${statement.targets.selector}"` : 'on a list of hosts, not a standing selector'}: routine runs of ${runbook} are refused`,
        fix: `save the standing approval of ${runbook} there, or fix standing.${runbook} in opsbook.yaml`,
      });
      continue;
    }
    const ends = Date.parse(statement.expiresAt);
    const days = Math.floor((ends - now) / 86_400_000);
    const what = `${statement.ticket}, "${statement.targets.selector}", at most ${statement.maxRuns} run(s), until ${statement.expiresAt}`;
    const renew = `have a senior approve a new one on ${statement.ticket} (docs/routine-work.md), then save it to ${file}`;
    if (ends <= now) findings.push({ area, level: 'fail', detail: `expired: ${what}`, fix: renew });
    else if (days < RENEW_WITHIN_DAYS)
      findings.push({ area, level: 'warn', detail: `ends in ${days} day(s): ${what}`, fix: renew });
    else findings.push({ area, level: 'ok', detail: what });
  }
  for (const p of await scheduleRunbookProblems(config))
    findings.push({
      area: 'schedules',
      level: 'warn',
      detail: `${p.file}:${p.line}:${p.col}: ${p.message}`,
    });
  const schedules = schedulesOf(config);
  if (schedules.length && config.state.kind !== 'postgres')
    findings.push({
      area: 'schedules',
      level: 'fail',
      detail: `opsbook.yaml has ${schedules.length} schedule(s), and schedules need the PostgreSQL state store (the team's schedulers take each slot once there): with the files store none of them runs (opsbook schedule run refuses)`,
      fix: 'set state: {kind: postgres, url: postgres://…} in opsbook.yaml (or OPSBOOK_DATABASE_URL) and run opsbook db migrate (docs/schedules.md), or remove schedules:',
    });
  for (const s of schedules)
    if (!standing[s.runbook])
      findings.push({
        area: `schedule ${s.name}`,
        level: 'fail',
        detail: `runs ${s.runbook}, which has no standing approval in opsbook.yaml: every slot is refused (STANDING_APPROVAL_MISSING)`,
        fix: `get one and add it under standing: (docs/routine-work.md)`,
      });
  return findings;
}

/** Every name alerts.yaml hands tickets to: round-robin lists and the people of on-call files. */
function alertOwners(rules: AlertRules | undefined): string[] {
  const names = new Set<string>();
  for (const rule of rules?.ownership ?? []) {
    const owners = rule.owners;
    if ('roundRobin' in owners) for (const n of owners.roundRobin) names.add(n);
    else for (const shift of owners.onCall) names.add(shift.person);
  }
  return [...names];
}

async function trustFindings(config: Config, trust: Trust): Promise<Finding[]> {
  const r = await trust;
  if (r.error !== undefined && !r.file && !r.pinned)
    return [
      {
        area: 'trust',
        level: 'fail',
        detail: `no ${config.trustStore}, and none pinned in ${config.trustPinDir}: nothing can be approved or run`,
        fix: `create ${config.trustStore} with its first senior: ${FIRST_SENIOR} (README, section Approvals); then sudo opsbook trust init`,
      },
    ];
  if (!r.pinned)
    return [
      {
        area: 'trust',
        level: 'fail',
        detail: `${config.trustStore} is not pinned in ${config.trustPinDir}: nothing can be approved or run`,
        fix: 'sudo opsbook trust init (check the digest it prints with your seniors)',
      },
    ];
  if (r.error !== undefined)
    return [
      {
        area: 'trust',
        level: 'fail',
        detail: `pinned version ${r.pinned.version}; not accepted: ${message(r.error)}`,
        fix: 'opsbook trust show says what differs',
      },
    ];
  const seniors = r.pinned.data.approvers.filter((a) => a.roles.includes('senior')).length;
  return [
    {
      area: 'trust',
      level: 'ok',
      detail: `${config.trustStore} version ${r.pinned.version} pinned in ${config.trustPinDir} (${seniors} senior(s))`,
    },
  ];
}

async function stateFindings(config: Config): Promise<Finding[]> {
  const store = stateStoreOf(config);
  try {
    if (store.kind === 'files') {
      const refusal = await access(config.stateDir, constants.W_OK).then(
        () => undefined,
        // Made at the first run when missing.
        (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : e.code),
      );
      const notFolder = stateDirNotFolder(config);
      if (notFolder)
        return [
          {
            area: 'state',
            level: 'fail',
            detail: `${formatProblem({ ...notFolder.at, rule: 'state-dir-not-folder', message: notFolder.says })}: no run could journal`,
            fix: notFolder.fix,
          },
        ];
      if (refusal === 'EROFS')
        return [
          {
            area: 'state',
            level: 'fail',
            detail: `${config.stateDir} is on a read-only filesystem: no run could journal`,
            fix: 'remount it read-write, or set stateDir in opsbook.yaml to another place',
          },
        ];
      if (refusal !== undefined)
        return [
          {
            area: 'state',
            level: 'fail',
            detail: `${config.stateDir} is not writable by this user: no run could journal`,
            fix: 'run as the user that owns it, or set stateDir in opsbook.yaml',
          },
        ];
    }
    const runs = await store.listRuns();
    const count = (status: string) => runs.filter((r) => r.status === status).length;
    const elsewhere = runs.filter((r) => r.runnerHost !== undefined).length;
    const notes = [
      count('running') && `${count('running')} running`,
      count('incomplete') - elsewhere && `${count('incomplete') - elsewhere} incomplete`,
      elsewhere &&
        `${elsewhere} without an end whose runner is on another machine (opsbook runs list names it)`,
    ].filter(Boolean);
    const tampered = count('tampered') + count('unreadable') + count('missing');
    const fix = tampered
      ? 'opsbook runs list and opsbook journal verify name them'
      : incompleteFix(runs.filter((r) => r.status === 'incomplete' && r.runnerHost === undefined));
    // The team's job queue runs slots by the database's clock, schedulers judge them by theirs.
    const skew = store.schedules
      ? clockSkewWarning(await measureClockSkew(store.schedules))
      : undefined;
    const exposure =
      config.state.kind === 'postgres' ? await auditTrailExposure(config.state.url) : undefined;
    return [
      {
        area: 'state',
        level: tampered ? 'warn' : 'ok',
        detail: `${store.kind} store ${store.location}: ${runs.length} run(s)${notes.length ? ` (${notes.join(', ')})` : ''}${tampered ? `, ${tampered} whose journal does not check out` : ''}`,
        ...(fix ? { fix } : {}),
      },
      ...(skew ? [{ area: 'state', level: 'warn' as const, detail: skew }] : []),
      ...(exposure
        ? [
            {
              area: 'state',
              level: 'warn' as const,
              detail: exposure,
              fix: "connect as the runners' own role: the administrator runs opsbook db grant-runner <role> and keeps the owner's credentials off runners (docs/team-database.md)",
            },
          ]
        : []),
    ];
  } finally {
    await store.close();
  }
}

/**
 * What to do about runs whose runner stopped before their end (killed, crashed, its disk or
 * database gone): where each stopped, and how its ticket, left In Progress, is dealt with. The
 * newest first: the one a doctor is most likely run for.
 */
function incompleteFix(runs: readonly { runId: string; ticket?: string }[]): string | undefined {
  const [newest] = runs;
  if (!newest) return undefined;
  const more =
    runs.length > 1 ? ` (and ${runs.length - 1} more: opsbook runs list --status incomplete)` : '';
  const ticket = newest.ticket
    ? `; its ticket: opsbook ticket report ${newest.ticket}, which names the way out (a senior's opsbook ticket reject ${newest.ticket})`
    : '';
  return `run ${newest.runId}${more} stopped before its end: opsbook runs show ${newest.runId} says where${ticket}`;
}

async function outboxFindings(config: Config): Promise<Finding[]> {
  const entries = await openTracker(config, process.env).outbox.list();
  const failed = entries.filter((e) => e.state === 'failed').length;
  const pending = entries.length - failed;
  if (failed)
    return [
      {
        area: 'outbox',
        level: 'fail',
        detail: `${failed} tracker write(s) refused${pending ? `, ${pending} waiting` : ''}: tickets lack them`,
        fix: 'opsbook outbox list shows why; fix that, then opsbook outbox flush --retry-failed',
      },
    ];
  if (pending)
    return [
      {
        area: 'outbox',
        level: 'warn',
        detail: `${pending} tracker write(s) waiting to be delivered`,
        fix: 'opsbook outbox flush',
      },
    ];
  return [{ area: 'outbox', level: 'ok', detail: 'empty: every write reached the tracker' }];
}

async function trackerFindings(config: Config, read: Read): Promise<Finding[]> {
  const { tracker } = openTracker(config, process.env);
  if (tracker.kind !== 'jira')
    return [
      {
        area: 'tracker',
        level: 'ok',
        detail: `the embedded local tracker (tickets in ${path.join(config.stateDir, 'tracker')})`,
      },
    ];
  // Whom tickets are handed to: approvers.yaml's people with a Jira account (the pinned store's).
  const shown = await read.trust.catch(() => undefined);
  const people = (shown?.accepted ?? shown?.file)?.data.approvers ?? [];
  const assignees: Assignee[] = people.flatMap((a) =>
    a.jira ? [{ id: a.id, account: a.jira }] : [],
  );
  // And the owners alerts.yaml names (Jira accounts there), each once.
  const known = new Set(assignees.map((a) => a.account));
  for (const name of alertOwners(await read.rules.catch(() => undefined)))
    if (!known.has(name)) assignees.push({ id: name, account: name, from: 'alerts.yaml' });
  const checks: SetupCheck[] = await (
    tracker as unknown as { checkSetup(a: readonly Assignee[]): Promise<SetupCheck[]> }
  ).checkSetup(assignees);
  return checks.map((c) => ({
    area: `jira ${c.name}`,
    level: c.ok ? 'ok' : c.unknown ? 'warn' : 'fail',
    detail: c.detail,
    ...(c.fix ? { fix: c.fix } : {}),
  }));
}

async function inventoryFindings(config: Config): Promise<Finding[]> {
  const inventory = await loadRunInventory(config);
  const where = config.inventory ?? 'the embedded inventory (this machine only)';
  const overSsh = inventory.hosts.filter((h) => h.vars.ansible_connection !== 'local');
  const findings: Finding[] = [
    {
      area: 'inventory',
      level: 'ok',
      detail: `${where}: ${inventory.hosts.length} host(s) in ${inventory.groups.length - 2} group(s)`,
    },
  ];
  if (overSsh.length) {
    // What a run would refuse every SSH host for (KNOWN_HOSTS_UNSAFE), said before it does.
    const unsafe = await checkKnownHostsOwner(config.knownHosts).then(
      () => undefined,
      (e: Error) => e.message,
    );
    if (unsafe)
      findings.push({
        area: 'known hosts',
        level: 'fail',
        detail: `${overSsh.length} host(s) over SSH would all be refused: ${unsafe}`,
      });
  }
  if (overSsh.length && !(await stat(config.knownHosts).catch(() => undefined)))
    findings.push({
      area: 'known hosts',
      level: 'warn',
      detail: `${overSsh.length} host(s) over SSH, and no ${config.knownHosts}: every host key will be refused as unknown`,
      fix: 'add the hosts\u2019 keys (ssh-keyscan, checked against the hosts) to that file',
    });
  else if (overSsh.length && !findings.some((f) => f.area === 'known hosts'))
    findings.push(await hostKeysFinding(config.knownHosts, overSsh));
  return findings;
}

/** ssh's port where neither the inventory nor ~/.ssh/config gives one. */
const SSH_DEFAULT_PORT = 22;

/** OpenSSH's GlobalKnownHostsFile, which a run reads too (root's: the fleet's pinned keys). */
const GLOBAL_KNOWN_HOSTS = '/etc/ssh/ssh_known_hosts';

/**
 * The SSH hosts neither known_hosts file has a key for: a newcomer's first run refuses each of
 * them (HOST_KEY_UNKNOWN), so say it here, with the command per host. A warning, not a failure:
 * a team may take new hosts with --accept-new-host-keys. Where the inventory sets no port, the
 * port is the one a run takes: `~/.ssh/config`'s for that address, else 22.
 */
async function hostKeysFinding(file: string, hosts: InventoryHost[]): Promise<Finding> {
  const home = process.env.HOME;
  const sshConfig: SshConfigSource | undefined = home
    ? await loadSshConfig(`${home}/.ssh/config`, { homeDir: home }).catch(() => undefined)
    : undefined;
  const sshEnv = { homeDir: home ?? homedir(), localUser: userInfo().username };
  /** The port a run connects to: the inventory's, else ssh's config's, else 22 (run's order). */
  const portOf = (address: string, port: number | undefined): number => {
    if (port !== undefined) return port;
    try {
      return resolveSshConfig(sshConfig, address, sshEnv).port;
    } catch {
      return SSH_DEFAULT_PORT; // a config ssh cannot read: the run says so
    }
  };
  const user = await readKnownHosts(file).catch((e: Error) => e);
  if (user instanceof Error) return { area: 'known hosts', level: 'fail', detail: user.message };
  const files = [user];
  const global = await readKnownHosts(GLOBAL_KNOWN_HOSTS).catch(() => undefined);
  if (global) files.push(global);
  const missing = hosts
    .flatMap((h) => {
      try {
        const c = connectionOf(h);
        return [{ name: h.name, address: c.address, port: portOf(c.address, c.port) }];
      } catch {
        return []; // a bad connection variable: the run names it at its line
      }
    })
    .filter((h) => files.every((f) => knownKeyTypes(f, h.address, h.port).length === 0));
  if (missing.length === 0)
    return {
      area: 'known hosts',
      level: 'ok',
      detail: `a key for each of the ${hosts.length} host(s) over SSH (${file})`,
    };
  const named = missing
    .slice(0, 5)
    .map((h) => `${h.name} (${h.address} port ${h.port})`)
    .join(', ');
  const first = missing[0]!;
  return {
    area: 'known hosts',
    level: 'warn',
    detail: `${missing.length} of ${hosts.length} host(s) over SSH have no key in ${file} (nor ${GLOBAL_KNOWN_HOSTS}), so a run refuses them (HOST_KEY_UNKNOWN): ${named}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
    fix: `check each fingerprint out of band (ssh-keyscan -p ${first.port} ${first.address} 2>/dev/null | ssh-keygen -lf -), then add it: ssh-keyscan -p ${first.port} ${first.address} >> ${file}; or run once with --accept-new-host-keys`,
  };
}
