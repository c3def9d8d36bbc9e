/**
 * What a drill asks the running collector, over its HTTP API with a token: drill alerts of a sensor, drill risk
 * warnings and an on-demand bulletin. Warnings and bulletins are optional features of a collector: a 404 means
 * "not offered here" and is reported as n/a, never as a failure.
 */

export interface DrillAlert {
  uid: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  receivedAt: string;
  /** When the sensor saw it (a capture's own time for a replay). */
  ts: string;
  sensorId: string;
  enterpriseId: string;
  drill: boolean;
}

export interface DrillWarning {
  id: string;
  ruleId: string;
  title: string;
  issuedAt: string;
  drill: boolean;
  /** The whole record as JSON text, searched for enterprise ids and alert uids. */
  text: string;
}

export class CollectorClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    return await fetch(`${this.baseUrl.replace(/\/+$/, '')}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  }

  /** Alerts of one sensor, newest first (one page of up to 1000). `drill`: only drill alerts, or the default view. */
  async alerts(query: { enterprise: string; sensor: string; rule?: string; drill: boolean }): Promise<DrillAlert[]> {
    const q = new URLSearchParams({ enterprise: query.enterprise, sensor: query.sensor, limit: '1000' });
    if (query.rule !== undefined) q.set('rule', query.rule);
    if (query.drill) {
      q.set('includeDrill', 'true');
      q.set('drillOnly', 'true');
    }
    const res = await this.request('GET', `/alerts?${q}`);
    if (!res.ok) throw new Error(`GET /alerts: ${res.status} ${(await res.text()).slice(0, 300)}`);
    return ((await res.json()) as { items: DrillAlert[] }).items;
  }

  /** Drill warnings issued since `from`, or null when the collector has no warnings route. */
  async warnings(from: string): Promise<DrillWarning[] | null> {
    // Newer collectors take the drill filters; fall back to the plain list when the query is refused.
    for (const query of [
      `?drillOnly=true&includeDrill=true&from=${encodeURIComponent(from)}`,
      '?includeDrill=true',
      '',
    ]) {
      const res = await this.request('GET', `/warnings${query}`);
      if (res.status === 404) return null;
      if (res.status === 400) continue;
      if (!res.ok) throw new Error(`GET /warnings: ${res.status} ${(await res.text()).slice(0, 300)}`);
      const body = (await res.json()) as { items?: Record<string, unknown>[] } | Record<string, unknown>[];
      const items = Array.isArray(body) ? body : (body.items ?? []);
      return items.map((w) => ({
        id: String(w.id ?? ''),
        ruleId: String(w.ruleId ?? ''),
        title:
          typeof w.title === 'object' && w.title !== null
            ? String((w.title as { zh?: string }).zh ?? '')
            : String(w.title ?? ''),
        issuedAt: String(w.issuedAt ?? ''),
        drill: w.drill === true,
        text: JSON.stringify(w),
      }));
    }
    throw new Error('GET /warnings: every query form was refused (400)');
  }

  /**
   * Generates a drill bulletin (`period: custom`, `drill: true`: drill data only) over [from, to) and returns its JSON
   * text (searched for the drill's alerts), null when the collector has no bulletins route, or throws the refusal.
   */
  async bulletin(from: string, to: string): Promise<string | null> {
    const res = await this.request('POST', '/bulletins', { period: 'custom', from, to, drill: true });
    if (res.status === 404) return null;
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /bulletins: ${res.status} ${text.slice(0, 300)}`);
    const links = (JSON.parse(text) as { links?: { json?: string } }).links;
    if (links?.json === undefined) return text;
    // The link is an absolute path on the collector (it carries the API prefix).
    const origin = new URL(this.baseUrl).origin;
    const doc = await fetch(`${origin}${links.json}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(15_000),
    });
    if (!doc.ok) throw new Error(`GET ${links.json}: ${doc.status}`);
    return await doc.text();
  }
}
