/** Public entry points of the asset inventory (see docs/inventory.md). */
export { type Advisory, AdvisoryMatcher, loadAdvisories, validateAdvisoryFile } from './advisories.ts';
export { compareIps, InventoryBuilder, type InventoryOptions } from './builder.ts';
export { inventoryToCsv } from './csv.ts';
export { lookupMacVendor } from './oui.ts';
export { inferRoles } from './roles.ts';
export { InventorySink } from './sink.ts';
export type * from './types.ts';
