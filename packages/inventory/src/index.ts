export { type Connection, connectionOf } from './connection-of.js';
export { HOST_PATTERN_INVALID, HOST_PATTERN_NO_MATCH, orderHostPatterns, selectHosts, splitHostPattern } from './host-pattern.js';
export { MAX_RANGE_HOSTS, expandHostRange } from './host-range.js';
export type { Inventory, InventoryFormat, InventoryGroup, InventoryHost, SourceLocation, VarValue, Vars } from './inventory.js';
export {
  INVENTORY_INVALID,
  type LoadInventoryOptions,
  detectInventoryFormat,
  loadInventory,
  parseInventoryText,
} from './inventory-file.js';
