/**
 * Bearer-token authentication and role/scope authorisation.
 *
 * Authentication runs first on every request and never refuses by itself: it only resolves who the caller is, so
 * the rate limiter (next) can key by token id, and failed attempts are rate-limited by IP like any other request.
 * Authorisation runs after the limiter, in `preParsing`, so an unauthorised caller is refused before its body is
 * read. Each route declares `config.access`: `'public'` or the roles that may call it; the API plugin refuses to
 * register a route without one.
 *
 * Scope: what a token may see, applied by the store in SQL. A province admin or analyst sees its province, an
 * enterprise token its own enterprise, an assessor its assigned enterprises. Anything outside the scope answers
 * exactly as if it did not exist (404, or an empty list), so a caller cannot probe which enterprises exist.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiToken, CollectorStore, Role, Scope } from '../store/types.ts';
import { ApiError } from './errors.ts';

export const ROLES = [
  'province-admin',
  'province-analyst',
  'enterprise',
  'assessor',
] as const satisfies readonly Role[];

/** Who may call a route. */
export type Access = 'public' | readonly Role[];

export interface AuthContext {
  token: ApiToken;
  scope: Scope;
}

export type AuthFailure = 'missing' | 'malformed' | 'invalid';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, null when the request carries no valid token. */
    auth: AuthContext | null;
    authFailure: AuthFailure | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** Longest secret we look up (the store's secrets are far shorter); longer ones are refused unhashed. */
const MAX_SECRET_LENGTH = 512;
const BEARER = /^Bearer ([\x21-\x7e]+)$/i;

/**
 * The scope a token grants, or null when the token is inconsistent (a province role without a province, an
 * enterprise token without exactly one enterprise): such a token is refused rather than guessed at.
 */
export function scopeOf(token: ApiToken): Scope | null {
  switch (token.role) {
    case 'province-admin':
    case 'province-analyst':
      return token.province ? { kind: 'province', province: token.province } : null;
    case 'enterprise': {
      const [own] = token.enterprises;
      return own !== undefined && token.enterprises.length === 1 ? { kind: 'enterprises', enterprises: [own] } : null;
    }
    case 'assessor':
      return { kind: 'enterprises', enterprises: [...token.enterprises] };
    default:
      return null;
  }
}

/** True when the scope can see nothing at all (an assessor with no assignment): callers skip the store. */
export function isEmptyScope(scope: Scope): boolean {
  return scope.kind === 'enterprises' && scope.enterprises.length === 0;
}

/** Resolves the caller from `Authorization: Bearer <secret>`; records why when it cannot. */
export async function authenticate(store: CollectorStore, request: FastifyRequest): Promise<void> {
  request.auth = null;
  request.authFailure = null;
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    request.authFailure = 'missing';
    return;
  }
  const match = BEARER.exec(header);
  const secret = match?.[1];
  if (secret === undefined || secret.length > MAX_SECRET_LENGTH) {
    request.authFailure = 'malformed';
    return;
  }
  const token = await store.authenticate(secret);
  const scope = token ? scopeOf(token) : null;
  if (!token || !scope) {
    request.authFailure = 'invalid';
    return;
  }
  request.auth = { token, scope };
}

const FAILURE_MESSAGES: Record<AuthFailure, string> = {
  missing: 'missing Authorization: Bearer <token> header',
  malformed: 'Authorization header must be "Bearer <token>"',
  invalid: 'token is unknown or revoked',
};

/** Refuses the request unless the route is public or the caller holds one of its roles. */
export function authorize(request: FastifyRequest): void {
  const access = request.routeOptions.config.access;
  if (access === undefined || access === 'public') return;
  const auth = request.auth;
  if (!auth) throw new ApiError(401, 'unauthorized', FAILURE_MESSAGES[request.authFailure ?? 'missing']);
  if (!access.includes(auth.token.role)) {
    throw new ApiError(403, 'forbidden', `role ${auth.token.role} may not call this route`);
  }
}

/** The caller of an authenticated route (the authorisation hook has already refused anonymous calls). */
export function caller(request: FastifyRequest): AuthContext {
  if (!request.auth) throw new ApiError(401, 'unauthorized', FAILURE_MESSAGES.missing);
  return request.auth;
}

/** Rate-limit key: the token id when authenticated (one budget per token), else the client address. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.auth ? `token:${request.auth.token.id}` : `ip:${request.ip}`;
}

/** Whether an enterprise id is inside a scope (for checks the store cannot do in SQL, e.g. token requests). */
export function scopeAllows(scope: Scope, enterprise: { id: string; province: string }): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'province':
      return enterprise.province === scope.province;
    case 'enterprises':
      return scope.enterprises.includes(enterprise.id);
  }
}
