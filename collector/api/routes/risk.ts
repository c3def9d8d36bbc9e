/**
 * Risk scores (docs/risk.md): the latest score of every enterprise in scope, one enterprise's score explained
 * (contributions with their facts) with its recent history, and roll-ups per city, industry or grade for the
 * province roles. Scores are computed by the collector (periodically and on demand); an enterprise without a
 * stored score is scored on the fly when the API has the risk engine.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type RiskEngine, ROLLUP_BY, rollupRisk } from '../../risk/engine.ts';
import { RISK_FACTORS } from '../../store/types.ts';
import { caller, isEmptyScope } from '../auth.ts';
import type { ApiContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { AUTH_ERRORS, IdSchema, SCOPED_ERRORS } from '../schemas.ts';

export interface RiskRouteOptions extends ApiContext {
  risk?: RiskEngine | undefined;
}

const ALL_ROLES = ['province-admin', 'province-analyst', 'enterprise', 'assessor'] as const;
const PROVINCE = ['province-admin', 'province-analyst'] as const;
const Enum = <T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values] });

const EvidenceRefSchema = Type.Object({
  kind: Type.String(),
  id: Type.String(),
  label: Type.Optional(Type.String()),
});
const ContributionSchema = Type.Object({
  factor: Enum(RISK_FACTORS),
  points: Type.Number(),
  weight: Type.Number(),
  measure: Type.Number(),
  detail: Type.String(),
  detailZh: Type.String(),
  evidence: Type.Array(EvidenceRefSchema),
});
export const RiskScoreSchema = Type.Object({
  enterpriseId: Type.String(),
  province: Type.String(),
  score: Type.Number({ description: '0–100; equals the sum of the contributions’ points' }),
  computedAt: Type.String(),
  contributions: Type.Array(ContributionSchema),
});

export const riskRoutes: FastifyPluginAsyncTypebox<RiskRouteOptions> = async (app, ctx) => {
  const { store } = ctx;

  app.get(
    '/risk',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'Latest risk score of every enterprise in your scope, highest first',
        tags: ['risk'],
        response: { 200: Type.Object({ items: Type.Array(RiskScoreSchema) }), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      if (isEmptyScope(scope)) return { items: [] };
      return { items: await store.latestRiskScores(scope) };
    },
  );

  app.get(
    '/risk/rollup',
    {
      config: { access: PROVINCE },
      schema: {
        summary: 'Latest risk scores rolled up per city, industry or declared grade',
        tags: ['risk'],
        querystring: Type.Object({ by: Enum(ROLLUP_BY) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            by: Type.String(),
            rows: Type.Array(
              Type.Object({
                key: Type.String(),
                enterprises: Type.Integer(),
                mean: Type.Number(),
                max: Type.Number(),
                top: Type.Union([Type.Object({ enterpriseId: Type.String(), score: Type.Number() }), Type.Null()]),
              }),
            ),
          }),
          ...AUTH_ERRORS,
        },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const [scores, enterprises] = await Promise.all([store.latestRiskScores(scope), store.listEnterprises(scope)]);
      return { by: request.query.by, rows: rollupRisk(scores, enterprises, request.query.by) };
    },
  );

  app.get(
    '/risk/:enterprise',
    {
      config: { access: ALL_ROLES },
      schema: {
        summary: 'One enterprise’s risk score explained, with its history (404 outside your scope)',
        description:
          'Each contribution names its factor, weight, raw measure, points and the facts (alerts, assets, ' +
          'sensors, advisories) behind it; the points sum to the score. history: scores of the last `days` days.',
        tags: ['risk'],
        params: Type.Object({ enterprise: IdSchema }),
        querystring: Type.Object(
          { days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366, default: 7 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            score: RiskScoreSchema,
            history: Type.Array(Type.Object({ computedAt: Type.String(), score: Type.Number() })),
          }),
          ...SCOPED_ERRORS,
        },
      },
    },
    async (request) => {
      const { scope } = caller(request);
      const id = request.params.enterprise;
      const enterprise = isEmptyScope(scope) ? null : await store.getEnterprise(id, scope);
      if (enterprise === null) throw notFound('enterprise');
      let [score] = (await store.latestRiskScores({ kind: 'enterprises', enterprises: [id] })).filter(
        (s) => s.enterpriseId === id,
      );
      if (score === undefined && ctx.risk !== undefined) {
        [score] = await ctx.risk.recompute(scope, { enterpriseId: id });
      }
      if (score === undefined) throw notFound('risk score');
      const days = request.query.days ?? 7;
      const history = await store.riskHistory(scope, id, new Date(Date.now() - days * 86_400_000).toISOString());
      return { score, history: history.map((h) => ({ computedAt: h.computedAt, score: h.score })) };
    },
  );
};
