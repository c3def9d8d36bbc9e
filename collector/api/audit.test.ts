/**
 * Every inventory pull is in the audit log with the token that made it, the enterprise and the asset count; refused
 * pulls are recorded too; admins read only their province's entries; the secret never appears.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from './app.ts';
import { A, B, bearer, C, openTestStore, type SeededWorld, seedWorld, type TestStore } from './testing/fixtures.ts';

interface Entry {
  id: string;
  tokenId: string;
  role: string;
  action: string;
  enterpriseId: string | null;
  detail: Record<string, unknown>;
}

let t: TestStore;
let world: SeededWorld;
let app: FastifyInstance;

beforeAll(async () => {
  t = await openTestStore();
  world = await seedWorld(t.store);
  app = await buildApi({ store: t.store });
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});

async function audit(secret: string, query = ''): Promise<Entry[]> {
  const res = await app.inject({ url: `/api/v1/audit?limit=1000${query}`, headers: bearer(secret) });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { items: Entry[] }).items;
}

describe('audit of inventory pulls', () => {
  it('records each pull with the token id, role, enterprise and asset count', async () => {
    const pullers = ['enterprise-a', 'assessor-a', 'analyst', 'admin'] as const;
    for (const who of pullers) {
      const res = await app.inject({
        url: `/api/v1/enterprises/${A.id}/assets`,
        headers: bearer(world.tokens[who].secret),
      });
      expect(res.statusCode).toBe(200);
      expect((res.json() as { items: unknown[] }).items).toHaveLength(2);
    }
    // The same token twice: two entries, not one.
    await app.inject({
      url: `/api/v1/enterprises/${A.id}/assets`,
      headers: bearer(world.tokens['enterprise-a'].secret),
    });

    const pulls = (await audit(world.tokens.admin.secret, '&action=inventory.pull')).filter(
      (e) => e.enterpriseId === A.id,
    );
    const byToken = (name: (typeof pullers)[number]) => pulls.filter((e) => e.tokenId === world.tokens[name].token.id);
    expect(pulls).toHaveLength(5);
    expect(byToken('enterprise-a')).toHaveLength(2);
    for (const who of pullers) {
      const [entry] = byToken(who);
      expect(entry).toMatchObject({
        action: 'inventory.pull',
        enterpriseId: A.id,
        role: world.tokens[who].token.role,
        detail: { assets: 2 },
      });
    }
  });

  it('records pulls of asset changes, and pulls the scope refused', async () => {
    const own = await app.inject({
      url: `/api/v1/enterprises/${B.id}/asset-changes`,
      headers: bearer(world.tokens['enterprise-b'].secret),
    });
    expect(own.statusCode).toBe(200);
    const refused = await app.inject({
      url: `/api/v1/enterprises/${A.id}/assets`,
      headers: bearer(world.tokens['enterprise-b'].secret),
    });
    expect(refused.statusCode).toBe(404);

    const entries = await audit(world.tokens.admin.secret);
    const bToken = world.tokens['enterprise-b'].token.id;
    expect(entries).toContainEqual(
      expect.objectContaining({
        tokenId: bToken,
        action: 'inventory.changes',
        enterpriseId: B.id,
        detail: { changes: 1 },
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ tokenId: bToken, action: 'inventory.denied', enterpriseId: A.id }),
    );
  });

  it('filters by enterprise, newest first, and pages with a cursor', async () => {
    const entries = await audit(world.tokens.admin.secret, `&enterprise=${A.id}`);
    expect(entries.length).toBeGreaterThanOrEqual(6);
    expect(entries.every((e) => e.enterpriseId === A.id)).toBe(true);
    const ids = entries.map((e) => e.id);
    expect([...ids].sort().reverse()).toEqual(ids);

    const first = await app.inject({ url: '/api/v1/audit?limit=2', headers: bearer(world.tokens.admin.secret) });
    const page1 = first.json() as { items: Entry[]; nextCursor: string | null };
    expect(page1.items).toHaveLength(2);
    expect(page1.nextCursor).not.toBeNull();
    const second = await app.inject({
      url: `/api/v1/audit?limit=2&cursor=${page1.nextCursor}`,
      headers: bearer(world.tokens.admin.secret),
    });
    const page2 = second.json() as { items: Entry[] };
    expect(page2.items).toHaveLength(2);
    expect(page2.items.map((e) => e.id)).not.toContain(page1.items[0]?.id);
    // Newest first across pages: page 2 starts below where page 1 ended.
    expect((page2.items[0]?.id ?? 'z') < (page1.items[1]?.id ?? '')).toBe(true);
  });

  it("keeps each province's audit to itself", async () => {
    const pull = await app.inject({
      url: `/api/v1/enterprises/${C.id}/assets`,
      headers: bearer(world.tokens['analyst-other'].secret),
    });
    expect(pull.statusCode).toBe(200);
    const other = await audit(world.tokens['admin-other'].secret);
    expect(other).toContainEqual(
      expect.objectContaining({ tokenId: world.tokens['analyst-other'].token.id, enterpriseId: C.id }),
    );
    expect(other.every((e) => e.enterpriseId === C.id || e.enterpriseId === null)).toBe(true);
    const home = await audit(world.tokens.admin.secret);
    expect(home.some((e) => e.enterpriseId === C.id)).toBe(false);
  });

  it('records registry and token changes, never a secret', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: bearer(world.tokens.admin.secret),
      payload: { label: 'night shift', role: 'province-analyst' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { token, secret } = created.json() as { token: { id: string }; secret: string };
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${token.id}`,
      headers: bearer(world.tokens.admin.secret),
    });
    expect(revoked.statusCode).toBe(200);
    expect((revoked.json() as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const entries = await audit(world.tokens.admin.secret);
    const adminId = world.tokens.admin.token.id;
    expect(entries).toContainEqual(
      expect.objectContaining({
        tokenId: adminId,
        action: 'token.create',
        detail: { token: token.id, role: 'province-analyst' },
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ tokenId: adminId, action: 'token.revoke', detail: { token: token.id } }),
    );
    expect(JSON.stringify(entries)).not.toContain(secret);
    // The listing never shows a secret either, and the revoked secret no longer authenticates.
    const listed = await app.inject({ url: '/api/v1/tokens', headers: bearer(world.tokens.admin.secret) });
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain(world.tokens.admin.secret);
    const me = await app.inject({ url: '/api/v1/me', headers: bearer(secret) });
    expect(me.statusCode).toBe(401);
  });

  it('does not return the inventory when the audit write fails', async () => {
    const failing = Object.create(t.store) as typeof t.store;
    failing.appendAudit = async () => {
      throw new Error('disk full');
    };
    const broken = await buildApi({ store: failing });
    try {
      const res = await broken.inject({
        url: `/api/v1/enterprises/${A.id}/assets`,
        headers: bearer(world.tokens['enterprise-a'].secret),
      });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain(`${A.net}.211`);
      expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal server error' } });
    } finally {
      await broken.close();
    }
  });
});
