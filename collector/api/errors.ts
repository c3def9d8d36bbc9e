/**
 * One error shape for every non-2xx answer: `{ "error": { "code", "message", "details"? } }`. Client mistakes get a
 * stable machine code and a message that says what to fix; server faults get a generic message and are logged in
 * full server-side only, so no stack, SQL or file path ever reaches a caller.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export const ErrorDetailSchema = Type.Object({
  /** Where the problem is: `querystring/limit`, `body/grade`, `line 7/class`. */
  path: Type.String(),
  message: Type.String(),
});

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. invalid_request, unauthorized, not_found' }),
      message: Type.String(),
      details: Type.Optional(Type.Array(ErrorDetailSchema)),
    }),
  },
  { $id: 'Error', title: 'Error' },
);

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error whose status, code and message are meant for the caller (thrown by routes and hooks). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', `${what} not found`);

/** Fastify's own 4xx error codes, mapped to ours with a message that does not echo parser internals. */
const FASTIFY_CLIENT_ERRORS: Record<string, { code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'body_too_large', message: 'request body is larger than this route accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_request', message: 'content-length does not match the body' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_request', message: 'body is empty but content-type is JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', message: 'body is not valid JSON' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'unsupported_media_type', message: 'content-type header is empty' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'unsupported_media_type' },
  FST_ERR_BAD_URL: { code: 'invalid_request', message: 'malformed URL' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'invalid_request' },
};

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { allowedValues?: unknown[]; additionalProperty?: string };
}

/** A validation message that says what would have been accepted. */
function describe(v: AjvError): string {
  if (v.keyword === 'enum' && Array.isArray(v.params?.allowedValues)) {
    return `must be one of: ${v.params.allowedValues.map(String).join(', ')}`;
  }
  if (v.keyword === 'additionalProperties' && v.params?.additionalProperty !== undefined) {
    return `has unknown field '${v.params.additionalProperty.slice(0, 64)}'`;
  }
  return v.message ?? 'is invalid';
}

interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
}

function body(code: string, message: string, details?: ErrorDetail[]): ErrorBody {
  return { error: details && details.length > 0 ? { code, message, details } : { code, message } };
}

/** Turns anything thrown in a hook or handler into the status and body the caller sees. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof ApiError) {
    return { status: err.statusCode, body: body(err.code, err.message, err.details), internal: false };
  }
  // The store's caller-mistake errors (collector/store/errors.ts), recognised by name: they cross the SQLite
  // writer's worker boundary. Input errors quote only what the caller sent; registry conflicts may name another
  // enterprise, so their message is replaced.
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'StoreInputError') {
    return { status: 400, body: body('invalid_request', (err as Error).message), internal: false };
  }
  if (name === 'RegistryConflictError') {
    return {
      status: 409,
      body: body('conflict', 'the registry refused the change: an id is already in use'),
      internal: false,
    };
  }
  const e = err as Partial<FastifyError> & { validation?: AjvError[] };
  if (Array.isArray(e.validation)) {
    const context = typeof e.validationContext === 'string' ? e.validationContext : 'request';
    const details: ErrorDetail[] = [];
    for (const v of e.validation) {
      const detail = { path: `${context}${v.instancePath ?? ''}`, message: describe(v) };
      if (!details.some((d) => d.path === detail.path && d.message === detail.message)) details.push(detail);
    }
    const message = details.map((d) => `${d.path} ${d.message}`).join('; ');
    return { status: 400, body: body('invalid_request', message || 'invalid request', details), internal: false };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const known = typeof e.code === 'string' ? FASTIFY_CLIENT_ERRORS[e.code] : undefined;
    // Only Fastify's own client errors carry a message we can vouch for; anything else gets a generic one.
    const message = known?.message ?? (known ? (e.message ?? 'invalid request') : 'invalid request');
    return { status, body: body(known?.code ?? 'invalid_request', message), internal: false };
  }
  return { status: 500, body: body('internal', 'internal server error'), internal: true };
}

/** The app's error handler: logs server faults with their stack (server-side), answers with the shared shape. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body: payload, internal } = toErrorResponse(err);
  if (internal) request.log.error({ err }, 'request failed');
  else request.log.info({ status, code: payload.error.code }, 'request refused');
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  void reply.status(status).send(payload);
}
