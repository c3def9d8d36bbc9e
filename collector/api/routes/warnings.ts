/**
 * Risk warnings (预警, docs/warnings.md): list and read in scope (an enterprise sees the warnings it is a target
 * of, and of a warning to several enterprises only its own part; a province role its province's), acknowledge (an
 * enterprise, for itself), close (the province admin).
 * Acknowledgements and closes are audited and published like issues (NATS, webhooks).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type Scope, WARNING_LEVEL_ZH, WARNING_LEVELS, WARNING_STATES, type WarningRecord } from '../../store/types.ts';
import type { WarningEventSink } from '../../warnings/evaluator.ts';
import { warningVisibleTo } from '../../warnings/visible.ts';
import { caller, isEmptyScope } from '../auth.ts';
import { type ApiContext, checkRange, compact } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';
import { AUTH_ERRORS, SCOPED_ERRORS } from '../schemas.ts';

export interface WarningRouteOptions extends ApiContext {
  onWarningEvent?: WarningEventSink | undefined;
}

const ALL_ROLES = ['province-admin', 'province-analyst', 'enterprise', 'assessor'] as const;
const Enum = <T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });
const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);
const Open = (description: string) => Type.Unknown({ description });

export const WarningSchema = Type.Object({
  id: Type.String(),
  dedupeKey: Type.String(),
  ruleId: Type.String(),
  title: Type.Object({ zh: Type.String(), en: Type.String() }),
  description: Type.String(),
  level: Enum(WARNING_LEVELS),
  levelZh: Type.String({ description: '蓝色 / 黄色 / 橙色 / 红色' }),
  province: Type.String(),
  audience: Open('{province, cities?, industries?, enterprises?}'),
  targets: Type.Array(
    Type.Object({
      enterpriseId: Type.String(),
      ackAt: Nullable(Type.String()),
      ackBy: Nullable(Type.String()),
      ackNote: Nullable(Type.String()),
    }),
  ),
  facts: Open('The facts that triggered the warning (kind, enterpriseId, text, textZh, evidence, data)'),
  issuedAt: Type.String(),
  issuedBy: Type.String(),
  state: Enum(WARNING_STATES),
  closedAt: Nullable(Type.String()),
  closedBy: Nullable(Type.String()),
  closeNote: Nullable(Type.String()),
  drill: Type.Boolean(),
});

const IdParams = Type.Object({ id: Type.String({ minLength: 36, maxLength: 36, pattern: '^[0-9a-fA-F-]+$' }) });
const NoteBody = (required: boolean) =>
  Type.Object(
    required
      ? { note: Type.String({ minLength: 1, maxLength: 2000 }) }
      : { note: Type.Optional(Type.String({ maxLength: 2000 })) },
    { additionalProperties: false },
  );

/** The warning as the caller may see it (warningVisibleTo: an enterprise sees nothing of another). */
function out(w: WarningRecord, scope: Scope) {
  return { ...warningVisibleTo(w, scope), levelZh: WARNING_LEVEL_ZH[w.level] };
}

export const warningRoutes: FastifyPluginAsyncTypebox<WarningRouteOptions> = async (app, ctx) => {
  const { store } = ctx;

  app.get(
    '/warnings',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Warnings in your scope, newest first (drills excluded unless includeDrill or drillOnly)',
        tags: ['warnings'],
        querystring: Type.Object(
          {
            state: Type.Optional(Enum(WARNING_STATES)),
            level: Type.Optional(Enum(WARNING_LEVELS)),
            rule: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            includeDrill: Type.Optional(Type.Boolean()),
            drillOnly: Type.Optional(Type.Boolean()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(WarningSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const q = request.query;
      checkRange(q.from, q.to);
      if (isEmptyScope(scope)) return { items: [], nextCursor: null };
      const page = await store.listWarnings(
        scope,
        compact({
          state: q.state,
          level: q.level,
          ruleId: q.rule,
          from: q.from,
          to: q.to,
          includeDrill: q.includeDrill,
          drillOnly: q.drillOnly,
        }),
        compact({ limit: q.limit, cursor: q.cursor }),
      );
      return { items: page.items.map((w) => out(w, scope)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/warnings/:id',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'One warning with its facts, targets and acknowledgements (404 outside your scope)',
        tags: ['warnings'],
        params: IdParams,
        response: { 200: WarningSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const w = isEmptyScope(scope) ? null : await store.getWarning(scope, request.params.id);
      if (w === null) throw notFound('warning');
      return out(w, scope);
    },
  );

  app.post(
    '/warnings/:id/ack',
    {
      config: { access: ['enterprise'] },
      schema: {
        summary: 'Acknowledge a warning for your enterprise (the first acknowledgement stands)',
        description: 'The warning becomes acknowledged once every target enterprise has acknowledged it.',
        tags: ['warnings'],
        params: IdParams,
        body: Type.Optional(NoteBody(false)),
        response: { 200: WarningSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope, token } = caller(request);
      const [own] = token.enterprises;
      if (own === undefined) throw notFound('warning');
      const before = await store.getWarning(scope, request.params.id);
      if (before === null) throw notFound('warning');
      const by = `${token.label}#${token.id}`;
      const w = await store.ackWarning(scope, request.params.id, own, by, request.body?.note);
      if (w === null) throw notFound('warning');
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'warning.ack',
        enterpriseId: own,
        detail: { warning: w.id, rule: w.ruleId, state: w.state },
      });
      const target = before.targets.find((t) => t.enterpriseId === own);
      if (target !== undefined && target.ackAt === null) {
        ctx.onWarningEvent?.({ type: 'warning.acknowledged', at: new Date().toISOString(), warning: w });
      }
      return out(w, scope);
    },
  );

  app.post(
    '/warnings/:id/close',
    {
      config: { access: ['province-admin'] },
      schema: {
        summary: 'Close a warning of your province (with a note)',
        tags: ['warnings'],
        params: IdParams,
        body: NoteBody(true),
        response: { 200: WarningSchema, ...SCOPED_ERRORS, 409: SCOPED_ERRORS[404] },
      },
    },
    async (request) => {
      const { scope, token } = caller(request);
      const before = await store.getWarning(scope, request.params.id);
      if (before === null) throw notFound('warning');
      if (before.state === 'closed')
        throw new ApiError(409, 'conflict', `warning already closed at ${before.closedAt}`);
      const w = await store.closeWarning(scope, request.params.id, `${token.label}#${token.id}`, request.body.note);
      if (w === null) throw notFound('warning');
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'warning.close',
        enterpriseId: null,
        detail: { warning: w.id, rule: w.ruleId },
      });
      ctx.onWarningEvent?.({ type: 'warning.closed', at: w.closedAt ?? new Date().toISOString(), warning: w });
      return out(w, scope);
    },
  );
};
