import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Finding, findingSchema } from '@opsbook/inspection';
import { type FleetStatistics, validateFleetStatistics } from '@opsbook/inventory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveAs, readEnvelope, statementOf } from './approval-craft.js';
import { createTicket, createWorld, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { journalFiles } from './run-outcome.js';
import { markerRunbook, shippedRunbook } from './runbook-fixtures.js';

/*
 * Issue 6, "Done means": `opsbook inspect` and `opsbook inventory` against two real OpenSSH sshd
 * hosts, through the real binary, under a standing approval made with `opsbook plan --standing`
 * and signed with `opsbook approve`; and the refusals (exit 3, nothing ran) without one, with one
 * for another runbook, or for another selector.
 */

let world: World;
let baseConfig = '';
let ticket = '';
const INSPECTION = 'approvals/daily-inspection.approval.json';
const INVENTORY = 'approvals/resource-inventory.approval.json';
const severity: Record<string, number> = { crit: 3, warn: 2, unknown: 1, ok: 0 };

/** opsbook.yaml with the given `standing:` entries (none: the key is left out). */
async function configureStanding(entries: Record<string, string>): Promise<void> {
  const lines = Object.entries(entries).map(([k, v]) => `  ${k}: ${v}`);
  const standing = lines.length ? `standing:\n${lines.join('\n')}\n` : '';
  await writeFile(path.join(world.dir, 'opsbook.yaml'), `${baseConfig}${standing}`);
}

/** `opsbook plan RUNBOOK --standing …`, as the setup hint spells it. */
function planStanding(runbook: string, output: string, extra: string[] = []) {
  return world.opsbook([
    'plan',
    runbook,
    '--standing',
    '--target',
    'all',
    '--expires',
    '90d',
    '--max-runs',
    '1000',
    '--ticket',
    ticket,
    '-o',
    output,
    ...extra,
  ]);
}

const logins = () => world.hosts.map((h) => h.countLogins());

/** Runs `args` and asserts a refusal: exit 3, the code named, no SSH login, no new journal. */
async function expectRefusedBeforeAnyHost(args: string[], code: string): Promise<string> {
  const before = logins();
  const journals = (await journalFiles(world)).length;
  const r = await world.opsbook(args);
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code, r.stderr).toBe(3);
  expect(r.stderr).toContain(code);
  expect(logins()).toEqual(before);
  expect((await journalFiles(world)).length).toBe(journals);
  return r.stderr;
}

beforeAll(async () => {
  world = await createWorld({
    hostCount: 2,
    runbooks: {
      'daily-inspection': await shippedRunbook('daily-inspection'),
      'resource-inventory': await shippedRunbook('resource-inventory'),
      marker: markerRunbook(),
    },
  });
  // Two groups, so that the statistics have something to add up per group.
  const [h1, h2] = world.hosts;
  const host = (h: typeof h1) =>
    `ansible_host: ${h?.host}, ansible_port: ${h?.port}, ansible_user: root, ansible_ssh_private_key_file: ${JSON.stringify(h?.clientKeyPath)}`;
  await writeFile(
    world.inventoryFile,
    `all:\n  children:\n    web:\n      hosts:\n        h1: {${host(h1)}}\n    db:\n      hosts:\n        h2: {${host(h2)}}\n`,
  );
  baseConfig = await readFile(path.join(world.dir, 'opsbook.yaml'), 'utf8');
  ticket = await createTicket(world);
  await mkdir(path.join(world.dir, 'approvals'));
});
afterAll(async () => {
  await world?.remove();
});

