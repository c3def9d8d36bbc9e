/// <reference lib="dom" />
/**
 * Warnings (预警, docs/warnings.md): the list in scope with level (colour and name), state and audience, and one
 * warning's detail: the facts that triggered it, its targets, and its history (issued, each acknowledgement with
 * who and when, closed). An enterprise acknowledges a warning addressed to it; a province admin closes one. The API
 * decides who may do what; the page only offers the action to the roles that have it.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { apiGet, apiPost } from '../api.ts';
import { nameOf, useEnterprises } from '../data.ts';
import { formatTime } from '../format.ts';
import { type MsgKey, t } from '../i18n.ts';
import { href, navigate, type Route } from '../router.ts';
import { useAppState } from '../store.ts';
import { type Enterprise, type PageResult, WARNING_LEVELS, WARNING_STATES, type Warning } from '../types.ts';
import { Card, ErrorBox, Field, show, Table, useAsync } from '../ui.ts';

export function WarningBadge(props: { level: string }) {
  return h(
    'span',
    { class: `badge wlevel-${props.level}`, 'data-testid': 'warning-level' },
    t(`wlevel.${props.level}` as MsgKey),
  );
}

export function stateName(state: string): string {
  return t(`wstate.${state}` as MsgKey);
}

export function warningTitle(w: Warning, lang: string): string {
  return lang === 'zh-CN' ? w.title.zh : w.title.en;
}

function audienceText(w: Warning, ents: Enterprise[] | null): string {
  const a = w.audience;
  if (a.enterprises?.length) return a.enterprises.map((id) => nameOf(ents, id)).join('、');
  const parts: string[] = [];
  if (a.cities?.length) parts.push(`${t('common.city')}: ${a.cities.join('、')}`);
  if (a.industries?.length) parts.push(`${t('common.industry')}: ${a.industries.join('、')}`);
  return parts.length ? parts.join(' · ') : t('warning.wholeProvince', { province: a.province });
}

export function WarningsPage(props: { route: Route }) {
  const app = useAppState();
  const ents = useEnterprises();
  const state = props.route.query.get('state') ?? '';
  const level = props.route.query.get('level') ?? '';
  const list = useAsync(
    () => apiGet<PageResult<Warning>>('/warnings', { state, level, limit: 200 }).then((r) => r.items),
    // New alerts are what warnings are raised from: refetch when the live stream brings some.
    [state, level, app.liveAlerts.length],
  );
  const setFilter = (key: 'state' | 'level', value: string) =>
    navigate(href(['warnings'], { state, level, [key]: value }));
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('warnings.title'))),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        'aria-label': t('warnings.filter'),
        onSubmit: (e: Event) => e.preventDefault(),
      },
      h(
        Field,
        { id: 'w-state', label: t('warning.state') },
        h(
          'select',
          {
            id: 'w-state',
            value: state,
            onChange: (e: Event) => setFilter('state', (e.currentTarget as HTMLSelectElement).value),
          },
          h('option', { value: '' }, t('filter.any')),
          ...WARNING_STATES.map((s) => h('option', { value: s }, stateName(s))),
        ),
      ),
      h(
        Field,
        { id: 'w-level', label: t('common.level') },
        h(
          'select',
          {
            id: 'w-level',
            value: level,
            onChange: (e: Event) => setFilter('level', (e.currentTarget as HTMLSelectElement).value),
          },
          h('option', { value: '' }, t('filter.any')),
          ...[...WARNING_LEVELS].reverse().map((l) => h('option', { value: l }, t(`wlevel.${l}` as MsgKey))),
        ),
      ),
    ),
    h(
      Card,
      { title: t('warnings.list'), wide: true, testId: 'warnings' },
      show(list, (items) =>
        h(Table<Warning>, {
          caption: t('warnings.list'),
          rows: items,
          rowKey: (w) => w.id,
          columns: [
            { head: t('warning.issuedAt'), cell: (w) => formatTime(w.issuedAt) },
            { head: t('common.level'), cell: (w) => h(WarningBadge, { level: w.level }) },
            {
              head: t('warning.title'),
              cell: (w) => h('a', { href: href(['warning', w.id]) }, warningTitle(w, app.lang)),
            },
            {
              head: t('warning.state'),
              cell: (w) => h('span', { 'data-testid': 'warning-state' }, stateName(w.state)),
            },
            { head: t('warning.audience'), cell: (w) => audienceText(w, ents.data) },
            {
              head: t('warning.acks'),
              numeric: true,
              cell: (w) => `${w.targets.filter((x) => x.ackAt !== null).length} / ${w.targets.length}`,
            },
          ],
        }),
      ),
    ),
  );
}

interface HistoryItem {
  at: string;
  text: string;
}

export function warningHistory(w: Warning, ents: Enterprise[] | null): HistoryItem[] {
  const items: HistoryItem[] = [{ at: w.issuedAt, text: t('warning.hIssued', { by: w.issuedBy }) }];
  for (const target of w.targets) {
    if (target.ackAt === null) continue;
    const note = target.ackNote ? ` — ${target.ackNote}` : '';
    items.push({
      at: target.ackAt,
      text: `${t('warning.hAck', { enterprise: nameOf(ents, target.enterpriseId), by: target.ackBy ?? '' })}${note}`,
    });
  }
  if (w.closedAt !== null) {
    const note = w.closeNote ? ` — ${w.closeNote}` : '';
    items.push({ at: w.closedAt, text: `${t('warning.hClosed', { by: w.closedBy ?? '' })}${note}` });
  }
  return items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function ActionForm(props: {
  id: string;
  label: string;
  submit: string;
  required: boolean;
  act: (note: string) => Promise<void>;
}) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    if (props.required && note.trim() === '') {
      setError(new Error('empty'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await props.act(note.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return h(
    'form',
    { class: 'actions', onSubmit, 'data-testid': `${props.id}-form` },
    h(
      Field,
      { id: props.id, label: props.label },
      h('input', {
        id: props.id,
        type: 'text',
        value: note,
        maxLength: 2000,
        'aria-required': props.required ? 'true' : undefined,
        'aria-invalid': error ? 'true' : undefined,
        onInput: (e: Event) => setNote((e.currentTarget as HTMLInputElement).value),
      }),
    ),
    h('button', { type: 'submit', class: 'primary', disabled: busy }, props.submit),
    error
      ? error instanceof Error && error.message === 'empty'
        ? h('p', { class: 'notice notice-error', role: 'alert' }, t('warning.noteRequired'))
        : h(ErrorBox, { error })
      : null,
  );
}

export function WarningPage(props: { id: string }) {
  const app = useAppState();
  const ents = useEnterprises();
  const [version, setVersion] = useState(0);
  const [fresh, setFresh] = useState<Warning | null>(null);
  const loaded = useAsync(() => apiGet<Warning>(`/warnings/${encodeURIComponent(props.id)}`), [props.id, version]);
  const w = fresh ?? loaded.data;
  const role = app.me?.token.role;
  const own = app.me?.token.enterprises[0];
  const done = (next: Warning) => {
    setFresh(next);
    setVersion((v) => v + 1);
  };
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, w ? warningTitle(w, app.lang) : t('warning.detail'))),
    w === null
      ? show(loaded, () => null)
      : h(
          'div',
          { class: 'grid' },
          h(
            Card,
            { title: t('warning.detail'), wide: true, testId: 'warning-detail' },
            h(
              'dl',
              { class: 'facts' },
              h('div', null, h('dt', null, t('common.level')), h('dd', null, h(WarningBadge, { level: w.level }))),
              h(
                'div',
                null,
                h('dt', null, t('warning.state')),
                h('dd', { 'data-testid': 'warning-state' }, stateName(w.state)),
              ),
              h('div', null, h('dt', null, t('warning.audience')), h('dd', null, audienceText(w, ents.data))),
              h('div', null, h('dt', null, t('common.rule')), h('dd', { class: 'mono' }, w.ruleId)),
              h('div', null, h('dt', null, t('warning.issuedAt')), h('dd', null, formatTime(w.issuedAt))),
              w.drill ? h('div', null, h('dt', null, t('warning.drill')), h('dd', null, t('common.yes'))) : null,
            ),
            w.description ? h('p', null, w.description) : null,
          ),
          h(
            Card,
            { title: t('warning.facts'), wide: true, testId: 'warning-facts' },
            h(
              'ul',
              null,
              ...w.facts.map((f, i) =>
                h(
                  'li',
                  { key: String(i) },
                  app.lang === 'zh-CN' ? f.textZh : f.text,
                  f.enterpriseId ? h('span', { class: 'muted' }, ` · ${nameOf(ents.data, f.enterpriseId)}`) : null,
                  ...f.evidence
                    .filter((ev) => ev.kind === 'alert')
                    .slice(0, 5)
                    .map((ev) =>
                      h('span', { key: ev.id }, ' · ', h('a', { href: href(['alert', ev.id]) }, ev.label ?? ev.id)),
                    ),
                ),
              ),
            ),
          ),
          h(
            Card,
            { title: t('warning.targets'), testId: 'warning-targets' },
            h(Table<Warning['targets'][number]>, {
              caption: t('warning.targets'),
              rows: w.targets,
              rowKey: (x) => x.enterpriseId,
              columns: [
                { head: t('common.enterprise'), cell: (x) => nameOf(ents.data, x.enterpriseId) },
                { head: t('warning.ackAt'), cell: (x) => (x.ackAt ? formatTime(x.ackAt) : t('warning.notAcked')) },
                { head: t('warning.ackBy'), cell: (x) => x.ackBy ?? '—' },
              ],
            }),
          ),
          h(
            Card,
            { title: t('warning.history'), testId: 'warning-history' },
            h(
              'ol',
              { class: 'history' },
              ...warningHistory(w, ents.data).map((item, i) =>
                h('li', { key: String(i) }, h('time', { dateTime: item.at }, formatTime(item.at)), ' ', item.text),
              ),
            ),
          ),
          role === 'enterprise' &&
            w.state !== 'closed' &&
            w.targets.some((x) => x.enterpriseId === own && x.ackAt === null)
            ? h(
                Card,
                { title: t('warning.ack'), wide: true, testId: 'warning-ack' },
                h(ActionForm, {
                  id: 'ack-note',
                  label: t('warning.ackNote'),
                  submit: t('warning.ackSubmit'),
                  required: false,
                  act: async (note) =>
                    done(await apiPost<Warning>(`/warnings/${encodeURIComponent(w.id)}/ack`, note ? { note } : {})),
                }),
              )
            : null,
          role === 'province-admin' && w.state !== 'closed'
            ? h(
                Card,
                { title: t('warning.close'), wide: true, testId: 'warning-close' },
                h(ActionForm, {
                  id: 'close-note',
                  label: t('warning.closeNote'),
                  submit: t('warning.closeSubmit'),
                  required: true,
                  act: async (note) =>
                    done(await apiPost<Warning>(`/warnings/${encodeURIComponent(w.id)}/close`, { note })),
                }),
              )
            : null,
        ),
  );
}

/** The overview's "warnings in force": issued or acknowledged, not yet closed. */
export function WarningsInForce() {
  const app = useAppState();
  const list = useAsync(
    () =>
      Promise.all([
        apiGet<PageResult<Warning>>('/warnings', { state: 'issued', limit: 100 }),
        apiGet<PageResult<Warning>>('/warnings', { state: 'acknowledged', limit: 100 }),
      ]).then(([a, b]) => [...a.items, ...b.items]),
    [app.liveAlerts.length],
  );
  return h(
    Card,
    { title: t('overview.warningsInForce'), wide: true, testId: 'warnings-in-force' },
    show(list, (items) =>
      h(Table<Warning>, {
        caption: t('overview.warningsInForce'),
        rows: items.slice(0, 10),
        rowKey: (w) => w.id,
        columns: [
          { head: t('common.level'), cell: (w) => h(WarningBadge, { level: w.level }) },
          {
            head: t('warning.title'),
            cell: (w) => h('a', { href: href(['warning', w.id]) }, warningTitle(w, app.lang)),
          },
          { head: t('warning.state'), cell: (w) => stateName(w.state) },
          { head: t('warning.issuedAt'), cell: (w) => formatTime(w.issuedAt) },
        ],
      }),
    ),
  );
}
