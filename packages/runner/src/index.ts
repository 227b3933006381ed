export { builtinActions } from './actions.js';
export {
  loadCatalog,
  loadOneRunbook,
  loadRunbookFor,
  readVersionHistory,
  resolveRunbookDir,
  type VersionEntry,
} from './catalog.js';
