import { factNames } from './facts-collector.js';

/*
 * The shapes of host facts and fleet statistics: one JSON Schema (draft 2020-12) per shape is the
 * source of truth; the TypeScript types (HostFacts, OsFact, …, FleetStatistics) are derived from
 * these constants with json-schema-to-ts, and the validators are compiled ahead of time from them
 * into generated/validators.ts. Tools outside opsbook read `opsbook inventory --json` with them.
 */

const count = { type: 'integer', minimum: 0 } as const;
const nullableText = { type: ['string', 'null'] } as const;

export const osFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'versionId', 'prettyName'],
  properties: {
    /** os-release `ID` (debian, alpine, rhel, …). */
    id: { type: 'string', minLength: 1 },
    name: { type: 'string' },
    versionId: nullableText,
    prettyName: { type: 'string' },
  },
} as const;

export const kernelFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'release', 'machine'],
  properties: {
    name: { type: 'string', minLength: 1 },
    release: { type: 'string', minLength: 1 },
    machine: { type: 'string' },
  },
} as const;

export const cpuFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'cores'],
  properties: {
    model: nullableText,
    /** Processors this host's processes can use (`nproc`), else the count in /proc/cpuinfo. */
    cores: { type: 'integer', minimum: 1 },
  },
} as const;

export const memoryFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['totalKiB', 'availableKiB', 'swapTotalKiB', 'swapFreeKiB'],
  properties: {
    totalKiB: count,
    availableKiB: count,
    swapTotalKiB: count,
    swapFreeKiB: count,
  },
} as const;

export const filesystemFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['filesystem', 'mount', 'sizeKiB', 'usedKiB', 'availableKiB', 'usedPct'],
  properties: {
    filesystem: { type: 'string' },
    mount: { type: 'string', pattern: '^/' },
    sizeKiB: count,
    usedKiB: count,
    availableKiB: count,
    /** As df prints it (rounded up, relative to used + available). */
    usedPct: { type: 'number', minimum: 0, maximum: 100 },
  },
} as const;

export const blockDeviceFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'sizeBytes', 'isReadOnly'],
  properties: {
    name: { type: 'string', minLength: 1 },
    /** lsblk TYPE (disk, part, lvm, rom, loop, …); null from /sys/block, which lists whole devices. */
    type: nullableText,
    sizeBytes: count,
    isReadOnly: { type: 'boolean' },
  },
} as const;

export const interfaceFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'addresses'],
  properties: {
    name: { type: 'string', minLength: 1 },
    addresses: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['family', 'address', 'prefix'],
        properties: {
          family: { enum: ['inet', 'inet6'] },
          address: { type: 'string', minLength: 1 },
          prefix: { type: 'integer', minimum: 0, maximum: 128 },
        },
      },
    },
  },
} as const;

export const serviceFactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'port', 'process'],
  properties: {
    address: { type: 'string' },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    /** The listening program, when the collector could see it (ss/netstat -p as root). */
    process: nullableText,
  },
} as const;

const hostFactsShape = {
  type: 'object',
  additionalProperties: false,
  required: [
    'host',
    'os',
    'kernel',
    'cpu',
    'memory',
    'filesystems',
    'blockDevices',
    'interfaces',
    'uptimeSeconds',
    'services',
    'unknown',
  ],
  properties: {
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
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['fact', 'reason'],
        properties: {
          fact: { enum: factNames },
          reason: { type: 'string', minLength: 1 },
        },
      },
    },
  },
} as const;

/** Everything the facts collector learnt about one host (`opsbook inventory --json`: `hosts[]`). */
export const hostFactsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/host-facts.json',
  title: 'opsbook host facts',
  ...hostFactsShape,
} as const;

const nameCount = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'hosts'],
    properties: { name: { type: 'string' }, hosts: { type: 'integer', minimum: 1 } },
  },
} as const;
const nullablePct = { type: ['number', 'null'], minimum: 0, maximum: 100 } as const;

/** One filesystem in a top-N list, with its host. */
export const fullFilesystemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['host', 'mount', 'sizeKiB', 'usedKiB', 'usedPct'],
  properties: {
    host: { type: 'string' },
    mount: { type: 'string' },
    sizeKiB: count,
    usedKiB: count,
    usedPct: { type: 'number', minimum: 0, maximum: 100 },
  },
} as const;

/** Totals of one group of hosts (or of the whole fleet, group `all`). */
export const groupStatisticsSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'group',
    'hosts',
    'hostsWithUnknownFacts',
    'cores',
    'memoryTotalKiB',
    'memoryUsedKiB',
    'memoryUsedPct',
    'swapTotalKiB',
    'swapUsedKiB',
    'diskTotalKiB',
    'diskUsedKiB',
    'diskUsedPct',
    'os',
    'kernels',
    'fullestFilesystems',
  ],
  properties: {
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
  },
} as const;

/** Fleet statistics by group, with the facts of every host they were computed from. */
export const fleetStatisticsSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://opsbook.dev/schemas/fleet-statistics.json',
  title: 'opsbook fleet statistics',
  type: 'object',
  additionalProperties: false,
  required: ['groups', 'hosts'],
  properties: {
    groups: { type: 'array', items: groupStatisticsSchema },
    hosts: { type: 'array', items: hostFactsShape },
  },
} as const;
