export { builtinActions } from './actions.js';
export {
  type VersionEntry,
  loadCatalog,
  loadOneRunbook,
  loadRunbookFor,
  readVersionHistory,
  resolveRunbookDir,
} from './catalog.js';
