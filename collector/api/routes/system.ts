/** Health, status and "who am I". `/healthz` is public (load balancers, probes) and never touches secrets. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { caller } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { ErrorSchema } from '../errors.ts';
import { AUTH_ERRORS, HealthzSchema, MeSchema, StatusSchema } from '../schemas.ts';

/** Routes at the root: `/healthz`. */
export const healthRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/healthz',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        summary: 'Liveness and ingest figures (no authentication)',
        tags: ['operations'],
        security: [],
        response: { 200: HealthzSchema, 500: ErrorSchema },
      },
    },
    async () => {
      const ingest = ctx.ingestStatus?.() ?? null;
      return {
        status: ingest?.running === false ? ('degraded' as const) : ('ok' as const),
        store: ctx.store.backend,
        ingest,
      };
    },
  );
};

/** Routes under `/api/v1`: `/me`, `/status`. */
export const systemRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/me',
    {
      config: { access: ['province-admin', 'province-analyst', 'enterprise', 'assessor'] },
      schema: {
        summary: 'The calling token and the scope it grants',
        tags: ['auth'],
        response: { 200: MeSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { token, scope } = caller(request);
      return { token, scope: scope.kind === 'enterprises' ? { ...scope, enterprises: [...scope.enterprises] } : scope };
    },
  );

  app.get(
    '/status',
    {
      config: { access: ['province-admin'] },
      schema: {
        summary: 'Store size and counts, ingest details (whole deployment)',
        tags: ['operations'],
        response: { 200: StatusSchema, ...AUTH_ERRORS },
      },
    },
    async () => ({ store: await ctx.store.stats(), ingest: ctx.ingestStatus?.() ?? null }),
  );
};
