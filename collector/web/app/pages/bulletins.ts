/// <reference lib="dom" />
/**
 * Bulletins (通报, docs/bulletins.md): a province role generates one (period, scope, language), lists them, reads
 * one on the page, and downloads it as HTML, Markdown or PDF. The files need the session's token, so they are
 * fetched and saved from memory; "read" shows the Markdown text, since the page's CSP (no frames, no inline style)
 * rightly keeps the bulletin's own HTML out of this document — the downloaded HTML file opens on its own.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { apiFile, apiGet, apiPost, saveBlob } from '../api.ts';
import { nameOf, useEnterprises } from '../data.ts';
import { formatTime } from '../format.ts';
import { type MsgKey, t } from '../i18n.ts';
import { useAppState } from '../store.ts';
import { BULLETIN_PERIODS, type BulletinPeriod, type BulletinSummary } from '../types.ts';
import { Card, ErrorBox, Field, Loading, show, Table, useAsync } from '../ui.ts';

const SCOPES = ['province', 'city', 'industry'] as const;
type BulletinScope = (typeof SCOPES)[number];
const FORMATS = ['html', 'md', 'pdf'] as const;

function audienceText(b: BulletinSummary, ents: Parameters<typeof nameOf>[0]): string {
  const a = b.audience;
  if (a.enterprise) return nameOf(ents, a.enterprise);
  if (a.city) return `${t('common.city')}: ${a.city}`;
  if (a.industry) return `${t('common.industry')}: ${a.industry}`;
  return t('warning.wholeProvince', { province: a.province });
}

function GenerateForm(props: { onCreated: (b: BulletinSummary) => void }) {
  const app = useAppState();
  const ents = useEnterprises();
  const [period, setPeriod] = useState<BulletinPeriod>('weekly');
  const [scope, setScope] = useState<BulletinScope>('province');
  const [value, setValue] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [lang, setLang] = useState<string>(app.lang === 'en' ? 'en' : 'zh-CN');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const choices = [...new Set((ents.data ?? []).map((e) => (scope === 'city' ? e.city : e.industry)))].sort();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Dates are taken as Beijing calendar days (the bulletin's own time base).
      const iso = (d: string) => (d ? `${d}T00:00:00+08:00` : undefined);
      const body = {
        period,
        lang,
        ...(period === 'custom' ? { from: iso(from), to: iso(to) } : from ? { from: iso(from) } : {}),
        ...(scope === 'city' && value ? { city: value } : {}),
        ...(scope === 'industry' && value ? { industry: value } : {}),
      };
      props.onCreated(await apiPost<BulletinSummary>('/bulletins', body));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const select = (id: string, label: string, val: string, set: (v: string) => void, options: [string, string][]) =>
    h(
      Field,
      { id, label },
      h(
        'select',
        { id, value: val, onChange: (e: Event) => set((e.currentTarget as HTMLSelectElement).value) },
        ...options.map(([v, text]) => h('option', { value: v }, text)),
      ),
    );
  return h(
    'form',
    { class: 'filters', onSubmit: submit, 'aria-label': t('bulletins.generate'), 'data-testid': 'bulletin-form' },
    select(
      'b-period',
      t('bulletins.period'),
      period,
      (v) => setPeriod(v as BulletinPeriod),
      BULLETIN_PERIODS.map((p) => [p, t(`bulletins.period.${p}` as MsgKey)]),
    ),
    h(
      Field,
      { id: 'b-from', label: period === 'custom' ? t('bulletins.from') : t('bulletins.within') },
      h('input', {
        id: 'b-from',
        type: 'date',
        value: from,
        required: period === 'custom',
        onInput: (e: Event) => setFrom((e.currentTarget as HTMLInputElement).value),
      }),
    ),
    period === 'custom'
      ? h(
          Field,
          { id: 'b-to', label: t('bulletins.to') },
          h('input', {
            id: 'b-to',
            type: 'date',
            value: to,
            required: true,
            onInput: (e: Event) => setTo((e.currentTarget as HTMLInputElement).value),
          }),
        )
      : null,
    select(
      'b-scope',
      t('bulletins.scope'),
      scope,
      (v) => {
        setScope(v as BulletinScope);
        setValue('');
      },
      SCOPES.map((s) => [s, t(`bulletins.scope.${s}` as MsgKey)]),
    ),
    scope === 'province'
      ? null
      : select('b-value', scope === 'city' ? t('common.city') : t('common.industry'), value, setValue, [
          ['', t('bulletins.choose')],
          ...choices.map((c): [string, string] => [c, c]),
        ]),
    select('b-lang', t('settings.language'), lang, setLang, [
      ['zh-CN', '简体中文'],
      ['en', 'English'],
    ]),
    h('button', { type: 'submit', class: 'primary', disabled: busy }, t('bulletins.generateSubmit')),
    busy ? h(Loading, null) : null,
    error ? h(ErrorBox, { error }) : null,
  );
}

function linkPath(link: string): string {
  return link.replace(/^\/api\/v1/, '');
}

export function BulletinsPage() {
  const app = useAppState();
  const ents = useEnterprises();
  const province = app.me?.token.role === 'province-admin' || app.me?.token.role === 'province-analyst';
  const [version, setVersion] = useState(0);
  const [created, setCreated] = useState<string | null>(null);
  const [reading, setReading] = useState<{ id: string; text: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = useAsync(() => apiGet<{ items: BulletinSummary[] }>('/bulletins').then((r) => r.items), [version]);
  const download = async (b: BulletinSummary, format: (typeof FORMATS)[number]) => {
    setError(null);
    try {
      saveBlob(await apiFile(linkPath(b.links[format])), `${b.id}.${format}`);
    } catch (err) {
      setError(err);
    }
  };
  const read = async (b: BulletinSummary) => {
    setError(null);
    try {
      setReading({ id: b.id, text: await (await apiFile(linkPath(b.links.md))).text() });
    } catch (err) {
      setError(err);
    }
  };
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('bulletins.title'))),
    province
      ? h(
          Card,
          { title: t('bulletins.generate'), wide: true, testId: 'bulletin-generate' },
          h(GenerateForm, {
            onCreated: (b) => {
              setCreated(b.id);
              setVersion((v) => v + 1);
            },
          }),
          created
            ? h('p', { class: 'notice', role: 'status', 'data-testid': 'bulletin-created' }, t('bulletins.created'))
            : null,
        )
      : null,
    error ? h(ErrorBox, { error }) : null,
    h(
      Card,
      { title: t('bulletins.list'), wide: true, testId: 'bulletins' },
      show(list, (items) =>
        h(Table<BulletinSummary>, {
          caption: t('bulletins.list'),
          rows: items,
          rowKey: (b) => b.id,
          columns: [
            { head: t('bulletins.generatedAt'), cell: (b) => formatTime(b.generatedAt) },
            {
              head: t('bulletins.period'),
              cell: (b) =>
                `${t(`bulletins.period.${b.period.kind}` as MsgKey)} · ${formatTime(b.period.from)} – ${formatTime(b.period.to)}`,
            },
            { head: t('bulletins.scope'), cell: (b) => audienceText(b, ents.data) },
            { head: t('settings.language'), cell: (b) => (b.lang === 'en' ? 'English' : '简体中文') },
            {
              head: t('bulletins.actions'),
              cell: (b) =>
                h(
                  'div',
                  { class: 'actions' },
                  h(
                    'button',
                    { type: 'button', onClick: () => read(b), 'aria-label': `${t('bulletins.read')} ${b.id}` },
                    t('bulletins.read'),
                  ),
                  ...FORMATS.map((f) =>
                    h(
                      'button',
                      {
                        type: 'button',
                        'data-format': f,
                        onClick: () => download(b, f),
                        'aria-label': `${t(`bulletins.download.${f}` as MsgKey)} ${b.id}`,
                      },
                      t(`bulletins.download.${f}` as MsgKey),
                    ),
                  ),
                ),
            },
          ],
        }),
      ),
    ),
    reading
      ? h(
          Card,
          { title: t('bulletins.reading'), wide: true, testId: 'bulletin-text' },
          h('pre', { class: 'bulletin-text', tabIndex: 0, 'aria-label': t('bulletins.reading') }, reading.text),
        )
      : null,
  );
}