describe('opsbook plan --standing', () => {
  it('writes an unsigned selector approval for a routine runbook, binding its rendered plan', async () => {
    const r = await planStanding('daily-inspection', INSPECTION);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${INSPECTION} (unsigned)`);
    expect(r.stdout).toContain(`opsbook approve ${INSPECTION}`);
    const statement = statementOf(await readEnvelope(path.join(world.dir, INSPECTION)));
    expect(statement.targets).toEqual({ selector: 'all' });
    expect(statement.ticket).toBe(ticket);
    expect(statement.maxRuns).toBe(1000);
    expect(statement.category).toBe('routine');
    expect(statement.runbook).toMatchObject({ name: 'daily-inspection' });
    expect((statement.plan as { digest?: string } | undefined)?.digest).toMatch(
      /^sha256:[0-9a-f]{64}$/,
    );
    const days = (Date.parse(statement.expiresAt) - Date.parse(statement.notBefore)) / 86_400_000;
    expect(Math.round(days)).toBe(90);
  });

  it('prints the statement as JSON with --json', async () => {
    const r = await planStanding('resource-inventory', INVENTORY, ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { file: string; statement: { targets: unknown } };
    expect(doc.file).toBe(path.join(world.dir, INVENTORY));
    expect(doc.statement.targets).toEqual({ selector: 'all' });
  });

  it('refuses a standing approval for a runbook that is not routine (exit 3)', async () => {
    const r = await world.opsbook([
      ...['plan', 'marker', '--standing', '--param', `dir=${world.markerDir}`],
      ...['--ticket', ticket, '-o', 'approvals/marker.approval.json'],
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('SELECTOR_NOT_ROUTINE');
    expect(r.stderr).toContain('only routine runbooks get a standing approval');
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it.each([
    ['no ticket', ['plan', 'daily-inspection', '--standing'], /--ticket KEY/],
    [
      'a bad ticket key',
      ['plan', 'daily-inspection', '--standing', '--ticket', 'ops 1'],
      /not a ticket key/,
    ],
    [
      'a bad --max-runs',
      ['plan', 'daily-inspection', '--standing', '--ticket', 'OPS-1', '--max-runs', '0'],
      /--max-runs/,
    ],
    [
      'an unknown runbook',
      ['plan', 'daily-inspectoin', '--standing', '--ticket', 'OPS-1'],
      /daily-inspectoin/,
    ],
    [
      'an existing output file',
      ['plan', 'daily-inspection', '--standing', '--ticket', 'OPS-1', '-o', INSPECTION],
      /already exists/,
    ],
    [
      'an output path under a file',
      ['plan', 'daily-inspection', '--standing', '--ticket', 'OPS-1', '-o', 'opsbook.yaml/x.json'],
      /cannot write opsbook\.yaml\/x\.json \((EEXIST|ENOTDIR)\)/,
    ],
  ])('is a usage error (exit 2) with %s', async (_what, args, message) => {
    const r = await world.opsbook(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('creates the folder of -o when it does not exist yet', async () => {
    const file = 'new-folder/nested/standing.approval.json';
    const r = await planStanding('daily-inspection', file);
    expect(r.code, r.stderr).toBe(0);
    expect((await readEnvelope(path.join(world.dir, file))).signatures).toEqual([]);
  });

  it('is signed by a senior with opsbook approve', async () => {
    await approveAs(world, INSPECTION, world.people.alice);
    await approveAs(world, INVENTORY, world.people.alice);
    const envelope = await readEnvelope(path.join(world.dir, INSPECTION));
    expect(envelope.signatures.map((s) => s.keyid)).toEqual([world.people.alice.fingerprint]);
  });
});

describe('refusals: nothing touches a host', () => {
  it('without a standing approval in opsbook.yaml, inspect and inventory refuse and say how to get one', async () => {
    await configureStanding({});
    const stderr = await expectRefusedBeforeAnyHost(['inspect'], 'STANDING_APPROVAL_MISSING');
    expect(stderr).toContain('opsbook ticket propose KEY --runbook daily-inspection --standing');
    expect(stderr).toContain(
      'opsbook ticket approval KEY -o approvals/daily-inspection.approval.json',
    );
    await expectRefusedBeforeAnyHost(['inventory'], 'STANDING_APPROVAL_MISSING');
    await expectRefusedBeforeAnyHost(['inventory', '--json'], 'STANDING_APPROVAL_MISSING');
  });

  it('a standing: entry naming no file (a typo) is an error at its line of opsbook.yaml, saying how to fix it (exit 2)', async () => {
    const typo = 'approvals/daily-inspecton.approval.json';
    await configureStanding({ 'daily-inspection': typo, 'resource-inventory': typo });
    const line = `${baseConfig}standing:\n`.split('\n').length;
    for (const [command, runbook, row] of [
      ['inspect', 'daily-inspection', line],
      ['inventory', 'resource-inventory', line + 1],
    ] as const) {
      const before = logins();
      const r = await world.opsbook([command]);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `opsbook.yaml:${row}:${runbook.length + 5}: standing.${runbook} names ${typo}, which cannot be read (ENOENT)`,
      );
      expect(r.stderr).toContain(`opsbook ticket approval KEY -o ${typo}`);
      expect(logins()).toEqual(before);
    }
  });

  it("with the other runbook's standing approval configured, both refuse", async () => {
    await configureStanding({ 'daily-inspection': INVENTORY, 'resource-inventory': INSPECTION });
    const stderr = await expectRefusedBeforeAnyHost(['inspect'], 'RUNBOOK_MISMATCH');
    expect(stderr).toContain('approves resource-inventory, not daily-inspection');
    await expectRefusedBeforeAnyHost(['inventory'], 'RUNBOOK_MISMATCH');
  });

  it('with a --target other than the approved selector, both refuse', async () => {
    await configureStanding({ 'daily-inspection': INSPECTION, 'resource-inventory': INVENTORY });
    const stderr = await expectRefusedBeforeAnyHost(
      ['inspect', '--target', 'h1'],
      'TARGETS_OUTSIDE_SCOPE',
    );
    expect(stderr).toContain('covers "all", not "h1"');
    await expectRefusedBeforeAnyHost(['inventory', '--target', 'web'], 'TARGETS_OUTSIDE_SCOPE');
  });

  it('with an approval for explicit hosts instead of a selector, inspect refuses', async () => {
    const explicit = 'approvals/explicit.approval.json';
    const r = await world.opsbook([
      'plan',
      'daily-inspection',
      '--target',
      'all',
      '--ticket',
      ticket,
      '-o',
      explicit,
    ]);
    expect(r.code, r.stderr).toBe(0);
    await approveAs(world, explicit, world.people.alice);
    await configureStanding({ 'daily-inspection': explicit });
    await expectRefusedBeforeAnyHost(['inspect'], 'NOT_STANDING');
  });

  it('with an unsigned standing approval, inspect refuses', async () => {
    const unsigned = 'approvals/unsigned.approval.json';
    expect((await planStanding('daily-inspection', unsigned)).code).toBe(0);
    await configureStanding({ 'daily-inspection': unsigned });
    await expectRefusedBeforeAnyHost(['inspect'], 'THRESHOLD_NOT_MET');
  });
});

describe('opsbook inspect over two sshd hosts, under the standing approval', () => {
  beforeAll(async () => {
    await configureStanding({ 'daily-inspection': INSPECTION, 'resource-inventory': INVENTORY });
  });

  it('prints the findings table worst first, and exits 1 exactly when a finding is crit', async () => {
    const r = await world.opsbook(['inspect']);
    expect(r.stderr).not.toMatch(stackTrace);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^STATUS\s+HOST\s+CHECK\s+VALUE\s+THRESHOLD\s+MESSAGE$/);
    const statuses = rows.slice(1).map((l) => (l.split(/\s+/)[0] ?? '').toLowerCase());
    expect(statuses.every((s) => s in severity)).toBe(true);
    const ranks = statuses.map((s) => severity[s] ?? -1);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(r.code, r.stderr).toBe(statuses.includes('crit') ? 1 : 0);
    for (const host of ['h1', 'h2'])
      expect(rows.some((l) => new RegExp(`\\s${host}\\s+inspection\\.disk `).test(l))).toBe(true);
    // The daily checklist: every step of the runbook gave at least one row per host.
    expect(rows.filter((l) => /\sh1\s+inspection\./.test(l)).length).toBeGreaterThanOrEqual(14);
    expect(r.stderr).toMatch(/run \S+ (ok|failed); journal \S+\.jsonl/);
    // A run that went fine but exits 1 says why, so a script's failure is not a mystery.
    const crit = statuses.filter((s) => s === 'crit').length;
    if (crit)
      expect(r.stderr).toContain(
        `${crit} crit finding(s), so exit 1 (inspect exits 1 on a crit finding, for alerting)`,
      );
    else expect(r.stderr).not.toContain('crit finding(s)');
  });

  it('prints one JSON document with --json: well-formed findings, worst first, and a journal that verifies', async () => {
    const r = await world.opsbook(['inspect', '--json']);
    expect(r.stderr).not.toMatch(stackTrace);
    const doc = JSON.parse(r.stdout) as { runId: string; status: string; findings: Finding[] };
    expect(doc.status).toBe('ok');
    expect(new Set(doc.findings.map((f) => f.host))).toEqual(new Set(['h1', 'h2']));
    for (const f of doc.findings) {
      expect(Object.keys(f).every((k) => k in findingSchema.properties)).toBe(true);
      expect(f.status in severity).toBe(true);
      if (f.status === 'unknown') expect(f.message.length).toBeGreaterThan(0);
    }
    const ranks = doc.findings.map((f) => severity[f.status] ?? -1);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(r.code).toBe(doc.findings.some((f) => f.status === 'crit') ? 1 : 0);
    const verify = await world.opsbook(['journal', 'verify', doc.runId]);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });
});

describe('opsbook inventory over two sshd hosts, under the standing approval', () => {
  it('prints the statistics table: the fleet and each group', async () => {
    const r = await world.opsbook(['inventory']);
    expect(r.stderr).not.toMatch(stackTrace);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^GROUP\s+HOSTS\s+CORES\s+MEMORY/);
    const groups = rows.slice(1).map((l) => l.split(/\s+/).slice(0, 2));
    expect(groups).toEqual(
      expect.arrayContaining([
        ['all', '2'],
        ['web', '1'],
        ['db', '1'],
      ]),
    );
  });

  it('prints statistics that validate against fleetStatisticsSchema with --json, and CSV with --format csv', async () => {
    const r = await world.opsbook(['inventory', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout) as FleetStatistics;
    expect(validateFleetStatistics(stats), JSON.stringify(validateFleetStatistics.errors)).toBe(
      true,
    );
    expect(stats.hosts.map((h) => [h.host, h.unknown])).toEqual([
      ['h1', []],
      ['h2', []],
    ]);
    const all = stats.groups.find((g) => g.group === 'all');
    // Both "hosts" are this machine: twice its cores.
    expect(all?.cores).toBe(2 * (stats.hosts[0]?.cpu?.cores ?? 0));
    expect(stats.hosts[1]?.services).toContainEqual(
      expect.objectContaining({ address: world.hosts[1]?.host, port: world.hosts[1]?.port }),
    );
    const json = await world.opsbook(['inventory', '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    // Facts taken again: the same hosts and groups (uptime and memory move between runs).
    const again = JSON.parse(json.stdout) as FleetStatistics;
    expect(validateFleetStatistics(again)).toBe(true);
    expect(again.groups.map((g) => g.group)).toEqual(stats.groups.map((g) => g.group));
    const csv = await world.opsbook(['inventory', '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    // RFC 4180: every record, the last one too, ends with CRLF, written as it is (as > fleet.csv
    // gets it), never shown as the text \x0d.
    expect(csv.stdout).not.toContain(String.raw`\x0d`);
    expect(csv.stdout.endsWith('\r\n')).toBe(true);
    const lines = csv.stdout.slice(0, -2).split('\r\n');
    expect(lines.every((l) => !/[\r\n]/.test(l))).toBe(true);
    expect(lines[0]).toMatch(/^group,hosts,/);
    expect(lines.some((l) => l.startsWith('all,2,'))).toBe(true);
    expect(lines).toHaveLength(1 + stats.groups.length);
  });

  it('refuses an unknown --format before touching a host (exit 2)', async () => {
    const before = logins();
    const r = await world.opsbook(['inventory', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format must be one of table, json, csv');
    expect(logins()).toEqual(before);
  });

  it('leaves journals that all verify', async () => {
    expect((await journalFiles(world)).length).toBeGreaterThanOrEqual(4);
    const verify = await world.opsbook(['journal', 'verify']);
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('refuses, before any host, once a host var or the hosts the selector matches changed since the signature', async () => {
    const signed = await readFile(world.inventoryFile, 'utf8');
    try {
      // A threshold the checks read from a host var, changed on the runner's inventory.
      await writeFile(
        world.inventoryFile,
        signed.replace('h2: {', 'h2: {opsbook_threshold_disk_crit_pct: 97, '),
      );
      await expectRefusedBeforeAnyHost(['inspect'], 'PLAN_MISMATCH');
      // A host added to the fleet the selector `all` covers.
      await writeFile(
        world.inventoryFile,
        signed.replace(/(\n {4}db:\n {6}hosts:\n)/, '$1        h9: {ansible_host: 127.0.0.9}\n'),
      );
      await expectRefusedBeforeAnyHost(['inspect'], 'PLAN_MISMATCH');
    } finally {
      await writeFile(world.inventoryFile, signed);
    }
    const again = await world.opsbook(['inspect', '--json']);
    expect([0, 1], again.stderr).toContain(again.code);
  });
});

describe('opsbook doctor on the standing approvals and schedules', () => {
  it('says which approval is ready, which ends soon, which is missing, and which schedule has none', async () => {
    const soon = 'approvals/soon.approval.json';
    const planned = await planStanding('resource-inventory', soon, ['--expires', '3d']);
    expect(planned.code, planned.stderr).toBe(0);
    await approveAs(world, soon, world.people.alice);
    const unsigned = 'approvals/doctor-unsigned.approval.json';
    const unsignedPlan = await planStanding('daily-inspection', unsigned);
    expect(unsignedPlan.code, unsignedPlan.stderr).toBe(0);
    await writeFile(
      path.join(world.dir, 'opsbook.yaml'),
      `${baseConfig}standing:\n  daily-inspection: ${INSPECTION}\n  resource-inventory: ${soon}\n  marker: approvals/missing.approval.json\nschedules:\n  nightly: {runbook: daily-inspectoin, cron: "0 6 * * *"}\n`,
    );
    try {
      const r = await world.opsbook(['doctor']);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(
          `^✓ standing daily-inspection +${ticket}, "all", at most 1000 run\\(s\\), until `,
          'm',
        ),
      );
      expect(r.stdout).toMatch(
        new RegExp(`^! standing resource-inventory +ends in 2 day\\(s\\): ${ticket}, "all"`, 'm'),
      );
      expect(r.stdout).toMatch(
        /^✗ standing marker +approvals\/missing\.approval\.json: .*missing\.approval\.json/m,
      );
      expect(r.stdout).toMatch(
        /^! schedules +opsbook\.yaml:\d+:\d+: schedules\.nightly\.runbook: there is no runbook 'daily-inspectoin' .*did you mean 'daily-inspection'/m,
      );
      expect(r.stdout).toMatch(
        /^✗ schedule nightly +runs daily-inspectoin, which has no standing approval in opsbook\.yaml: every slot is refused/m,
      );
      await writeFile(
        path.join(world.dir, 'opsbook.yaml'),
        `${baseConfig}standing:\n  daily-inspection: ${unsigned}\n`,
      );
      const plan = await world.opsbook(['doctor']);
      expect(plan.stdout).toMatch(
        /^✗ standing daily-inspection +approvals\/doctor-unsigned\.approval\.json is a plan no senior has signed/m,
      );
    } finally {
      await configureStanding({ 'daily-inspection': INSPECTION, 'resource-inventory': INVENTORY });
    }
  });
});
