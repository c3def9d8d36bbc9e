/// <reference lib="dom" />
/**
 * Alert lists: the explorer (every enterprise in scope) and an enterprise's alerts tab share one view. Filters live
 * in the URL (shareable, back button works); paging follows the API's cursor. On the first page, alerts pushed by
 * the live stream that match the filters appear at the top without a reload.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { apiGet } from '../api.ts';
import { nameOf, useEnterprises } from '../data.ts';
import { formatNumber, formatTime, isoToZonedInput, zonedInputToIso, zoneLabel } from '../format.ts';
import { t } from '../i18n.ts';
import { href, navigate, type Route } from '../router.ts';
import { useAppState } from '../store.ts';
import { type AggregateRow, type Alert, LEVELS, type PageResult } from '../types.ts';
import { Card, Field, LevelBadge, levelName, show, Table, useAsync } from '../ui.ts';

export const PAGE_SIZE = 50;

export interface AlertFilters {
  enterprise: string;
  level: string;
  rule: string;
  protocol: string;
  from: string;
  to: string;
}

export function filtersOf(route: Route, fixedEnterprise?: string): AlertFilters {
  const q = route.query;
  return {
    enterprise: fixedEnterprise ?? q.get('enterprise') ?? '',
    level: q.get('level') ?? '',
    rule: q.get('rule') ?? '',
    protocol: q.get('protocol') ?? '',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
  };
}

/** Whether a (live) alert passes the filters, as the API would filter it. */
export function matches(a: Alert, f: AlertFilters): boolean {
  if (f.enterprise && a.enterpriseId !== f.enterprise) return false;
  if (f.level && a.level !== f.level) return false;
  if (f.rule && a.ruleId !== f.rule) return false;
  if (f.protocol && a.protocol !== f.protocol) return false;
  if (f.from && Date.parse(a.ts) < Date.parse(f.from)) return false;
  if (f.to && Date.parse(a.ts) >= Date.parse(f.to)) return false;
  return true;
}

