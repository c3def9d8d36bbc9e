/**
 * Writes the JSON Schema document of every wire message kind to docs/wire-schemas/<kind>.schema.json, from the TypeBox
 * schemas in protocols/wire/messages.ts (the single source). protocols/wire/messages.test.ts fails when the files
 * are stale, so run this after changing the contract:  node bin/run-ts.js scripts/export-wire-schemas.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { wireSchemaDocuments } from '../protocols/wire/json-schema.ts';

const dir = join(import.meta.dirname, '../docs/wire-schemas');
for (const [kind, text] of Object.entries(wireSchemaDocuments())) {
  writeFileSync(join(dir, `${kind}.schema.json`), text);
}
process.stdout.write(`wrote ${dir}\n`);
