/**
 * Province-admin routes: the audit log and API tokens. Both are confined to the admin's province: an admin sees
 * audit entries about its enterprises or made by its tokens, and lists and revokes only tokens of its province.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditEntry, CollectorStore, PageResult, Scope } from '../../store/types.ts';
import { caller } from '../auth.ts';
import { type ApiContext, compact } from '../context.ts';
import { notFound } from '../errors.ts';
import {
  AUTH_ERRORS,
  AuditEntrySchema,
  AuditQuery,
  listOf,
  pageOf,
  SCOPED_ERRORS,
  TokenCreatedSchema,
  TokenCreateSchema,
  TokenIdParams,
  TokenSchema,
} from '../schemas.ts';
import { issueToken, tokenManagedBy } from '../tokens.ts';

const ADMIN = ['province-admin'] as const;
/** Store pages read at most to fill one page of a province's audit entries. */
const MAX_AUDIT_PAGES = 20;

/**
 * The audit entries a scope may read. The store's audit log is not scoped, so entries are filtered here: those about
 * an enterprise in the scope (whoever acted, so a province sees who probed its enterprises), and those about no
 * enterprise made by a token the scope manages. An entry about an enterprise outside the scope stays hidden even
 * when one of the scope's tokens made it: it would name that enterprise. Pages are refilled from the store until full; a
 * page may still come back short (with a cursor) when the log is dominated by other provinces.
 */
async function visibleAudit(
  store: CollectorStore,
  scope: Scope,
  query: { enterprise?: string; action?: string; limit?: number; cursor?: string },
): Promise<PageResult<AuditEntry>> {
  const filter = compact({ enterpriseId: query.enterprise, action: query.action });
  if (scope.kind === 'all') return store.listAudit(compact({ limit: query.limit, cursor: query.cursor }), filter);
  const enterprises = new Set((await store.listEnterprises(scope)).map((e) => e.id));
  if (query.enterprise !== undefined && !enterprises.has(query.enterprise)) return { items: [], nextCursor: null };
  const tokens = new Set((await store.listTokens()).filter((t) => tokenManagedBy(t, scope)).map((t) => t.id));
  const limit = query.limit ?? 100;
  const items: AuditEntry[] = [];
  let cursor = query.cursor;
  for (let pages = 0; pages < MAX_AUDIT_PAGES && items.length < limit; pages++) {
    const page = await store.listAudit(compact({ limit: limit - items.length, cursor }), filter);
    for (const e of page.items) {
      if (e.enterpriseId !== null ? enterprises.has(e.enterpriseId) : tokens.has(e.tokenId)) items.push(e);
    }
    if (page.nextCursor === null) return { items, nextCursor: null };
    cursor = page.nextCursor;
  }
  return { items, nextCursor: cursor ?? null };
}

export const adminRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get(
    '/audit',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Audit log of your province: inventory pulls, registry and token changes (newest first)',
        tags: ['admin'],
        querystring: AuditQuery,
        response: { 200: pageOf(AuditEntrySchema), ...AUTH_ERRORS },
      },
    },
    async (request) => visibleAudit(store, caller(request).scope, request.query),
  );

  app.post(
    '/tokens',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Issue a token (the secret is in this response only)',
        tags: ['admin'],
        body: TokenCreateSchema,
        response: { 201: TokenCreatedSchema, ...SCOPED_ERRORS },
      },
    },
    async (request, reply) => {
      const { token: issuer, scope } = caller(request);
      const created = await issueToken(store, compact(request.body) as Parameters<typeof issueToken>[1], scope);
      await store.appendAudit({
        tokenId: issuer.id,
        role: issuer.role,
        action: 'token.create',
        enterpriseId: created.token.enterprises.length === 1 ? (created.token.enterprises[0] ?? null) : null,
        detail: { token: created.token.id, role: created.token.role },
      });
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/tokens',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Tokens of your province (never their secrets)',
        tags: ['admin'],
        response: { 200: listOf(TokenSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      return { items: (await store.listTokens()).filter((t) => tokenManagedBy(t, scope)) };
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Revoke a token of your province',
        tags: ['admin'],
        params: TokenIdParams,
        response: { 200: TokenSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { token: issuer, scope } = caller(request);
      const target = (await store.listTokens()).find((t) => t.id === request.params.id && tokenManagedBy(t, scope));
      if (!target || target.revokedAt !== null) throw notFound('token');
      await store.revokeToken(target.id);
      await store.appendAudit({
        tokenId: issuer.id,
        role: issuer.role,
        action: 'token.revoke',
        enterpriseId: null,
        detail: { token: target.id },
      });
      const after = (await store.listTokens()).find((t) => t.id === target.id);
      return after ?? { ...target, revokedAt: new Date().toISOString() };
    },
  );
};
