export { type Connection, connectionOf } from './connection-of.js';
export { type InventoryErrorCode, inventoryErrorCodes } from './error-codes.js';
export {
  FACTS_COLLECTOR,
  type FactName,
  factNames,
  splitFactParts,
} from './facts/facts-collector.js';
export {
  computeFleetStatistics,
  type FleetStatisticsOptions,
} from './facts/fleet-statistics.js';
export { parseHostFacts } from './facts/host-facts.js';
export {
  type BlockDeviceFact,
  blockDeviceFactSchema,
  type CpuFact,
  cpuFactSchema,
  type FilesystemFact,
  type FleetStatistics,
  type FullFilesystem,
  filesystemFactSchema,
  fleetStatisticsSchema,
  fullFilesystemSchema,
  type GroupStatistics,
  groupStatisticsSchema,
  type HostFacts,
  hostFactsSchema,
  type InterfaceAddress,
  type InterfaceFact,
  interfaceFactSchema,
  type KernelFact,
  kernelFactSchema,
  type MemoryFact,
  memoryFactSchema,
  type OsFact,
  osFactSchema,
  type ServiceFact,
  serviceFactSchema,
} from './facts/host-facts-schema.js';
export { parseInterfaces, parseServices } from './facts/network-facts.js';
export {
  readFleetStatistics,
  readHostFacts,
  validateFleetStatistics,
  validateHostFacts,
} from './facts/read-facts-json.js';
export {
  formatKiB,
  renderFleetStatisticsCsv,
  renderFleetStatisticsJson,
  renderFleetStatisticsTable,
} from './facts/render-fleet-statistics.js';
export { parseBlockDevices, parseFilesystems, parseMemory } from './facts/storage-facts.js';
export { parseCpu, parseKernel, parseOsRelease, parseUptime } from './facts/system-facts.js';
export {
  globToRegExp,
  HOST_PATTERN_INVALID,
  HOST_PATTERN_NO_MATCH,
  orderHostPatterns,
  selectHosts,
  splitHostPattern,
} from './host-pattern.js';
export { expandHostRange, MAX_RANGE_HOSTS } from './host-range.js';
export type {
  Inventory,
  InventoryFormat,
  InventoryGroup,
  InventoryHost,
  SourceLocation,
  Vars,
  VarValue,
} from './inventory.js';
export {
  detectInventoryFormat,
  INVENTORY_INVALID,
  type LoadInventoryOptions,
  loadInventory,
  parseInventoryText,
} from './inventory-file.js';
