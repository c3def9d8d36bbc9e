/**
 * `POST /alerts/:uid/resolve`: an enterprise resolves its own alerts, a province admin any alert of its province.
 * The first resolution stands (who, when, note); `GET /alerts/:uid` shows it and `unresolved` filters the store.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { caller, isEmptyScope } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { AlertSchema, SCOPED_ERRORS, UidParams } from '../schemas.ts';

export const alertResolutionRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { store } = ctx;
  app.post(
    '/alerts/:uid/resolve',
    {
      config: { access: ['enterprise', 'province-admin'] },
      schema: {
        summary: 'Resolve an alert (yours as an enterprise; any of your province as its admin)',
        description: 'Idempotent: resolving a resolved alert returns it with its first resolution unchanged.',
        tags: ['alerts'],
        params: UidParams,
        body: Type.Object({ note: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }),
        response: { 200: AlertSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope, token } = caller(request);
      const alert = isEmptyScope(scope)
        ? null
        : await store.resolveAlert(scope, request.params.uid, `${token.label}#${token.id}`, request.body.note);
      if (alert === null) throw notFound('alert');
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'alert.resolve',
        enterpriseId: alert.enterpriseId,
        detail: { alert: alert.uid, rule: alert.ruleId },
      });
      return alert;
    },
  );
};