export function AlertsView(props: { route: Route; basePath: string[]; fixedEnterprise?: string; title: string }) {
  const app = useAppState();
  const { route, fixedEnterprise } = props;
  const f = filtersOf(route, fixedEnterprise);
  const cursor = route.query.get('cursor') ?? '';
  const page = Number(route.query.get('page') ?? '1') || 1;
  const limit = Math.min(1000, Math.max(1, Number(route.query.get('limit') ?? PAGE_SIZE) || PAGE_SIZE));
  const enterprises = useEnterprises();
  const key = route.query.toString();
  const list = useAsync(
    () =>
      apiGet<PageResult<Alert>>('/alerts', {
        enterprise: f.enterprise,
        level: f.level,
        rule: f.rule,
        protocol: f.protocol,
        from: f.from,
        to: f.to,
        cursor,
        limit,
      }),
    [key, fixedEnterprise],
  );
  const options = useAsync(
    () =>
      Promise.all([
        apiGet<{ rows: AggregateRow[] }>('/aggregates/alerts', { by: 'rule', enterprise: f.enterprise }),
        apiGet<{ rows: AggregateRow[] }>('/aggregates/alerts', { by: 'protocol', enterprise: f.enterprise }),
      ]).then(([r, p]) => ({ rules: r.rows.map((x) => x.key).sort(), protocols: p.rows.map((x) => x.key).sort() })),
    [f.enterprise],
  );

  const [draft, setDraft] = useState<AlertFilters | null>(null);
  const d = draft ?? f;
  const set = (k: keyof AlertFilters) => (e: Event) =>
    setDraft({ ...d, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const tz = app.timeZone;
  const apply = (e: Event) => {
    e.preventDefault();
    const q: Record<string, string> = {
      level: d.level,
      rule: d.rule,
      protocol: d.protocol,
      from: d.from,
      to: d.to,
    };
    if (!fixedEnterprise) q['enterprise'] = d.enterprise;
    if (limit !== PAGE_SIZE) q['limit'] = String(limit);
    setDraft(null);
    navigate(href(props.basePath, q));
  };
  const reset = () => {
    setDraft(null);
    navigate(href(props.basePath));
  };

  const prefix = (id: string) => `${fixedEnterprise ? 'ea' : 'ax'}-${id}`;
  const form = h(
    'form',
    { class: 'filters', onSubmit: apply, 'aria-label': t('filter.title'), role: 'search' },
    fixedEnterprise
      ? null
      : h(
          Field,
          { id: prefix('enterprise'), label: t('common.enterprise') },
          h(
            'select',
            { id: prefix('enterprise'), value: d.enterprise, onChange: set('enterprise') },
            h('option', { value: '' }, t('filter.any')),
            ...(enterprises.data ?? []).map((e) => h('option', { value: e.id }, e.name)),
          ),
        ),
    h(
      Field,
      { id: prefix('level'), label: t('common.level') },
      h(
        'select',
        { id: prefix('level'), value: d.level, onChange: set('level') },
        h('option', { value: '' }, t('filter.any')),
        ...[...LEVELS].reverse().map((l) => h('option', { value: l }, levelName(l))),
      ),
    ),
    h(
      Field,
      { id: prefix('rule'), label: t('common.rule') },
      h(
        'select',
        { id: prefix('rule'), value: d.rule, onChange: set('rule') },
        h('option', { value: '' }, t('filter.any')),
        ...(options.data?.rules ?? (d.rule ? [d.rule] : [])).map((r) => h('option', { value: r }, r)),
      ),
    ),
    h(
      Field,
      { id: prefix('protocol'), label: t('common.protocol') },
      h(
        'select',
        { id: prefix('protocol'), value: d.protocol, onChange: set('protocol') },
        h('option', { value: '' }, t('filter.any')),
        ...(options.data?.protocols ?? (d.protocol ? [d.protocol] : [])).map((p) => h('option', { value: p }, p)),
      ),
    ),
    h(
      Field,
      { id: prefix('from'), label: `${t('filter.from')} (${tz}, ${zoneLabel(tz)})` },
      h('input', {
        id: prefix('from'),
        type: 'datetime-local',
        value: d.from ? isoToZonedInput(d.from, tz) : '',
        onChange: (e: Event) =>
          setDraft({ ...d, from: zonedInputToIso((e.currentTarget as HTMLInputElement).value, tz) }),
      }),
    ),
    h(
      Field,
      { id: prefix('to'), label: `${t('filter.to')} (${tz}, ${zoneLabel(tz)})` },
      h('input', {
        id: prefix('to'),
        type: 'datetime-local',
        value: d.to ? isoToZonedInput(d.to, tz) : '',
        onChange: (e: Event) =>
          setDraft({ ...d, to: zonedInputToIso((e.currentTarget as HTMLInputElement).value, tz) }),
      }),
    ),
    h(
      'div',
      { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, t('filter.apply')),
      h('button', { type: 'button', onClick: reset }, t('filter.reset')),
    ),
  );

  const nextHref = (next: string) => {
    const q: Record<string, string> = {};
    for (const [k, v] of route.query) q[k] = v;
    q['cursor'] = next;
    q['page'] = String(page + 1);
    return href(props.basePath, q);
  };
  const firstHref = () => {
    const q: Record<string, string> = {};
    for (const [k, v] of route.query) if (k !== 'cursor' && k !== 'page') q[k] = v;
    return href(props.basePath, q);
  };

  return h(
    Card,
    { title: props.title, wide: true, testId: 'alerts' },
    form,
    show(list, (result) => {
      const known = new Set(result.items.map((a) => a.uid));
      const fresh = cursor === '' ? app.liveAlerts.filter((a) => !known.has(a.uid) && matches(a, f)) : [];
      const rows = [...fresh, ...result.items];
      return h(
        'div',
        null,
        h(
          'p',
          { class: 'muted', 'aria-live': 'polite', 'data-testid': 'alerts-summary' },
          t('alerts.pageInfo', { page: formatNumber(page), count: formatNumber(rows.length) }),
          fresh.length ? ` · ${t('alerts.liveNew', { count: formatNumber(fresh.length) })}` : '',
        ),
        h(Table<Alert>, {
          caption: props.title,
          rows,
          rowKey: (a) => a.uid,
          columns: [
            { head: t('common.time'), cell: (a) => formatTime(a.ts) },
            { head: t('common.level'), cell: (a) => h(LevelBadge, { level: a.level }) },
            {
              head: t('common.rule'),
              cell: (a) =>
                h(
                  'a',
                  { href: href(['alert', a.uid]), 'data-uid': a.uid, class: fresh.includes(a) ? 'fresh' : undefined },
                  a.ruleTitle,
                ),
            },
            ...(fixedEnterprise
              ? []
              : [{ head: t('common.enterprise'), cell: (a: Alert) => nameOf(enterprises.data, a.enterpriseId) }]),
            { head: t('common.protocol'), cell: (a) => a.protocol },
            { head: t('alert.flow'), cell: (a) => `${a.clientIp} → ${a.serverIp}:${a.serverPort}` },
            { head: t('common.count'), cell: (a) => formatNumber(a.count), numeric: true },
          ],
        }),
        h(
          'nav',
          { class: 'pager', 'aria-label': t('alerts.paging') },
          page > 1 ? h('a', { href: firstHref() }, t('alerts.firstPage')) : null,
          result.nextCursor ? h('a', { href: nextHref(result.nextCursor), rel: 'next' }, t('alerts.nextPage')) : null,
        ),
      );
    }),
  );
}

export function AlertsPage(props: { route: Route }) {
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('alerts.title'))),
    h(AlertsView, { route: props.route, basePath: ['alerts'], title: t('alerts.list') }),
  );
}
