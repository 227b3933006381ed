import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvedFile, readEnvelope, statementOf } from './approval-craft.js';
import { createTicket, createWorld, trackerOf, type World } from './opsbook-world.js';
import { binPath, runShell } from './run-cli.js';
import type { RunDoc } from './run-outcome.js';

/*
 * Issue 14, item 7: what a host prints, and what a runbook or a ticket says, reaches the
 * operator's terminal with its control characters made visible. A hostile step retitles the
 * terminal (OSC 0), writes the clipboard (OSC 52), clears the screen (CSI 2J), and uses the
 * one-character CSI of C1 (U+009B); none of those bytes may come out of `opsbook`, while its own
 * colours still do. Runs go through the local transport (`ansible_connection: local`).
 */

/** Every attack at once, as raw characters. */
const ATTACK = '\u001b]0;pwned\u0007\u001b]52;c;cGF3bmVk\u0007\u001b[2J\u001b[31m\u009b2J\u007f';
/** The same, as a shell `printf` format (octal escapes: printf writes the raw bytes). */
const ATTACK_PRINTF = String.raw`\033]0;pwned\007\033]52;c;cGF3bmVk\007\033[2J\033[31m\302\233\062J\177`;

/** A YAML double-quoted string holding `text` exactly, its control characters as escapes. */
function yamlString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Plain ASCII, so that it stays a valid runbook: the attack reaches the terminal through what the
 * step prints (printf's octal escapes), the `note` param (in the rendered command the reviewer
 * reads, and printed), and the CHANGELOG shown by `show`.
 */
const hostile = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: hostile
  title: Prints escape sequences
  category: change
  grade: P3
  owners: [ops-test]
spec:
  params:
    note: {type: string, required: true, description: Printed by the step}
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: shout
      name: Shout at the terminal
      run: ${yamlString(
        `printf '${ATTACK_PRINTF} on stdout\\n'; printf '${ATTACK_PRINTF} on stderr\\n' >&2; printf '%s\\n' {{ params.note }}`,
      )}
`,
  files: { 'CHANGELOG.md': `# hostile\n\n## 1.0.0\n\n- Changed ${ATTACK} for the better\n` },
};

/** Control characters in the runbook's own strings (which validation may refuse outright). */
const hostileText = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: hostile-text
  title: ${yamlString(`Hostile ${ATTACK} title`)}
  description: ${yamlString(`Says ${ATTACK} in its description`)}
  category: change
  grade: P3
  owners: [ops-test]
spec:
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: shout
      name: ${yamlString(`Shout ${ATTACK} at the terminal`)}
      run: ${yamlString(`printf '%s\\n' 'raw ${ATTACK} in the command'`)}
`,
};

const longLine = {
  yaml: `apiVersion: opsbook/v1
kind: Runbook
metadata:
  name: long-line
  title: One output line of 50 MB
  category: change
  grade: P3
  owners: [ops-test]
spec:
  targets: {default: all, concurrency: 10, maxFailures: 5}
  steps:
    - id: flood
      name: Print 50 MB without a newline, then a short line
      run: "head -c 50000000 /dev/zero | tr '\\\\000' x; echo; echo after-the-long-line"
