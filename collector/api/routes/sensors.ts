/** Sensors and their last health; registering a sensor to an enterprise (province admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { caller, isEmptyScope } from '../auth.ts';
import { type ApiContext, compact } from '../context.ts';
import { ApiError, ErrorSchema, notFound } from '../errors.ts';
import { listOf, SCOPED_ERRORS, SensorCreateSchema, SensorListQuery, SensorSchema } from '../schemas.ts';

export const sensorRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  const { store } = ctx;

  app.get(
    '/sensors',
    {
      config: { access: ['province-admin', 'province-analyst', 'enterprise', 'assessor'] },
      schema: {
        summary: 'Sensors in your scope with their last health report',
        tags: ['sensors'],
        querystring: SensorListQuery,
        response: { 200: listOf(SensorSchema), ...SCOPED_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      if (isEmptyScope(scope)) return { items: [] };
      const items = await store.listSensors(scope, compact({ enterpriseId: request.query.enterprise }));
      return { items };
    },
  );

  app.post(
    '/sensors',
    {
      config: { access: ['province-admin'] },
      schema: {
        summary: 'Register a sensor to an enterprise of your province (201 new, 200 renamed)',
        tags: ['sensors'],
        body: SensorCreateSchema,
        response: { 200: SensorSchema, 201: SensorSchema, ...SCOPED_ERRORS, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { token, scope } = caller(request);
      const { id, enterpriseId, name } = request.body;
      const enterprise = await store.getEnterprise(enterpriseId, scope);
      if (!enterprise) throw notFound('enterprise');
      // Sensor ids are subject tokens: one sensor belongs to one enterprise, and is never moved silently.
      const current = (await store.listSensors({ kind: 'all' })).find((s) => s.id === id) ?? null;
      if (current && current.enterpriseId !== enterpriseId) {
        throw new ApiError(409, 'conflict', `sensor id ${id} is already registered to another enterprise`);
      }
      const sensor = await store.upsertSensor(
        compact({ id, enterpriseId, name }) as { id: string; enterpriseId: string; name?: string },
      );
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: current ? 'sensor.update' : 'sensor.register',
        enterpriseId,
        detail: { sensor: id },
      });
      return reply.status(current ? 200 : 201).send(sensor);
    },
  );
};
