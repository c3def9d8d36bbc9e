/**
 * Issuing API tokens, shared by `POST /api/v1/tokens` and the `otcollector token create` command. The rules keep
 * every token's scope inside its issuer's: a province admin issues tokens for its own province and for enterprises
 * registered in it; the CLI (run on the collector host) issues with scope `all`.
 */
import type { ApiToken, CollectorStore, Role, Scope } from '../store/types.ts';
import { ApiError } from './errors.ts';

export interface TokenRequest {
  label: string;
  role: Role;
  /** province-admin / province-analyst: the province (defaults to the issuer's). */
  province?: string;
  /** enterprise: exactly one; assessor: the assigned enterprises (at least one). */
  enterprises?: string[];
}

export const MAX_ASSESSOR_ENTERPRISES = 1000;

/** The province a scope is confined to, null for `all` and lists. */
function provinceOf(scope: Scope): string | null {
  return scope.kind === 'province' ? scope.province : null;
}

/**
 * Checks a token request against the issuer's scope and creates the token. Throws ApiError (400 for an inconsistent
 * request, 403 for a province outside the issuer's, 404 for an enterprise unknown to it).
 */
export async function issueToken(
  store: CollectorStore,
  request: TokenRequest,
  issuer: Scope,
): Promise<{ token: ApiToken; secret: string }> {
  const enterprises = [...new Set(request.enterprises ?? [])];
  const issuerProvince = provinceOf(issuer);
  if (request.role === 'province-admin' || request.role === 'province-analyst') {
    if (enterprises.length > 0) {
      throw new ApiError(400, 'invalid_request', `a ${request.role} token covers a province; omit enterprises`);
    }
    const province = request.province ?? issuerProvince;
    if (!province) throw new ApiError(400, 'invalid_request', `a ${request.role} token needs a province`);
    if (issuer.kind !== 'all' && province !== issuerProvince) {
      throw new ApiError(403, 'forbidden', 'tokens can only be issued for your own province');
    }
    return store.createToken({ label: request.label, role: request.role, province, enterprises: [] });
  }
  if (request.role === 'enterprise' && enterprises.length !== 1) {
    throw new ApiError(400, 'invalid_request', 'an enterprise token needs exactly one enterprise');
  }
  if (request.role === 'assessor' && (enterprises.length === 0 || enterprises.length > MAX_ASSESSOR_ENTERPRISES)) {
    throw new ApiError(
      400,
      'invalid_request',
      `an assessor token needs 1 to ${MAX_ASSESSOR_ENTERPRISES} assigned enterprises`,
    );
  }
  const provinces = new Set<string>();
  for (const [i, id] of enterprises.entries()) {
    // Looked up inside the issuer's scope: an enterprise of another province is as unknown as a missing one.
    const enterprise = await store.getEnterprise(id, issuer);
    if (!enterprise) {
      throw new ApiError(404, 'not_found', 'enterprise not found', [
        { path: `body/enterprises/${i}`, message: 'no such enterprise in your scope' },
      ]);
    }
    provinces.add(enterprise.province);
  }
  if (request.province !== undefined && !(provinces.size === 1 && provinces.has(request.province))) {
    throw new ApiError(400, 'invalid_request', 'province does not match the enterprises of the token');
  }
  const [only] = provinces;
  const province = issuerProvince ?? (provinces.size === 1 && only !== undefined ? only : null);
  return store.createToken({ label: request.label, role: request.role, province, enterprises });
}

/** Whether a token is managed by (listed to, revocable by) an issuer with this scope. */
export function tokenManagedBy(token: ApiToken, issuer: Scope): boolean {
  if (issuer.kind === 'all') return true;
  if (issuer.kind === 'province') return token.province === issuer.province;
  return false;
}
