/// <reference lib="dom" />
/** One alert with its evidence: the rule, level, ATT&CK tags, and the event the sensor sent (flow, addresses, raw codes). */
import { h, isValidElement } from 'preact';
import { useState } from 'preact/hooks';
import { apiGet, apiRequest } from '../api.ts';
import { nameOf, useEnterprises } from '../data.ts';
import { formatNumber, formatTime } from '../format.ts';
import { t } from '../i18n.ts';
import { href } from '../router.ts';
import { useAppState } from '../store.ts';
import type { Alert, Role } from '../types.ts';
import { Card, ErrorBox, Field, LevelBadge, show, useAsync } from '../ui.ts';

/** Who may resolve an alert (the API enforces it; the form is only offered to them). */
export const RESOLVERS: readonly Role[] = ['enterprise', 'province-admin'];

/** The alert's handling: who resolved it, when, with which note; or a form for those who may resolve it. */
function Resolution(props: { alert: Alert; onResolved: (a: Alert) => void }) {
  const app = useAppState();
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const r = props.alert.resolution;
  if (r) {
    return h(
      'div',
      { 'data-testid': 'resolution' },
      h('p', null, h('span', { class: 'status status-ok' }, t('resolution.resolved'))),
      h(Dl, {
        rows: [
          [t('resolution.at'), formatTime(r.resolvedAt)],
          [t('resolution.by'), r.resolvedBy],
          [t('resolution.note'), r.note],
        ],
      }),
    );
  }
  const role = app.me?.token.role;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (note.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      props.onResolved(
        await apiRequest<Alert>(
          'POST',
          `/alerts/${encodeURIComponent(props.alert.uid)}/resolve`,
          undefined,
          undefined,
          {
            note: note.trim(),
          },
        ),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return h(
    'div',
    { 'data-testid': 'resolution' },
    h('p', null, h('span', { class: 'status status-bad' }, t('resolution.open'))),
    role && RESOLVERS.includes(role)
      ? h(
          'form',
          { class: 'resolve', onSubmit: submit },
          h(
            Field,
            { id: 'resolve-note', label: t('resolution.note') },
            h('textarea', {
              id: 'resolve-note',
              rows: 3,
              maxLength: 2000,
              required: true,
              value: note,
              onInput: (e: Event) => setNote((e.currentTarget as HTMLTextAreaElement).value),
            }),
          ),
          error ? h(ErrorBox, { error }) : null,
          h('button', { type: 'submit', class: 'primary', disabled: busy }, t('resolution.submit')),
        )
      : null,
  );
}

/** `attack.t0855` → `T0855` (MITRE ATT&CK for ICS technique id), else null. */
export function attackId(tag: string): string | null {
  const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(tag);
  return m?.[1] ? m[1].toUpperCase() : null;
}

/** Packet time with the nanoseconds the event keeps beyond the ISO string's microseconds. */
export function packetTime(ts: string, tsNs: number | undefined): string {
  const base = formatTime(ts);
  if (tsNs === undefined) return base;
  return `${base}.${String(tsNs).padStart(9, '0')}`;
}

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function Dl(props: { rows: [string, unknown][]; testId?: string }) {
  return h(
    'dl',
    { class: 'kv', 'data-testid': props.testId },
    ...props.rows.map(([k, v]) =>
      h('div', { key: k }, h('dt', null, k), h('dd', null, isValidElement(v) ? v : value(v))),
    ),
  );
}

export function AlertPage(props: { uid: string }) {
  const alert = useAsync(() => apiGet<Alert>(`/alerts/${encodeURIComponent(props.uid)}`), [props.uid]);
  const enterprises = useEnterprises();
  const [updated, setUpdated] = useState<Alert | null>(null);
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('alert.title'))),
    show(alert, (loaded) => {
      const a = updated?.uid === loaded.uid ? updated : loaded;
      const ev = a.event;
      const tags = a.tags.map((tag) => ({ tag, attack: attackId(tag) }));
      return h(
        'div',
        { class: 'grid' },
        h(
          Card,
          { title: t('alert.rule'), testId: 'alert-rule' },
          h(Dl, {
            rows: [
              [t('alert.ruleTitle'), a.ruleTitle],
              [t('alert.ruleId'), a.ruleId],
              [t('common.level'), h(LevelBadge, { level: a.level })],
              [t('common.count'), formatNumber(a.count)],
              [
                t('common.enterprise'),
                h('a', { href: href(['e', a.enterpriseId]) }, nameOf(enterprises.data, a.enterpriseId)),
              ],
              [t('common.sensor'), a.sensorId],
              [t('alert.received'), formatTime(a.receivedAt)],
              [t('alert.drill'), a.drill ? t('common.yes') : t('common.no')],
            ],
          }),
          h('h3', null, t('alert.tags')),
          h(
            'ul',
            { class: 'tags', 'data-testid': 'alert-tags' },
            ...tags.map(({ tag, attack }) =>
              h(
                'li',
                { key: tag },
                attack
                  ? h('span', { class: 'tag attack', title: tag }, `ATT&CK ${attack}`)
                  : h('span', { class: 'tag' }, tag),
              ),
            ),
          ),
        ),
        h(
          Card,
          { title: t('alert.evidence'), testId: 'alert-evidence' },
          ev
            ? h(Dl, {
                rows: [
                  [t('alert.packetTime'), packetTime(ev.ts, ev.tsNs)],
                  [t('common.protocol'), ev.proto],
                  [t('alert.flowId'), ev.flow],
                  [t('alert.eventId'), ev.id],
                  [t('alert.client'), `${ev.client.ip}:${ev.client.port}${ev.client.mac ? ` (${ev.client.mac})` : ''}`],
                  [t('alert.server'), `${ev.server.ip}:${ev.server.port}${ev.server.mac ? ` (${ev.server.mac})` : ''}`],
                ],
              })
            : null,
          h('h3', null, t('alert.matched')),
          ev ? h(Dl, { rows: Object.entries(ev.alert.matched), testId: 'alert-matched' }) : null,
        ),
        h(
          Card,
          { title: t('resolution.title'), testId: 'alert-resolution' },
          h(Resolution, { alert: a, onResolved: setUpdated }),
        ),
        h(
          Card,
          { title: t('alert.raw'), wide: true },
          h('pre', { class: 'raw', tabIndex: 0, 'aria-label': t('alert.raw') }, JSON.stringify(ev, null, 2)),
        ),
      );
    }),
  );
}
