/**
 * Grading evidence packs (定级核查) over the API: the signed one-file bundle of an enterprise's pack for a period
 * (docs/evidence-packs.md). Province roles for their province's enterprises, assessors for their assigned ones;
 * enterprises may not pull packs about themselves (the pack is the regulator's check of their declaration). Every
 * pull is audited before the pack leaves, a pull outside the scope too (as `evidence-pack.denied`); if the audit
 * write fails the pack is not returned.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { LANGS } from '../../bulletins/build.ts';
import { buildPack } from '../../packs/build.ts';
import { loadOrCreateSigningKey, type SigningKey } from '../../packs/keys.ts';
import { toBundle } from '../../packs/sign.ts';
import { caller } from '../auth.ts';
import { checkRange } from '../context.ts';
import { notFound } from '../errors.ts';
import { IdParams, SCOPED_ERRORS } from '../schemas.ts';
import type { BulletinRouteOptions } from './bulletins.ts';

const PACK_ROLES = ['province-admin', 'province-analyst', 'assessor'] as const;
const DEFAULT_DAYS = 30;

const PackQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Start (default: 30 days before to)' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'End, exclusive (default: now)' })),
    lang: Type.Optional(Type.Unsafe<(typeof LANGS)[number]>({ type: 'string', enum: [...LANGS] })),
  },
  { additionalProperties: false },
);

const BundleSchema = Type.Object({
  format: Type.String(),
  manifest: Type.String({ description: 'manifest.json exactly as signed' }),
  signature: Type.String({ description: 'Ed25519 signature of manifest, base64' }),
  files: Type.Record(Type.String(), Type.String(), { description: 'file path → content, base64' }),
});

export const evidencePackRoutes: FastifyPluginAsyncTypebox<BulletinRouteOptions> = async (app, ctx) => {
  const { store } = ctx;
  let key: SigningKey | null = null;

  app.get(
    '/enterprises/:id/evidence-pack',
    {
      config: { access: PACK_ROLES },
      schema: {
        summary: 'Signed grading evidence pack of an enterprise for a period (audited; verify with otcollector verify)',
        tags: ['inventory'],
        params: IdParams,
        querystring: PackQuery,
        response: { 200: BundleSchema, ...SCOPED_ERRORS },
      },
    },
    async (request, reply) => {
      const { token, scope } = caller(request);
      const id = request.params.id;
      const q = request.query;
      checkRange(q.from, q.to);
      const to = q.to ?? new Date().toISOString();
      const from = q.from ?? new Date(Date.parse(to) - DEFAULT_DAYS * 86_400_000).toISOString();
      const enterprise = await store.getEnterprise(id, scope);
      if (!enterprise) {
        await store.appendAudit({
          tokenId: token.id,
          role: token.role,
          action: 'evidence-pack.denied',
          enterpriseId: id,
          detail: { from, to },
        });
        throw notFound('enterprise');
      }
      key ??= loadOrCreateSigningKey(ctx.stateDir);
      const { data, pack } = await buildPack(
        store,
        scope,
        { enterpriseId: id, from, to, ...(q.lang !== undefined ? { lang: q.lang } : {}) },
        key,
      );
      await store.appendAudit({
        tokenId: token.id,
        role: token.role,
        action: 'evidence-pack.pull',
        enterpriseId: id,
        detail: {
          pack: data.packId,
          from,
          to,
          keyId: key.keyId,
          assets: data.inventory.assets.length,
          flags: data.flags.map((f) => f.rule),
        },
      });
      return reply
        .header('content-disposition', `attachment; filename="${data.packId}.otpack.json"`)
        .send(toBundle(pack));
    },
  );
};
