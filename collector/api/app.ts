/**
 * The collector's HTTP API as a Fastify app (built, not listening: `otcollector serve` listens, tests `inject`).
 *
 * Request lifecycle: authenticate (resolve the bearer token, never refuse) → rate limit (per token, or per client
 * address when anonymous) → authorise (`preParsing`: the route's roles, before the body is read) → validate
 * (TypeBox schemas, unknown fields refused) → handler (scope applied by the store) → serialise (response schemas:
 * fields not in them never leave). Every error leaves as `{error: {code, message, details?}}`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RiskEngine } from '../risk/engine.ts';
import type { CollectorStore } from '../store/types.ts';
import type { WarningEventSink } from '../warnings/evaluator.ts';
import { authenticate, authorize, rateLimitKey } from './auth.ts';
import type { ApiContext, IngestStatus } from './context.ts';
import { ApiError, handleError } from './errors.ts';
import { adminRoutes } from './routes/admin.ts';
import { alertResolutionRoutes } from './routes/alert-resolution.ts';
import { alertRoutes } from './routes/alerts.ts';
import { bulletinRoutes } from './routes/bulletins.ts';
import { enterpriseRoutes } from './routes/enterprises.ts';
import { evidencePackRoutes } from './routes/evidence-packs.ts';
import { riskRoutes } from './routes/risk.ts';
import { sensorRoutes } from './routes/sensors.ts';
import { healthRoutes, systemRoutes } from './routes/system.ts';
import { warningRoutes } from './routes/warnings.ts';

export type { IngestStatus } from './context.ts';

export const API_PREFIX = '/api/v1';

export interface BuildApiOptions {
  store: CollectorStore;
  /** Current ingest figures for `/healthz` and `/api/v1/status` (absent on an API-only instance). */
  ingestStatus?: () => IngestStatus;
  /** Requests per token (or per client address when anonymous) per window; default 600 per minute. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Fastify/pino logger: false (default), true, or pino options. The Authorization header is always redacted. */
  logger?: boolean | Record<string, unknown>;
  /** Largest JSON body in bytes (default 256 KiB). */
  bodyLimit?: number;
  /** Largest CSV import in bytes (default 8 MiB). */
  importBodyLimit?: number;
  /** Passed to Fastify: trust X-Forwarded-For from a reverse proxy (the client address keys the rate limit). */
  trustProxy?: boolean | string | string[];
  /**
   * The collector's state dir: signing key for evidence packs, stored bulletins (packs/state.ts). Default: a fresh
   * temporary directory (an API built without one, e.g. in tests, signs with a throwaway key).
   */
  stateDir?: string;
  /** Scores enterprises that have no stored score yet (`GET /risk/:enterprise`). */
  risk?: RiskEngine;
  /** Receives warning acknowledgements and closes made through the API (NATS, webhooks). */
  onWarningEvent?: WarningEventSink;
  /**
   * Registered on the root app after the API routes and before it is ready (Fastify refuses routes after that):
   * the web dashboard (`registerWeb`) comes in this way, sharing the API's auth hooks and error shape.
   */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/** Paths pino must never print (secrets): the bearer header wherever a serializer puts it. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'req.raw.headers.authorization',
  'req.raw.rawHeaders',
  'res.body.secret',
];

function loggerOption(logger: BuildApiOptions['logger']): false | Record<string, unknown> {
  if (!logger) return false;
  const base = logger === true ? {} : logger;
  return { level: 'info', ...base, redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' } };
}

export async function buildApi(options: BuildApiOptions): Promise<FastifyInstance> {
  const ctx: ApiContext = {
    store: options.store,
    ingestStatus: options.ingestStatus,
    importBodyLimit: options.importBodyLimit ?? 8 * 1024 * 1024,
  };
  const app = Fastify({
    logger: loggerOption(options.logger),
    bodyLimit: options.bodyLimit ?? 256 * 1024,
    trustProxy: options.trustProxy ?? false,
    // Refuse unknown fields instead of silently dropping them (Fastify's default), so a typo is a 400, not ignored.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('auth', null);
  app.decorateRequest('authFailure', null);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'otwatch collector API',
        version: '1',
        description:
          'Scoped access to alerts, inventories, sensors and the enterprise registry of a provincial centre. ' +
          'Authenticate with Authorization: Bearer <token>. See docs/api.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (request) => {
    await authenticate(ctx.store, request);
  });
  const limit = options.rateLimit ?? { max: 600, timeWindowMs: 60_000 };
  await app.register(rateLimit, {
    global: true,
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) =>
      new ApiError(context.statusCode, 'rate_limited', `rate limit exceeded, retry in ${context.after}`),
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    authorize(request);
    return payload;
  });

  await app.register(healthRoutes, ctx);
  await app.register(
    async (api) => {
      // Every API route must say who may call it: a route without `config.access` is a startup error, not public.
      api.addHook('onRoute', (route) => {
        if (route.config?.access === undefined) {
          throw new Error(`route ${route.method} ${route.url} declares no config.access`);
        }
      });
      await api.register(systemRoutes, ctx);
      await api.register(enterpriseRoutes, ctx);
      await api.register(sensorRoutes, ctx);
      await api.register(alertRoutes, ctx);
      await api.register(adminRoutes, ctx);
      await api.register(alertResolutionRoutes, ctx);
      await api.register(riskRoutes, { ...ctx, risk: options.risk });
      await api.register(warningRoutes, { ...ctx, onWarningEvent: options.onWarningEvent });
      const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'otcollector-state-'));
      // A throwaway state dir made here (API built without one, e.g. in tests) goes with the app: nothing else knows
      // it exists, and each one holds a signing key.
      if (options.stateDir === undefined) {
        api.addHook('onClose', async () => rmSync(stateDir, { recursive: true, force: true }));
      }
      await api.register(bulletinRoutes, { ...ctx, stateDir });
      await api.register(evidencePackRoutes, { ...ctx, stateDir });
    },
    { prefix: API_PREFIX },
  );
  for (const plugin of options.plugins ?? []) await plugin(app);
  await app.ready();
  return app;
}
