/**
 * Validation of a received wire message: subject, size, JSON, schema, and that the identity inside agrees with the
 * subject it arrived on. Pure (no I/O): the collector's ingest and the tests share it. Every rejection has a reason
 * code so the consumer can count them per reason without logging message content.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import {
  MAX_MESSAGE_BYTES,
  MESSAGE_KINDS,
  MESSAGE_SCHEMAS,
  type MessageKind,
  parseSubject,
  type SensorIdentity,
  type WireMessage,
} from './messages.ts';
import { splitItems } from './split-items.ts';

export const REJECT_REASONS = [
  'bad_subject',
  'too_large',
  'not_json',
  'bad_version',
  'schema',
  'kind_mismatch',
  'identity_mismatch',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type ValidationResult =
  | {
      ok: true;
      message: WireMessage;
      subject: SensorIdentity & { kind: MessageKind };
      /**
       * Each item's bytes as the sensor sent them (UTF-8 JSON, views into the message's bytes, index for index with
       * `message.items`), when the message was parsed item by item; null when it took the whole-message path.
       * Stores keep them instead of serialising the parsed items again.
       */
      itemBytes: Uint8Array[] | null;
    }
  | { ok: false; reason: RejectReason; detail: string; subject: (SensorIdentity & { kind: MessageKind }) | null };

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = Object.fromEntries(
  MESSAGE_KINDS.map((kind) => [kind, ajv.compile(MESSAGE_SCHEMAS[kind])]),
) as Record<MessageKind, ValidateFunction>;

const decoder = new TextDecoder('utf-8', { fatal: true });
// Parts of a message are decoded with the byte-order mark kept: stripped, a BOM inside the message (which makes it
// invalid JSON) would be accepted by the part-wise parse.
const partDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a message item by item (see split-items.ts for why), or returns null when it cannot be split or a part
 * does not parse: the caller then parses it whole, which accepts exactly the same inputs with the same values and
 * reports the error.
 */
export function parseByItems(data: Uint8Array): { parsed: Record<string, unknown>; spans: Uint8Array[] } | null {
  const split = splitItems(data);
  if (split === null) return null;
  try {
    const header = JSON.parse(
      `${partDecoder.decode(data.subarray(0, split.arrayStart))}[]${partDecoder.decode(data.subarray(split.arrayEnd))}`,
    ) as Record<string, unknown>;
    const count = split.items.length / 2;
    const spans: Uint8Array[] = new Array(count);
    const items: unknown[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const span = data.subarray(split.items[2 * k], split.items[2 * k + 1]);
      spans[k] = span;
      items[k] = JSON.parse(partDecoder.decode(span));
    }
    header.items = items;
    return { parsed: header, spans };
  } catch {
    return null;
  }
}

export function validateMessage(subjectText: string, data: Uint8Array, maxBytes = MAX_MESSAGE_BYTES): ValidationResult {
  const subject = parseSubject(subjectText);
  if (subject === null) return reject('bad_subject', `'${subjectText.slice(0, 200)}' is not ot.v1.<p>.<e>.<s>.<kind>`);
  if (data.byteLength > maxBytes) return reject('too_large', `${data.byteLength} bytes > ${maxBytes}`, subject);
  let parsed: unknown;
  const byItems = parseByItems(data);
  if (byItems !== null) parsed = byItems.parsed;
  else {
    try {
      parsed = JSON.parse(decoder.decode(data));
    } catch (err) {
      return reject('not_json', (err as Error).message.slice(0, 200), subject);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject('schema', 'message is not a JSON object', subject);
  }
  const v = (parsed as { v?: unknown }).v;
  if (v !== 1) return reject('bad_version', `unsupported wire version ${JSON.stringify(v)?.slice(0, 20)}`, subject);
  const kind = (parsed as { kind?: unknown }).kind;
  if (kind !== subject.kind) {
    return reject('kind_mismatch', `kind ${JSON.stringify(kind)?.slice(0, 40)} on a ${subject.kind} subject`, subject);
  }
  const validate = validators[subject.kind];
  if (!validate(parsed)) {
    const first = validate.errors?.[0];
    const where = first ? `${first.instancePath || '/'} ${first.message ?? ''}` : 'invalid';
    return reject('schema', where.slice(0, 300), subject);
  }
  const message = parsed as WireMessage;
  for (const field of ['province', 'enterprise', 'sensor'] as const) {
    if (message[field] !== subject[field]) {
      return reject('identity_mismatch', `${field} '${message[field]}' differs from the subject's`, subject);
    }
  }
  // Events inside name their sensor too: one sensor may not speak for another through its own subject.
  const foreign = foreignSensor(message, subject.sensor);
  if (foreign !== null) return reject('identity_mismatch', `an item names sensor '${foreign}'`, subject);
  return { ok: true, message, subject, itemBytes: byItems?.spans ?? null };
}

function reject(
  reason: RejectReason,
  detail: string,
  subject: (SensorIdentity & { kind: MessageKind }) | null = null,
): ValidationResult {
  return { ok: false, reason, detail, subject };
}

function foreignSensor(message: WireMessage, sensor: string): string | null {
  if (message.kind === 'alert') {
    for (const item of message.items) if (item.sensor !== sensor) return item.sensor;
  } else if (message.kind === 'asset') {
    for (const item of message.items) {
      for (const change of item.changes) if (change.sensor !== sensor) return change.sensor;
    }
  }
  return null;
}
