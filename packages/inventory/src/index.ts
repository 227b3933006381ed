export { type Connection, connectionOf } from './connection-of.js';
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
