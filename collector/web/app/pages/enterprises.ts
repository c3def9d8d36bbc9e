/// <reference lib="dom" />
/** Enterprises in scope: a province's registry, or an assessor's assigned enterprises (its home page). */
import { h } from 'preact';
import { apiGet } from '../api.ts';
import { useEnterprises } from '../data.ts';
import { formatNumber } from '../format.ts';
import { t } from '../i18n.ts';
import { href } from '../router.ts';
import { useAppState } from '../store.ts';
import type { AggregateRow, Enterprise, Sensor } from '../types.ts';
import { Card, show, Table, useAsync } from '../ui.ts';
import { className, gradeName } from './enterprise.ts';

export function EnterprisesPage() {
  const app = useAppState();
  const assessor = app.me?.token.role === 'assessor';
  const enterprises = useEnterprises();
  const counts = useAsync(
    () => apiGet<{ rows: AggregateRow[] }>('/aggregates/alerts', { by: 'enterprise' }).then((r) => r.rows),
    [app.liveAlerts.length],
  );
  const sensors = useAsync(() => apiGet<{ items: Sensor[] }>('/sensors').then((r) => r.items), []);
  const title = assessor ? t('enterprises.assigned') : t('enterprises.title');
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, title)),
    h(
      Card,
      { title, wide: true, testId: 'enterprises' },
      assessor ? h('p', { class: 'muted' }, t('enterprises.assessorHint')) : null,
      show(enterprises, (list) =>
        h(Table<Enterprise>, {
          caption: title,
          rows: list,
          rowKey: (e) => e.id,
          columns: [
            { head: t('common.enterprise'), cell: (e) => h('a', { href: href(['e', e.id]) }, e.name) },
            { head: t('common.city'), cell: (e) => e.city },
            { head: t('common.industry'), cell: (e) => e.industry },
            { head: t('enterprise.class'), cell: (e) => className(e, app.lang) },
            { head: t('enterprise.grade'), cell: (e) => gradeName(e.grade) },
            {
              head: t('common.alerts'),
              numeric: true,
              cell: (e) => formatNumber(counts.data?.find((r) => r.key === e.id)?.count ?? 0),
            },
            {
              head: t('tab.sensors'),
              numeric: true,
              cell: (e) => formatNumber(sensors.data?.filter((s) => s.enterpriseId === e.id).length ?? 0),
            },
          ],
        }),
      ),
    ),
  );
}
