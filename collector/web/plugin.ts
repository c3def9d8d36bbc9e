/**
 * The dashboard as a Fastify plugin: builds the single-page app in memory at start (bundle.ts), serves it with
 * caching and security headers, and adds the live alert stream (`/api/v1/live`, Server-Sent Events) with its ticket
 * exchange (`POST /api/v1/live/ticket`).
 *
 * Authentication reuses the API's (collector/api/auth.ts): the ticket route takes the same bearer token; the stream
 * takes a one-use ticket instead, because EventSource cannot send headers and the token must stay out of URLs. The
 * routes declare `config.access` like the API's, so the API's authorisation hook covers them when both share an
 * app, and they check the caller themselves too, so they are safe on their own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthContext, authenticate, ROLES } from '../api/auth.ts';
import type { CollectorStore } from '../store/types.ts';
import { ASSET_PREFIX, type BundleOptions, bundleDashboard, type WebBundle } from './bundle.ts';
import { isUid, LiveHub, type LiveHubOptions } from './live.ts';
import { TicketBook, type TicketBookOptions } from './tickets.ts';

export interface RegisterWebOptions {
  store: CollectorStore;
  live?: LiveHubOptions;
  tickets?: TicketBookOptions;
  bundle?: BundleOptions;
  /** Told the build time and sizes once the app is built (default: the Fastify logger at info). */
  onBuilt?: (info: { buildMs: number; bytes: WebBundle['bytes'] }) => void;
}

/** No inline script or style, nothing from elsewhere: everything the page needs comes from this origin. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** Codings the client accepts (`q=0` means refused). */
export function acceptedEncodings(header: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    out.add(name);
  }
  return out;
}

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error: { code, message } });
}

/** The caller, resolved by the API's hook when present, else here (same function, same rules). */
async function callerOf(store: CollectorStore, request: FastifyRequest): Promise<AuthContext | null> {
  if (!request.auth) await authenticate(store, request);
  return request.auth ?? null;
}

export interface WebHandle {
  bundle: WebBundle;
  hub: LiveHub;
  tickets: TicketBook;
}

/**
 * Registers the dashboard on `app` (before it is ready). Resolves when the app is built. The same handle is kept on
 * the instance as `app.web` for tests and status pages.
 */
export async function registerWeb(app: FastifyInstance, options: RegisterWebOptions): Promise<void> {
  const bundle = await bundleDashboard(options.bundle);
  const info = { buildMs: bundle.buildMs, bytes: bundle.bytes };
  if (options.onBuilt) options.onBuilt(info);
  else app.log.info(info, 'dashboard built');
  const hub = new LiveHub(options.store, options.live);
  const tickets = new TicketBook(options.tickets);
  const handle: WebHandle = { bundle, hub, tickets };
  app.decorate('web', handle);
  app.addHook('onClose', async () => hub.close());
  // Fastify waits for open connections on close; the streams must end first or close would hang.
  app.addHook('preClose', async () => hub.close());

  const sendIndex = (request: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply).header('cache-control', 'no-cache').header('etag', bundle.indexEtag);
    if (request.headers['if-none-match'] === bundle.indexEtag) return reply.status(304).send();
    return reply.type('text/html; charset=utf-8').send(bundle.indexHtml);
  };
  const publicConfig = { access: 'public' as const, rateLimit: false as const };
  app.get('/', { config: publicConfig, schema: { hide: true } }, sendIndex);
  app.get('/index.html', { config: publicConfig, schema: { hide: true } }, sendIndex);

  app.get<{ Params: { name: string } }>(
    `${ASSET_PREFIX}:name`,
    { config: publicConfig, schema: { hide: true } },
    async (request, reply) => {
      const asset = bundle.assets.get(ASSET_PREFIX + request.params.name);
      securityHeaders(reply);
      if (!asset) return sendError(reply, 404, 'not_found', 'no such asset');
      reply.header('cache-control', IMMUTABLE).header('etag', asset.etag).header('vary', 'accept-encoding');
      if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
      reply.type(asset.contentType);
      const accepted = acceptedEncodings(request.headers['accept-encoding']);
      if (asset.br && accepted.has('br')) return reply.header('content-encoding', 'br').send(asset.br);
      if (asset.gzip && accepted.has('gzip')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
      return reply.send(asset.body);
    },
  );

  app.post(
    '/api/v1/live/ticket',
    {
      config: { access: ROLES },
      schema: {
        summary: 'A one-use ticket (valid 30 s) to open the live alert stream, which cannot send a header',
        tags: ['live'],
      },
    },
    async (request, reply) => {
      const auth = await callerOf(options.store, request);
      if (!auth) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, 401, 'unauthorized', 'token is missing, unknown or revoked');
      }
      return reply.header('cache-control', 'no-store').send(tickets.issue(auth));
    },
  );

  app.get<{ Querystring: { ticket?: string; since?: string } }>(
    '/api/v1/live',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Server-Sent Events: new alerts in your scope (authenticated by a ticket, not a header)',
        tags: ['live'],
        querystring: {
          type: 'object',
          properties: {
            ticket: { type: 'string', minLength: 1, maxLength: 128 },
            since: { type: 'string', maxLength: 64 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { ticket, since } = request.query;
      const auth = ticket === undefined ? null : tickets.redeem(ticket);
      if (!auth)
        return sendError(reply, 401, 'invalid_ticket', 'ticket is missing, used or expired: ask for a new one');
      if (since !== undefined && !isUid(since)) return sendError(reply, 400, 'invalid_request', 'since must be a uid');
      reply.hijack();
      if (!hub.open(auth, reply.raw, since)) {
        reply.raw.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
        reply.raw.end(JSON.stringify({ error: { code: 'unavailable', message: 'too many live streams' } }));
      }
    },
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Present once registerWeb ran: the built bundle, the live hub and the ticket book (stats for operations). */
    web?: WebHandle;
  }
}
