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
  type FleetStatistics,
  type FleetStatisticsOptions,
  type FullFilesystem,
  type GroupStatistics,
} from './facts/fleet-statistics.js';
export { type HostFacts, parseHostFacts } from './facts/host-facts.js';
export {
  blockDeviceFactSchema,
  cpuFactSchema,
  filesystemFactSchema,
  fleetStatisticsSchema,
  fullFilesystemSchema,
  groupStatisticsSchema,
  hostFactsSchema,
  interfaceFactSchema,
  kernelFactSchema,
  memoryFactSchema,
  osFactSchema,
  serviceFactSchema,
} from './facts/host-facts-schema.js';
export {
  type InterfaceAddress,
  type InterfaceFact,
  parseInterfaces,
  parseServices,
  type ServiceFact,
} from './facts/network-facts.js';
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
export {
  type BlockDeviceFact,
  type FilesystemFact,
  type MemoryFact,
  parseBlockDevices,
  parseFilesystems,
  parseMemory,
} from './facts/storage-facts.js';
export {
  type CpuFact,
  type KernelFact,
  type OsFact,
  parseCpu,
  parseKernel,
  parseOsRelease,
  parseUptime,
} from './facts/system-facts.js';
export {
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
