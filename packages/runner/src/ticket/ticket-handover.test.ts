import { parseTrustStore } from '@opsbook/approval';
import { describe, expect, it } from 'vitest';
import { seniorNamed } from './ticket-handover.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH4KeW/IcTJzUVZ8aVrve7gCDY7kuKz5RAk8bsbTKIQ0 a';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEfGFX+O8nHHgL2rcbv6M2yPCcQTOTyrTaDlvmyEBRnf b';
const KEY_C = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOAC/uCeNnqwqFNvJCQLIHZjWxpZvVeiPTbw9Wjb1W2c c';
const KEY_D = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOZeXovwF/1Bsn2V5WbEmnpaxolMiYBuMKodFKbgiQS3 d';

/** Two seniors, and an engineer and an expert whose ids are closer to the typos below. */
const store = (approvers: string) =>
  parseTrustStore(
    Buffer.from(`apiVersion: opsbook/v1
kind: Approvers
version: 1
approvers:
${approvers}policy: {signatures: 1, maxValidity: 7d}
rotation: {signatures: 1}
`),
    'approvers.yaml',
  );
const team = store(`  - {id: sam, name: Sam Senior, roles: [senior], keys: ["${KEY_A}"]}
  - {id: val, name: Val Senior, roles: [senior, expert], keys: ["${KEY_B}"]}
  - {id: eve, name: Eve Engineer, roles: [engineer], keys: ["${KEY_C}"]}
  - {id: dave, name: Dave Expert, roles: [expert], keys: ["${KEY_D}"]}
`);
const local = { kind: 'local' } as const;

describe('--senior: who may review a proposal', () => {
  it('offers only the seniors for an unknown id, and guesses among them only', () => {
    expect(() => seniorNamed(team, 'evee', local)).toThrow(
      '--senior evee is not in approvers.yaml. Name the senior who reviews the plan by their approvers.yaml id (the seniors in approvers.yaml: sam, val)',
    );
    expect(() => seniorNamed(team, 'sma', local)).toThrow(/did you mean sam\?/);
  });

  it('names the seniors to choose from when the id is an engineer or an expert', () => {
    for (const id of ['eve', 'dave'])
      expect(() => seniorNamed(team, id, local)).toThrow(
        /is not a senior in approvers\.yaml; name the senior who reviews the plan \(the seniors in approvers\.yaml: sam, val\)$/,
      );
  });

  it('takes a listed senior, and on Jira an unlisted name as their account', () => {
    expect(seniorNamed(team, 'val', local)).toEqual({ id: 'val', name: 'Val Senior', jira: 'val' });
    expect(seniorNamed(team, '5b10ac8d82e05b22cc7d4ef5', { kind: 'jira' })).toMatchObject({
      jira: '5b10ac8d82e05b22cc7d4ef5',
    });
  });
});
