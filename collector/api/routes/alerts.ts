/**
 * Alerts (filtered, paged newest first), alert counts (from the store's hourly rollups) and traffic per protocol.
 * An enterprise filter outside the caller's scope gives an empty result, exactly like an unknown enterprise.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { AlertFilter } from '../../store/types.ts';
import { caller, isEmptyScope } from '../auth.ts';
import { type ApiContext, checkRange, compact } from '../context.ts';
import { notFound } from '../errors.ts';
import {
  AggregateQuerySchema,
  AggregateResultSchema,
  AlertListQuery,
  AlertSchema,
  AUTH_ERRORS,
  pageOf,
  SCOPED_ERRORS,
  TrafficQuery,
  TrafficSchema,
  UidParams,
} from '../schemas.ts';

const ALL_ROLES = ['province-admin', 'province-analyst', 'enterprise', 'assessor'] as const;

function alertFilter(q: Omit<Static<typeof AggregateQuerySchema>, 'by'> & { sensor?: string }): AlertFilter {
  checkRange(q.from, q.to);
  return compact({
    enterpriseId: q.enterprise,
    sensorId: q.sensor,
    level: q.level,
    minLevel: q.minLevel,
    ruleId: q.rule,
    protocol: q.protocol,
    from: q.from,
    to: q.to,
    includeDrill: q.includeDrill,
    drillOnly: q.drillOnly,
  });
}

export const alertRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get(
    '/alerts',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Alerts in your scope, newest first (drills excluded unless includeDrill or drillOnly)',
        description: 'Pass nextCursor back as cursor for the next page; null means the last page.',
        tags: ['alerts'],
        querystring: AlertListQuery,
        response: { 200: pageOf(AlertSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const { limit, cursor, ...filter } = request.query;
      const f = alertFilter(filter);
      if (isEmptyScope(scope)) return { items: [], nextCursor: null };
      return store.listAlerts(scope, f, compact({ limit, cursor }));
    },
  );

  app.get(
    '/alerts/:uid',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'One alert with its evidence (404 when outside your scope)',
        tags: ['alerts'],
        params: UidParams,
        response: { 200: AlertSchema, ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const alert = isEmptyScope(scope) ? null : await store.getAlert(scope, request.params.uid);
      if (!alert) throw notFound('alert');
      return alert;
    },
  );

  app.get(
    '/aggregates/alerts',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Alert counts grouped by day, hour, level, city, industry, rule, protocol or enterprise',
        description:
          'Counted from the hourly rollups kept at ingest: an hour counts when it starts in [hour of from, to). ' +
          'Days and hours are UTC.',
        tags: ['alerts'],
        querystring: AggregateQuerySchema,
        response: { 200: AggregateResultSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const { by, ...filter } = request.query;
      const f = alertFilter(filter);
      if (isEmptyScope(scope)) return { by, rows: [] };
      return { by, rows: await store.aggregate(scope, { ...f, by }) };
    },
  );

  app.get(
    '/traffic',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'PDUs per protocol over a period (from the sensors’ stats reports)',
        tags: ['alerts'],
        querystring: TrafficQuery,
        response: { 200: TrafficSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const q = request.query;
      checkRange(q.from, q.to);
      if (isEmptyScope(scope)) return { items: [] };
      const items = await store.trafficByProtocol(
        scope,
        compact({ enterpriseId: q.enterprise, from: q.from, to: q.to }),
      );
      return { items };
    },
  );
};
