/**
 * The enterprise registry and each enterprise's inventory. Every route with an enterprise id in its path looks the
 * enterprise up inside the caller's scope first and answers 404 when it is not there, whether it does not exist or
 * belongs to someone else: the two are indistinguishable to the caller.
 *
 * Every inventory pull (assets, asset changes) is written to the audit log before the response is sent, and a pull
 * the scope refused is audited too; if the audit write fails the inventory is not returned.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { Enterprise } from '../../store/types.ts';
import { caller, isEmptyScope } from '../auth.ts';
import { type ApiContext, compact, enterpriseOut } from '../context.ts';
import { type EnterpriseInput, parseEnterpriseClass, parseEnterpriseCsv, parseGrade } from '../enterprise-import.ts';
import { ApiError, type ErrorDetail, ErrorSchema, notFound } from '../errors.ts';
import {
  AssetChangeSchema,
  AssetListSchema,
  AUTH_ERRORS,
  EnterpriseCreateSchema,
  EnterpriseListQuery,
  EnterpriseSchema,
  EnterpriseUpdateSchema,
  IdParams,
  ImportResultSchema,
  listOf,
  PageQuery,
  pageOf,
  SCOPED_ERRORS,
} from '../schemas.ts';

const ALL_ROLES = ['province-admin', 'province-analyst', 'enterprise', 'assessor'] as const;
const ADMIN = ['province-admin'] as const;

type EnterpriseBody = Static<typeof EnterpriseUpdateSchema>;

/** Normalises a JSON body (class and grade may be zh-CN) into registry fields. */
function fromBody(id: string, body: EnterpriseBody): EnterpriseInput & { maintenanceWindows?: string[] } {
  const cls = parseEnterpriseClass(body.class);
  const grade = parseGrade(body.grade);
  // The schema already restricts both to known values; this only narrows the types.
  if (cls === null || grade === null) throw new ApiError(400, 'invalid_request', 'invalid class or grade');
  return {
    id,
    name: body.name,
    province: body.province,
    city: body.city,
    industry: body.industry,
    class: cls,
    grade,
    ...compact({ contacts: body.contacts, maintenanceWindows: body.maintenanceWindows }),
  };
}

/** The full registry record to store: fields not given keep their current value (or start empty). */
function merged(
  input: EnterpriseInput & { maintenanceWindows?: string[] },
  current: Enterprise | null,
): Omit<Enterprise, 'createdAt' | 'updatedAt'> {
  return {
    id: input.id,
    name: input.name,
    province: input.province,
    city: input.city,
    industry: input.industry,
    class: input.class,
    grade: input.grade,
    contacts: input.contacts ?? current?.contacts ?? [],
    maintenanceWindows: input.maintenanceWindows ?? current?.maintenanceWindows ?? [],
  };
}

/** A province admin manages enterprises of its own province only. */
function requireOwnProvince(scopeProvince: string | null, province: string, path: string): void {
  if (scopeProvince !== null && scopeProvince !== province) {
    throw new ApiError(403, 'forbidden', `you may only manage enterprises of province ${scopeProvince}`, [
      { path, message: `is not ${scopeProvince}` },
    ]);
  }
}

