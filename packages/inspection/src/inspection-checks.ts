import type { ActionSpec } from '@opsbook/schema';
import { backupAgeCheck } from './checks/backup-age.js';
import { endpointCheck } from './checks/endpoint.js';
import { diskCheck, inodesCheck } from './checks/filesystem.js';
import { diskErrorsCheck, oomKillsCheck } from './checks/kernel-log.js';
import { loadCheck } from './checks/load.js';
import { logErrorsCheck } from './checks/log-errors.js';
import { memoryCheck, swapCheck } from './checks/memory.js';
import { portListeningCheck } from './checks/port-listening.js';
import { processCheck, zombiesCheck } from './checks/processes.js';
import { rebootRequiredCheck } from './checks/reboot-required.js';
import { securityUpdatesCheck } from './checks/security-updates.js';
import { failedUnitsCheck, unitActiveCheck } from './checks/systemd.js';
import { timeSyncCheck } from './checks/time-sync.js';
import { tlsCertCheck } from './checks/tls-cert.js';
import type { InspectionCheck } from './inspection-check.js';

/** The catalogue, keyed by the action name a runbook writes after `uses:`. */
export const inspectionChecks = {
  'inspection.disk': diskCheck,
  'inspection.inodes': inodesCheck,
  'inspection.memory': memoryCheck,
  'inspection.swap': swapCheck,
  'inspection.load': loadCheck,
  'inspection.failed-units': failedUnitsCheck,
  'inspection.unit-active': unitActiveCheck,
  'inspection.process': processCheck,
  'inspection.zombies': zombiesCheck,
  'inspection.port-listening': portListeningCheck,
  'inspection.endpoint': endpointCheck,
  'inspection.tls-cert': tlsCertCheck,
  'inspection.time-sync': timeSyncCheck,
  'inspection.oom-kills': oomKillsCheck,
  'inspection.disk-errors': diskErrorsCheck,
  'inspection.log-errors': logErrorsCheck,
  'inspection.backup-age': backupAgeCheck,
  'inspection.security-updates': securityUpdatesCheck,
  'inspection.reboot-required': rebootRequiredCheck,
} as const satisfies Record<string, InspectionCheck>;

export type InspectionCheckName = keyof typeof inspectionChecks;

export const inspectionCheckNames = Object.keys(inspectionChecks) as InspectionCheckName[];

/** A check by its action name (`inspection.disk`) or its short name (`disk`). */
export function findInspectionCheck(name: string): InspectionCheck | undefined {
  const full = name.startsWith('inspection.') ? name : `inspection.${name}`;
  return Object.hasOwn(inspectionChecks, full)
    ? inspectionChecks[full as InspectionCheckName]
    : undefined;
}

/** The checks as the runner's action registry and `opsbook validate` describe actions. */
export function listInspectionActions(): ActionSpec[] {
  return inspectionCheckNames.map((name) => {
    const { description, withSchema } = inspectionChecks[name];
    return { name, description, withSchema };
  });
}
