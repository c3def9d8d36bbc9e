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
  | { ok: true; message: WireMessage; subject: SensorIdentity & { kind: MessageKind } }
  | { ok: false; reason: RejectReason; detail: string; subject: (SensorIdentity & { kind: MessageKind }) | null };

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = Object.fromEntries(
  MESSAGE_KINDS.map((kind) => [kind, ajv.compile(MESSAGE_SCHEMAS[kind])]),
) as Record<MessageKind, ValidateFunction>;

const decoder = new TextDecoder('utf-8', { fatal: true });

export function validateMessage(subjectText: string, data: Uint8Array, maxBytes = MAX_MESSAGE_BYTES): ValidationResult {
  const subject = parseSubject(subjectText);
  if (subject === null) return reject('bad_subject', `'${subjectText.slice(0, 200)}' is not ot.v1.<p>.<e>.<s>.<kind>`);
  if (data.byteLength > maxBytes) return reject('too_large', `${data.byteLength} bytes > ${maxBytes}`, subject);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    return reject('not_json', (err as Error).message.slice(0, 200), subject);
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
  return { ok: true, message, subject };
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