export const enterpriseRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { store } = ctx;

  // CSV bodies only reach the import route (other routes' schemas refuse a string body).
  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: ctx.importBodyLimit },
    (_r, b, done) => done(null, b),
  );

  app.get(
    '/enterprises',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Enterprises in your scope',
        tags: ['registry'],
        querystring: EnterpriseListQuery,
        response: { 200: listOf(EnterpriseSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      if (isEmptyScope(scope)) return { items: [] };
      const items = await store.listEnterprises(scope, compact(request.query));
      return { items: items.map(enterpriseOut) };
    },
  );

  app.get(
    '/enterprises/:id',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'One enterprise (404 when outside your scope)',
        tags: ['registry'],
        params: IdParams,
        response: { 200: EnterpriseSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const enterprise = await store.getEnterprise(request.params.id, scope);
      if (!enterprise) throw notFound('enterprise');
      return enterpriseOut(enterprise);
    },
  );

  app.post(
    '/enterprises',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Register an enterprise in your province',
        tags: ['registry'],
        body: EnterpriseCreateSchema,
        response: { 201: EnterpriseSchema, ...SCOPED_ERRORS, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { token, scope } = caller(request);
      const { id, ...rest } = request.body;
      const input = fromBody(id, rest);
      requireOwnProvince(scope.kind === 'province' ? scope.province : null, input.province, 'body/province');
      // Ids are subject tokens, unique across the deployment: refused whoever holds it (same answer either way).
      if (await store.getEnterprise(id, { kind: 'all' })) {
        throw new ApiError(409, 'conflict', `enterprise id ${id} is already registered (PUT updates an enterprise)`);
      }
      const saved = await store.upsertEnterprise(merged(input, null));
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'enterprise.create',
        enterpriseId: id,
        detail: {},
      });
      return reply.status(201).send(enterpriseOut(saved));
    },
  );

  app.put(
    '/enterprises/:id',
    {
      config: { access: ADMIN },
      schema: {
        summary: 'Update an enterprise of your province (omitted contacts/maintenanceWindows are kept)',
        tags: ['registry'],
        params: IdParams,
        body: EnterpriseUpdateSchema,
        response: { 200: EnterpriseSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { token, scope } = caller(request);
      const current = await store.getEnterprise(request.params.id, scope);
      if (!current) throw notFound('enterprise');
      const input = fromBody(request.params.id, request.body);
      requireOwnProvince(scope.kind === 'province' ? scope.province : null, input.province, 'body/province');
      const saved = await store.upsertEnterprise(merged(input, current));
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'enterprise.update',
        enterpriseId: current.id,
        detail: {},
      });
      return enterpriseOut(saved);
    },
  );

  app.post(
    '/enterprises/import',
    {
      config: { access: ADMIN },
      bodyLimit: ctx.importBodyLimit,
      schema: {
        summary: 'Import enterprises from CSV (text/csv, UTF-8); all rows or none',
        description:
          'Columns: id,name,province,city,industry,class,grade,contact_name,contact_phone,contact_email (header ' +
          'line required, any order, contact_* optional). class: networked_industrial | platform | ' +
          'identifier_resolution or 联网工业企业 | 平台企业 | 标识解析企业; grade: 1 | 2 | 3 or 一级 | 二级 | 三级. ' +
          'Existing enterprises are updated (their maintenance windows kept, contacts kept when the row has none). ' +
          'Any error rejects the whole file with every problem listed in error.details as "line N/column".',
        tags: ['registry'],
        consumes: ['text/csv'],
        body: { type: 'string', description: 'CSV text' },
        response: { 200: ImportResultSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { token, scope } = caller(request);
      const text = request.body as unknown;
      if (typeof text !== 'string') throw new ApiError(415, 'unsupported_media_type', 'send the file as text/csv');
      const parsed = parseEnterpriseCsv(text);
      const errors: ErrorDetail[] = [...parsed.errors];
      const existing = new Map((await store.listEnterprises({ kind: 'all' })).map((e) => [e.id, e]));
      const ownProvince = scope.kind === 'province' ? scope.province : null;
      for (const { line, enterprise } of parsed.rows) {
        if (ownProvince !== null && enterprise.province !== ownProvince) {
          errors.push({ path: `line ${line}/province`, message: `you may only import enterprises of ${ownProvince}` });
          continue;
        }
        const current = existing.get(enterprise.id);
        // Same message whether another province holds the id or not: nothing about it leaks.
        if (current && ownProvince !== null && current.province !== ownProvince) {
          errors.push({ path: `line ${line}/id`, message: `enterprise id ${enterprise.id} is already in use` });
        }
      }
      if (errors.length > 0) {
        errors.sort((a, b) => lineOf(a.path) - lineOf(b.path));
        throw new ApiError(
          400,
          'invalid_csv',
          `${errors.length} problem(s) in the file; nothing was imported`,
          errors.slice(0, 500),
        );
      }
      let created = 0;
      let updated = 0;
      for (const { enterprise } of parsed.rows) {
        const current = existing.get(enterprise.id) ?? null;
        await store.upsertEnterprise(merged(enterprise, current));
        if (current) updated++;
        else created++;
      }
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'enterprise.import',
        enterpriseId: null,
        detail: { rows: parsed.rows.length, created, updated },
      });
      return { rows: parsed.rows.length, created, updated };
    },
  );

  app.get(
    '/enterprises/:id/assets',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Asset inventory of an enterprise, with evidence (every pull is audited)',
        tags: ['inventory'],
        params: IdParams,
        response: { 200: AssetListSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { token, scope } = caller(request);
      const id = request.params.id;
      const enterprise = await store.getEnterprise(id, scope);
      if (!enterprise) {
        await store.appendAudit({
          tokenId: token.id,
          role: token.role,
          action: 'inventory.denied',
          enterpriseId: id,
          detail: {},
        });
        throw notFound('enterprise');
      }
      const items = await store.listAssets(scope, id);
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'inventory.pull',
        enterpriseId: id,
        detail: { assets: items.length },
      });
      return { enterpriseId: id, items };
    },
  );

  app.get(
    '/enterprises/:id/asset-changes',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Asset changes of an enterprise, newest first (audited like the inventory)',
        tags: ['inventory'],
        params: IdParams,
        querystring: PageQuery,
        response: { 200: pageOf(AssetChangeSchema), ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { token, scope } = caller(request);
      const id = request.params.id;
      const enterprise = await store.getEnterprise(id, scope);
      if (!enterprise) {
        await store.appendAudit({
          tokenId: token.id,
          role: token.role,
          action: 'inventory.denied',
          enterpriseId: id,
          detail: { changes: true },
        });
        throw notFound('enterprise');
      }
      const page = await store.listAssetChanges(scope, id, compact(request.query));
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'inventory.changes',
        enterpriseId: id,
        detail: { changes: page.items.length },
      });
      return page;
    },
  );
};

function lineOf(path: string): number {
  const m = /^line (\d+)/.exec(path);
  return m?.[1] ? Number(m[1]) : 0;
}
