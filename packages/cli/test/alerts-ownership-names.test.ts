import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeAlertBurst } from '@opsbook/testkit/alert-burst';
import { approversYaml, makeSshKeyPair } from '@opsbook/testkit/approvers';
import { makeTempDir } from '@opsbook/testkit/temp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, stackTrace } from './run-cli.js';

const rules = (owners: string) =>
  `apiVersion: opsbook/v1\nkind: AlertRules\nversion: 3\ncorrelate:\n  - {name: cluster, by: {labels: [cluster]}}\nownership:\n  default: { roundRobin: [${owners}] }\n`;

describe('ownership names of alerts.yaml on the embedded tracker', () => {
  let temp: { dir: string; remove: () => Promise<void> };
  const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: temp.dir });

  beforeAll(async () => {
    temp = await makeTempDir('opsbook-alerts-owners-');
    const keyDir = path.join(temp.dir, 'keys');
    await mkdir(keyDir);
    const [erin, val, sam] = await Promise.all(
      ['erin', 'val', 'sam'].map((id) => makeSshKeyPair(keyDir, id)),
    );
    await writeFile(
      path.join(temp.dir, 'opsbook.yaml'),
      'apiVersion: opsbook/v1\nkind: Config\nstateDir: state\ntrustStore: approvers.yaml\ntracker: {kind: local}\n',
    );
    await writeFile(
      path.join(temp.dir, 'approvers.yaml'),
      approversYaml([
        { id: 'erin', name: 'Erin Engineer', roles: ['engineer'], keys: [erin!.publicLine] },
        { id: 'val', name: 'Val Senior', roles: ['senior'], keys: [val!.publicLine] },
        { id: 'sam', name: 'Sam Senior', roles: ['senior'], keys: [sam!.publicLine] },
      ]),
    );
    await writeFile(
      path.join(temp.dir, 'body.json'),
      JSON.stringify(makeAlertBurst({ alerts: 2, hosts: 1 })[0]),
    );
  });
  afterAll(() => temp.remove());

  it('refuses a name that is nobody of approvers.yaml at its line:col, with the nearest id, before storing or assigning anything', async () => {
    await writeFile(path.join(temp.dir, 'alerts.yaml'), rules('erin, vall'));
    for (const args of [
      ['alerts', 'ingest', 'body.json'],
      ['alerts', 'dispatch'],
    ]) {
      const r = await cli(args);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "alerts.yaml:7:33: 'vall' is not a person of approvers.yaml: did you mean val? Name people by their id there (erin, val, sam), or add them to it first",
      );
    }
    expect(JSON.parse((await cli(['alerts', 'list', '--json'])).stdout)).toEqual({ incidents: [] });
  });

  it('assigns by the names approvers.yaml lists', async () => {
    await writeFile(path.join(temp.dir, 'alerts.yaml'), rules('erin, val'));
    const r = await cli(['alerts', 'ingest', 'body.json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tickets: OPS-1 for INC-1/);
    const list = JSON.parse((await cli(['alerts', 'list', '--json'])).stdout) as {
      incidents: Array<{ assignee: string }>;
    };
    expect(list.incidents.map((i) => i.assignee)).toEqual(['erin']);
  });
});
