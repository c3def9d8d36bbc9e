/// <reference lib="dom" />
/**
 * An enterprise's assets: one disclosure per asset (native <details>, so keyboard and screen readers work as is)
 * with its identity fields and the evidence of each, role guesses with reasons, services, and advisory matches.
 */
import { h } from 'preact';
import { formatNumber, formatTime } from '../format.ts';
import { hasKey, t } from '../i18n.ts';
import type { Asset } from '../types.ts';
import { Empty, Table } from '../ui.ts';

export function roleName(role: string): string {
  const key = `role.${role}`;
  return hasKey(key) ? t(key) : role;
}

/** A one-line identity summary: vendor, product/model, firmware, whichever are known. */
export function identitySummary(a: Asset): string {
  const id = a.record.identity ?? {};
  const pick = (...keys: string[]) => keys.map((k) => id[k]?.value).find((v) => v !== undefined);
  return [
    pick('vendor', 'vendorName', 'copyright'),
    pick('moduleType', 'productName', 'productCode', 'hardwareOrderNumber', 'orderNumber', 'model'),
    pick('firmwareVersion', 'revision', 'softwareVersion'),
  ]
    .filter((v): v is string => v !== undefined)
    .join(' · ');
}

function AssetDetail(props: { asset: Asset }) {
  const r = props.asset.record;
  const identity = Object.entries(r.identity ?? {});
  return h(
    'div',
    { class: 'asset-detail' },
    h('h4', null, t('asset.identity')),
    identity.length === 0
      ? h(Empty, { text: t('asset.noIdentity') })
      : h(Table<[string, (typeof r.identity)[string]]>, {
          caption: `${t('asset.identity')} ${r.ip}`,
          rows: identity,
          rowKey: ([k]) => k,
          columns: [
            { head: t('asset.field'), cell: ([k]) => k },
            { head: t('asset.value'), cell: ([, v]) => v.value },
            {
              head: t('asset.evidence'),
              cell: ([, v]) => `${v.evidence.protocol} · ${v.evidence.message}`,
            },
            { head: t('alert.packetTime'), cell: ([, v]) => formatTime(v.evidence.ts) },
            { head: t('alert.flowId'), cell: ([, v]) => h('code', null, v.evidence.flow) },
            { head: t('asset.seen'), numeric: true, cell: ([, v]) => formatNumber(v.seen) },
          ],
        }),
    h('h4', null, t('asset.roles')),
    h(
      'ul',
      { class: 'plain' },
      ...r.roles.map((g) =>
        h(
          'li',
          { key: g.role },
          h('strong', null, `${roleName(g.role)} (${formatNumber(g.confidence * 100)}%)`),
          g.reasons.length ? `: ${g.reasons.join('; ')}` : '',
        ),
      ),
    ),
    h('h4', null, t('asset.services')),
    h(
      'p',
      null,
      `${t('asset.served')}: ${r.served.map((s) => `${s.proto}/${s.port}`).join(', ') || '—'} · ${t('asset.used')}: ${r.used.map((s) => `${s.proto}/${s.port}`).join(', ') || '—'}`,
    ),
    h('h4', null, t('asset.advisories')),
    r.advisories.length === 0
      ? h(Empty, { text: t('asset.noAdvisories') })
      : h(
          'ul',
          { class: 'plain' },
          ...r.advisories.map((a) =>
            h(
              'li',
              { key: a.advisory },
              h('strong', null, a.advisory),
              ` ${a.title} — ${[...a.cve, ...a.cnvd].join(', ')} (${a.severity}, ${a.status})`,
            ),
          ),
        ),
  );
}

export function AssetList(props: { assets: Asset[] }) {
  if (props.assets.length === 0) return h(Empty, { text: t('asset.none') });
  return h(
    'ul',
    { class: 'assets', 'data-testid': 'asset-list' },
    ...props.assets.map((a) =>
      h(
        'li',
        { key: a.ip },
        h(
          'details',
          null,
          h(
            'summary',
            null,
            h('strong', { class: 'mono' }, a.ip),
            ` · ${roleName(a.role)}`,
            identitySummary(a) ? ` · ${identitySummary(a)}` : '',
            a.record.mac ? ` · ${a.record.mac}${a.record.macVendor ? ` (${a.record.macVendor})` : ''}` : '',
            ` · ${a.record.protocols.join(', ')}`,
            a.record.advisories.length
              ? h(
                  'span',
                  { class: 'badge level-high' },
                  t('asset.advisoryCount', { n: formatNumber(a.record.advisories.length) }),
                )
              : null,
          ),
          h(
            'p',
            { class: 'muted' },
            `${t('asset.firstSeen')} ${formatTime(a.firstSeen)} · ${t('asset.lastSeen')} ${formatTime(a.lastSeen)} · ${t('common.sensor')} ${a.sensorId}`,
          ),
          h(AssetDetail, { asset: a }),
        ),
      ),
    ),
  );
}
