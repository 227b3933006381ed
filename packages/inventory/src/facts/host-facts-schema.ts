import { closedObject, documentSchema } from '@opsbook/schema';
import type { FromSchema } from 'json-schema-to-ts';
import { factNames } from './facts-collector.js';

/*
 * The shapes of host facts and fleet statistics: one JSON Schema (draft 2020-12) per shape is the
 * source of truth; the TypeScript types (HostFacts, OsFact, …, FleetStatistics, at the end) are
 * derived from these constants with json-schema-to-ts, and the validators are compiled ahead of time from them
 * into generated/validators.ts. Tools outside opsbook read `opsbook inventory --json` with them.
 */

const count = { type: 'integer', minimum: 0 } as const;
const nullableText = { type: ['string', 'null'] } as const;
const percent = { type: 'number', minimum: 0, maximum: 100 } as const;

export const osFactSchema = closedObject({
  /** os-release `ID` (debian, alpine, rhel, …). */
  id: { type: 'string', minLength: 1 },
  name: { type: 'string' },
  versionId: nullableText,
  prettyName: { type: 'string' },
});

export const kernelFactSchema = closedObject({
  name: { type: 'string', minLength: 1 },
  release: { type: 'string', minLength: 1 },
  machine: { type: 'string' },
});

export const cpuFactSchema = closedObject({
  model: nullableText,
  /** Processors this host's processes can use (`nproc`), else the count in /proc/cpuinfo. */
  cores: { type: 'integer', minimum: 1 },
});

export const memoryFactSchema = closedObject({
  totalKiB: count,
  availableKiB: count,
  swapTotalKiB: count,
  swapFreeKiB: count,
});

export const filesystemFactSchema = closedObject({
  filesystem: { type: 'string' },
  mount: { type: 'string', pattern: '^/' },
  sizeKiB: count,
  usedKiB: count,
  availableKiB: count,
  /** As df prints it (rounded up, relative to used + available). */
  usedPct: percent,
});

export const blockDeviceFactSchema = closedObject({
  name: { type: 'string', minLength: 1 },
  /** lsblk TYPE (disk, part, lvm, rom, loop, …); null from /sys/block, which lists whole devices. */
  type: nullableText,
  sizeBytes: count,
  isReadOnly: { type: 'boolean' },
});

export const interfaceFactSchema = closedObject({
  name: { type: 'string', minLength: 1 },
  addresses: {
    type: 'array',
    items: closedObject({
      family: { enum: ['inet', 'inet6'] },
      address: { type: 'string', minLength: 1 },
      prefix: { type: 'integer', minimum: 0, maximum: 128 },
    }),
  },
});

export const serviceFactSchema = closedObject({
  address: { type: 'string' },
  port: { type: 'integer', minimum: 0, maximum: 65535 },
  /** The listening program, when the collector could see it (ss/netstat -p as root). */
  process: nullableText,
});

const hostFactsProperties = {
  host: { type: 'string', minLength: 1 },
  // A fact the host could not give is null (or an empty list), its reason is in `unknown`.
  os: { ...osFactSchema, type: ['object', 'null'] },
  kernel: { ...kernelFactSchema, type: ['object', 'null'] },
  cpu: { ...cpuFactSchema, type: ['object', 'null'] },
  memory: { ...memoryFactSchema, type: ['object', 'null'] },
  filesystems: { type: 'array', items: filesystemFactSchema },
  blockDevices: { type: 'array', items: blockDeviceFactSchema },
  interfaces: { type: 'array', items: interfaceFactSchema },
  uptimeSeconds: { type: ['number', 'null'], minimum: 0 },
  services: { type: 'array', items: serviceFactSchema },
  unknown: {
    type: 'array',
    items: closedObject({
      fact: { enum: factNames },
      reason: { type: 'string', minLength: 1 },
    }),
  },
} as const;

/** Everything the facts collector learnt about one host (`opsbook inventory --json`: `hosts[]`). */
export const hostFactsSchema = documentSchema(
  'host-facts',
  'opsbook host facts',
  hostFactsProperties,
);

const nameCount = {
  type: 'array',
  items: closedObject({ name: { type: 'string' }, hosts: { type: 'integer', minimum: 1 } }),
} as const;
const nullablePct = { ...percent, type: ['number', 'null'] } as const;

const { sizeKiB, usedKiB, usedPct } = filesystemFactSchema.properties;

/** One filesystem in a top-N list, with its host and the sizes of its fact. */
export const fullFilesystemSchema = closedObject({
  host: { type: 'string' },
  mount: { type: 'string' },
  sizeKiB,
  usedKiB,
  usedPct,
});

/** Totals of one group of hosts (or of the whole fleet, group `all`). */
export const groupStatisticsSchema = closedObject({
  group: { type: 'string', minLength: 1 },
  hosts: count,
  /** Hosts whose facts were incomplete (see each host's `unknown`). */
  hostsWithUnknownFacts: count,
  cores: count,
  memoryTotalKiB: count,
  memoryUsedKiB: count,
  memoryUsedPct: nullablePct,
  swapTotalKiB: count,
  swapUsedKiB: count,
  diskTotalKiB: count,
  diskUsedKiB: count,
  /** used ÷ (used + available), as df computes Use%: space reserved for root is not available. */
  diskUsedPct: nullablePct,
  /** Host count per `prettyName` (or `unknown`), most common first. */
  os: nameCount,
  /** Host count per kernel release, most common first. */
  kernels: nameCount,
  fullestFilesystems: { type: 'array', items: fullFilesystemSchema },
});

/** Fleet statistics by group, with the facts of every host they were computed from. */
export const fleetStatisticsSchema = documentSchema(
  'fleet-statistics',
  'opsbook fleet statistics',
  {
    groups: { type: 'array', items: groupStatisticsSchema },
    hosts: { type: 'array', items: closedObject(hostFactsProperties) },
  },
);

export type OsFact = FromSchema<typeof osFactSchema>;
export type KernelFact = FromSchema<typeof kernelFactSchema>;
export type CpuFact = FromSchema<typeof cpuFactSchema>;
export type MemoryFact = FromSchema<typeof memoryFactSchema>;
export type FilesystemFact = FromSchema<typeof filesystemFactSchema>;
export type BlockDeviceFact = FromSchema<typeof blockDeviceFactSchema>;
export type InterfaceFact = FromSchema<typeof interfaceFactSchema>;
export type InterfaceAddress = InterfaceFact['addresses'][number];
export type ServiceFact = FromSchema<typeof serviceFactSchema>;
/**
 * Everything the facts collector learnt about one host. A fact the host could not give is null
 * (or an empty list) and its reason is in `unknown`, so a fleet with a few odd hosts still adds up.
 */
export type HostFacts = FromSchema<typeof hostFactsSchema>;
/** One filesystem in a top-N list, with its host. */
export type FullFilesystem = FromSchema<typeof fullFilesystemSchema>;
/** Totals of one group of hosts (or of the whole fleet, group `all`). */
export type GroupStatistics = FromSchema<typeof groupStatisticsSchema>;
export type FleetStatistics = FromSchema<typeof fleetStatisticsSchema>;