`,
};

/** The CLI's own colour codes (output.ts): the only escape sequences allowed out. */
const OWN_COLOURS = /\u001b\[(?:1|2|22|31|32|33|39)m/g;
/** C0 except tab and newline, DEL, C1. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** Fails with the offending text when a control character other than our colours got out. */
function expectTerminalSafe(text: string, what: string): void {
  const bare = text.replace(OWN_COLOURS, '');
  const at = bare.search(CONTROL);
  expect(
    at,
    `${what}: raw control character at ${at}: ${JSON.stringify(bare.slice(at - 40, at + 40))}`,
  ).toBe(-1);
}

/** The attack as the CLI shows it: every control character written out. */
const VISIBLE = String.raw`\x1b]0;pwned\x07\x1b]52;c;cGF3bmVk\x07\x1b[2J\x1b[31m\x9b2J\x7f`;

let world: World;

/** An approval of `hostile` on the local host, with its own ticket (a run moves it on). */
function approval(name: string): Promise<string> {
  return approvedFile(world, 'hostile', `${name}.json`, [world.people.alice], {
    target: 'box',
    params: { note: `param ${ATTACK} here` },
  });
}

/** Colour forced on, so that the test sees the CLI's own escape codes survive. */
const colour = { NO_COLOR: '', FORCE_COLOR: '1' };

beforeAll(async () => {
  world = await createWorld({
    hostCount: 1,
    runbooks: { hostile, 'hostile-text': hostileText, 'long-line': longLine },
  });
  await world.writeInventory({ extraHosts: { box: { ansible_connection: 'local' } } });
});
afterAll(async () => {
  await world?.remove();
});

describe('terminal-safe output', () => {
  it('refuses an inventory whose host names hide a zero-width character or a look-alike letter, at file:line, before any plan', async () => {
    const inventory = path.join(world.dir, 'lookalike-inventory.yaml');
    await world.writeInventory(
      {
        extraHosts: {
          box: { ansible_connection: 'local' },
          'box\u200b': { ansible_connection: 'local' },
          'b\u043ex': { ansible_connection: 'local' },
        },
      },
      inventory,
    );
    const ticket = await createTicket(world);
    const r = await world.opsbook(
      ['plan', 'hostile', '--ticket', ticket, '--param', 'note=x', '-i', inventory, '-o', 'x.json'],
      { env: colour },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout + r.stderr).not.toMatch(/[\u200b\u043e]/);
    expect(r.stderr).toMatch(
      /lookalike-inventory\.yaml:\d+:\d+: host name 'box\\u200b' holds U\+200B, which is not plain ASCII/,
    );
    expect(r.stderr).toMatch(
      /lookalike-inventory\.yaml:\d+:\d+: host name 'b\\u043ex' holds U\+043E/,
    );
  });

  it("shows a runbook's strings with their control characters made visible, or refuses the runbook", async () => {
    const r = await world.opsbook(['show', 'hostile-text'], { env: colour });
    expectTerminalSafe(r.stdout + r.stderr, 'show');
    // Runbook validation may refuse control characters outright (exit 2); shown, they are text.
    if (r.code !== 2) {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Hostile ${VISIBLE} title`);
      expect(r.stdout).toContain(`Says ${VISIBLE} in its description`);
      expect(r.stdout).toContain(`Shout ${VISIBLE} at the terminal`);
      expect(r.stdout).toContain(`raw ${VISIBLE} in the command`);
    }
  });

  it("shows a runbook's changelog with its control characters made visible, colours kept", async () => {
    const r = await world.opsbook(['show', 'hostile'], { env: colour });
    expect(r.code, r.stderr).toBe(0);
    expectTerminalSafe(r.stdout + r.stderr, 'show');
    expect(r.stdout).toContain(`1.0.0  Changed ${VISIBLE} for the better`);
    expect(r.stdout).toContain('\u001b[1mhostile\u001b[22m');
  });

  it('shows a plan (plan --show) with the control characters of a param made visible', async () => {
    const file = await approval('plan-show');
    const r = await world.opsbook(['plan', '--show', file], { env: colour });
    expect(r.code, r.stderr).toBe(0);
    expectTerminalSafe(r.stdout + r.stderr, 'plan --show');
    expect(r.stdout).toContain(`printf '%s\\n' 'param ${VISIBLE} here'`);
    expect(r.stdout).toContain('\u001b[1mrunbook\u001b[22m');
  });

  it("shows a step's live output, its journal and JSON without a raw escape byte; --raw passes them", async () => {
    const run = await world.opsbook(['run', await approval('human')], { env: colour });
    expect(run.code, run.stderr).toBe(0);
    expectTerminalSafe(run.stdout + run.stderr, 'run');
    const box = '\u001b[2mbox | \u001b[22m'; // the host in front, dimmed
    expect(run.stderr).toContain(`${box}${VISIBLE} on stdout`);
    expect(run.stderr).toContain(`${box}${VISIBLE} on stderr`);
    expect(run.stderr).toContain(`${box}param ${VISIBLE} here`);
    expect(run.stderr).toContain('\u001b[32mok\u001b[39m');

    const json = await world.opsbook(['run', await approval('json'), '--json']);
    expect(json.code, json.stderr).toBe(0);
    expectTerminalSafe(json.stdout + json.stderr, 'run --json');
    const doc = JSON.parse(json.stdout) as RunDoc;

    const journal = await world.opsbook(['runs', 'show', doc.runId, '--output'], { env: colour });
    expect(journal.code).toBe(0);
    expectTerminalSafe(journal.stdout + journal.stderr, 'runs show --output');
    expect(journal.stdout).toContain(`${VISIBLE} on stdout`);

    const raw = await world.opsbook(['run', await approval('raw'), '--raw']);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stderr).toContain(`box | ${ATTACK} on stdout`);
  });

  it('shows the live output of `ticket run` like `run`: control characters visible, --raw passes them', async () => {
    /** A new ticket carrying a signed approval of `hostile`, as `ticket approve` leaves it. */
    const approvedTicket = async (name: string) => {
      const key = await createTicket(world);
      const file = await approvedFile(world, 'hostile', `${name}.json`, [world.people.alice], {
        target: 'box',
        params: { note: `param ${ATTACK} here` },
        ticket: key,
      });
      const tracker = await trackerOf(world);
      await tracker.setProperty(key, 'opsbook.approval', {
        approvalId: statementOf(await readEnvelope(file)).id,
        envelope: await readFile(file, 'utf8'),
        signers: [world.people.alice.id],
        complete: true,
      });
      return key;
    };
    const shown = await world.opsbook(['ticket', 'run', await approvedTicket('ticket-shown')], {
      env: colour,
    });
    expect(shown.code, shown.stderr).toBe(0);
    expectTerminalSafe(shown.stdout + shown.stderr, 'ticket run');
    expect(shown.stderr).toContain(`\u001b[2mbox | \u001b[22m${VISIBLE} on stdout`);

    const raw = await world.opsbook(['ticket', 'run', await approvedTicket('ticket-raw'), '--raw']);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stderr).toContain(`box | ${ATTACK} on stdout`);
  });

  it('shows ticket text with its control characters made visible', async () => {
    const tracker = await trackerOf(world);
    const { key } = await tracker.create({ summary: `Disk full ${ATTACK} on web-01` });
    const r = await world.opsbook(['ticket', 'show', key], { env: colour });
    expect(r.code, r.stderr).toBe(0);
    expectTerminalSafe(r.stdout + r.stderr, 'ticket show');
    expect(r.stdout).toContain(`Disk full ${VISIBLE} on web-01`);
  });

  it('shows an output line of 50 MB cut, and the lines after it, in a run', async () => {
    const file = await approvedFile(world, 'long-line', 'long-line.json', [world.people.alice], {
      target: 'box',
    });
    const r = await world.opsbook(['run', file]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('box | '));
    // A run of x written as its length (a regular expression over 50 MB would blow the stack).
    const brief = (line: string) => {
      let n = 6;
      while (line.charCodeAt(n) === 0x78) n++;
      return n === 6 ? line : `${line.slice(0, 6)}x*${n - 6}${line.slice(n)}`;
    };
    expect(lines.map(brief)).toEqual([
      'box | x*65536 … [line cut: longer than 65536 characters]',
      'box | after-the-long-line',
    ]);
  });

  it('writes an approval payload to a terminal with its control characters made visible, and to a pipe as its exact bytes', async () => {
    // A senior looks at what they are asked to sign before `ssh-keygen -Y sign`: the params are
    // the engineer's text, and the JSON leaves C1 (U+009B, a CSI), DEL and bidi controls raw.
    const file = await approval('payload');
    const bytes = Buffer.from((await readEnvelope(file)).payload, 'base64');
    expect(bytes.toString('utf8')).toContain('\u009b2J');

    const piped = await world.opsbook(['approval', 'payload', file]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe(bytes.toString('utf8'));

    // The same command on a terminal (util-linux `script` gives it a pseudo-terminal).
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const command = [process.execPath, binPath, 'approval', 'payload', file].map(quote).join(' ');
    const tty = await runShell(`script -qec ${quote(command)} /dev/null </dev/null`, {
      cwd: world.dir,
      env: world.env,
    });
    expect(tty.code, tty.stderr).toBe(0);
    expectTerminalSafe(tty.stdout.replace(/\r\n/g, '\n'), 'approval payload on a terminal');
    expect(tty.stdout).toContain('param ');
    expect(tty.stdout).toContain(String.raw`\x9b2J`);
  });
});
