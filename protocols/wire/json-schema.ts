/** The wire schemas as standalone JSON Schema documents (draft 2020-12 compatible), keyed by message kind. */
import { MESSAGE_KINDS, MESSAGE_SCHEMAS, type MessageKind, WIRE_VERSION } from './messages.ts';

export function wireSchemaDocuments(): Record<MessageKind, string> {
  const out = {} as Record<MessageKind, string>;
  for (const kind of MESSAGE_KINDS) {
    const doc = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: `https://otwatch.invalid/wire/v${WIRE_VERSION}/${kind}.schema.json`,
      title: `otwatch wire v${WIRE_VERSION}: ${kind} batch`,
      // JSON.stringify drops TypeBox's symbol-keyed metadata: what remains is plain JSON Schema.
      ...JSON.parse(JSON.stringify(MESSAGE_SCHEMAS[kind])),
    };
    out[kind] = `${JSON.stringify(doc, null, 2)}\n`;
  }
  return out;
}
