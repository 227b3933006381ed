import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import {
  approvedFile,
  envelopeText,
  planApproval,
  readEnvelope,
  type Statement,
  signedEnvelope,
  statementOf,
} from './approval-craft.js';
import { createWorld, expectOk, type Person, type Site, type World } from './opsbook-world.js';
import { stackTrace } from './run-cli.js';
import { markerRunbook } from './runbook-fixtures.js';

/*
 * The world of the end-to-end tamper suite (issue 4): two sshd hosts, a valid approval to start
 * every tampering from, and the check every case ends with — exit 3 with the refusal code, and
 * no command on any host (the fixture's first command, a precheck, would leave a marker file;
 * each sshd would log a login). Tampered files are made with standard tools: JSON, base64,
 * ssh-keygen.
 */

export interface Attempt {
  /** Where to run (default: the world). */
  site?: Site;
  file?: string;
  /** The whole command, when it is not `opsbook run FILE`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

export type TamperCase = [name: string, code: string, attempt: () => Promise<Attempt>];

export interface TamperWorld {
  world: World;
  /** The marker folder of every tampered run: it must stay empty. */
  tamperDir: string;
  /** A valid approval (alice) for `marker` on h1 and h2. */
  base: string;
  /** The same run of the P1 runbook `marker-p1`, planned but not signed. */
  baseP1: string;
  /** Writes a tampered file and returns its path. */
  write(text: string | Buffer): Promise<string>;
  baseStatement(): Promise<Statement>;
  /** The base statement with `changes`, signed anew by `signers` (ssh-keygen -Y sign). */
  resigned(changes: Partial<Statement>, ...signers: Person[]): Promise<string>;
  /** A copy of the world's installation, changed by `change`. */
  site(name: string, change: (s: Site) => Promise<void>): Promise<Site>;
}

export const DAY = 86_400_000;

/** An approval timestamp `offsetMs` from now (whole seconds, UTC, as opsbook writes them). */
export const instant = (offsetMs: number): string =>
  new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function editFile(file: string, edit: (text: string) => string): Promise<void> {
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

export async function createTamperWorld(): Promise<TamperWorld> {
  const world = await createWorld({
    hostCount: 2,
    runbooks: { marker: markerRunbook(), 'marker-p1': markerRunbook('marker-p1', 'P1') },
  });
  try {
    const tamperDir = path.join(world.markerDir, 'tamper');
    await mkdir(tamperDir);
    const args = { params: { dir: tamperDir }, target: 'h1:h2' };
    const base = await approvedFile(world, 'marker', 'base.json', [world.people.alice], args);
    const baseP1 = await planApproval(world, 'marker-p1', 'base-p1.json', args);
    // The untampered approval passes every check: each refusal is the tampering's doing.
    await expectOk(world.opsbook(['verify', base]), 'opsbook verify base.json');
    let n = 0;
    const baseStatement = async () => statementOf(await readEnvelope(base));
    const write = async (text: string | Buffer) => {
      n += 1;
      const file = path.join(world.dir, `tampered-${n}.json`);
      await writeFile(file, text);
      return file;
    };
    return {
      world,
      tamperDir,
      base,
      baseP1,
      write,
      baseStatement,
      async resigned(changes, ...signers) {
        const s = { ...(await baseStatement()), ...changes };
        return write(envelopeText(await signedEnvelope(world.dir, s, signers)));
      },
      async site(name, change) {
        const s = await world.createSite(name);
        await change(s);
        return s;
      },
    };
  } catch (e) {
    await world.remove();
    throw e;
  }
}

/** Runs the attempt and checks: exit 3, `refused (CODE)`, no stack trace, no host touched. */
export async function expectRefusedUntouched(
  t: TamperWorld,
  code: string,
  attempt: Attempt,
): Promise<void> {
  const { world } = t;
  const where = attempt.site ?? world;
  const logins = world.hosts.map((h) => h.countLogins());
  const r = await where.opsbook(
    attempt.args ?? ['run', attempt.file!],
    attempt.env ? { env: attempt.env } : {},
  );
  expect(r.stderr).toMatch(new RegExp(`^refused \\(${code}\\): `));
  expect(r.stderr).not.toMatch(stackTrace);
  expect(r.code).toBe(3);
  expect(await readdir(t.tamperDir)).toEqual([]);
  expect(world.hosts.map((h) => h.countLogins())).toEqual(logins);
}
