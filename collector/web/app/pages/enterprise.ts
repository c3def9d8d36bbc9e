/// <reference lib="dom" />
/**
 * One enterprise (every role, within its scope): its registry facts and four tabs — alerts (with filters), assets
 * (identity and evidence), the communication map, and its sensors. Outside the caller's scope the API answers 404
 * and the page says so without showing anything else.
 */
import { h } from 'preact';
import { apiGet } from '../api.ts';
import { formatNumber } from '../format.ts';
import { type MsgKey, t } from '../i18n.ts';
import { href, type Route } from '../router.ts';
import { useAppState } from '../store.ts';
import type { Asset, Enterprise, Sensor } from '../types.ts';
import { Card, show, useAsync } from '../ui.ts';
import { AlertsView } from './alerts.ts';
import { AssetList } from './assets.ts';
import { CommunicationMap } from './map.ts';
import { RiskPanel } from './risk.ts';
import { SensorTable } from './sensors.ts';

export const TABS = ['alerts', 'assets', 'map', 'sensors'] as const;
export type Tab = (typeof TABS)[number];

export function gradeName(grade: number): string {
  return t(`grade.${grade}` as MsgKey);
}

export function className(e: Enterprise, lang: string): string {
  return lang === 'zh-CN' ? e.classZh : t(`class.${e.class}` as MsgKey);
}

function EnterpriseBody(props: { e: Enterprise; tab: Tab; route: Route }) {
  const { e, tab, route } = props;
  const app = useAppState();
  const assets = useAsync(
    () =>
      tab === 'assets' || tab === 'map'
        ? apiGet<{ items: Asset[] }>(`/enterprises/${encodeURIComponent(e.id)}/assets`).then((r) => r.items)
        : Promise.resolve([] as Asset[]),
    [e.id, tab === 'assets' || tab === 'map'],
  );
  const sensors = useAsync(
    () =>
      tab === 'sensors'
        ? apiGet<{ items: Sensor[] }>('/sensors', { enterprise: e.id }).then((r) => r.items)
        : Promise.resolve([] as Sensor[]),
    [e.id, tab],
  );
  return h(
    'div',
    null,
    h(
      'dl',
      { class: 'facts', 'data-testid': 'enterprise-facts' },
      h('div', null, h('dt', null, t('common.id')), h('dd', { class: 'mono' }, e.id)),
      h('div', null, h('dt', null, t('common.city')), h('dd', null, e.city)),
      h('div', null, h('dt', null, t('common.industry')), h('dd', null, e.industry)),
      h('div', null, h('dt', null, t('enterprise.class')), h('dd', null, className(e, app.lang))),
      h('div', null, h('dt', null, t('enterprise.grade')), h('dd', null, gradeName(e.grade))),
    ),
    h(RiskPanel, { enterpriseId: e.id }),
    h(
      'nav',
      { class: 'tabs', 'aria-label': t('enterprise.sections') },
      ...TABS.map((x) =>
        h(
          'a',
          { href: href(['e', e.id, x]), 'aria-current': x === tab ? 'page' : undefined, key: x },
          t(`tab.${x}` as MsgKey),
        ),
      ),
    ),
    tab === 'alerts'
      ? h(AlertsView, { route, basePath: ['e', e.id, 'alerts'], fixedEnterprise: e.id, title: t('tab.alerts') })
      : tab === 'assets'
        ? h(
            Card,
            { title: t('tab.assets'), wide: true, testId: 'assets' },
            show(assets, (list) =>
              h(
                'div',
                null,
                h('p', { class: 'muted' }, t('asset.count', { n: formatNumber(list.length) })),
                h(AssetList, { assets: list }),
              ),
            ),
          )
        : tab === 'map'
          ? h(
              Card,
              { title: t('tab.map'), wide: true, testId: 'map' },
              h('p', { class: 'muted' }, t('map.hint')),
              show(assets, (list) => h(CommunicationMap, { assets: list })),
            )
          : h(
              Card,
              { title: t('tab.sensors'), wide: true, testId: 'enterprise-sensors' },
              show(sensors, (list) =>
                h(SensorTable, { sensors: list, showEnterprise: false, caption: t('tab.sensors') }),
              ),
            ),
  );
}

export function EnterprisePage(props: { id: string; tab: string; route: Route }) {
  const tab: Tab = (TABS as readonly string[]).includes(props.tab) ? (props.tab as Tab) : 'alerts';
  const e = useAsync(() => apiGet<Enterprise>(`/enterprises/${encodeURIComponent(props.id)}`), [props.id]);
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, e.data ? e.data.name : t('enterprise.title'))),
    show(e, (ent) => h(EnterpriseBody, { e: ent, tab, route: props.route })),
  );
}
