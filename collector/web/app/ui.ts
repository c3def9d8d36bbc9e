/// <reference lib="dom" />
/** Small shared pieces: data loading, error messages that say what a 403/404 means, level badges, tables. */
import { type ComponentChildren, h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure } from './api.ts';
import { type MsgKey, t } from './i18n.ts';
import type { Level } from './types.ts';

export interface Async<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

/** Runs `load` when `deps` change; a newer run wins over an older one still in flight. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    let current = true;
    setState((s) => ({ data: s.data, error: null, loading: true }));
    load().then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error: unknown) => current && setState({ data: null, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, deps);
  return state;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiFailure) {
    if (error.status === 403) return t('error.forbidden');
    if (error.status === 404) return t('error.notFound');
    if (error.status === 429) return t('error.rateLimited');
    if (error.status === 0) return t('error.network');
    return `${t('error.server')} (${error.status} ${error.code})`;
  }
  return t('error.unexpected');
}

export function ErrorBox(props: { error: unknown }) {
  return h('div', { class: 'notice notice-error', role: 'alert', 'data-testid': 'error' }, errorText(props.error));
}

export function Loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

export function Empty(props: { text?: string }) {
  return h('p', { class: 'empty' }, props.text ?? t('common.none'));
}

/** Renders loading / error / content for an Async value. */
export function show<T>(a: Async<T>, render: (data: T) => ComponentChildren): ComponentChildren {
  if (a.error) return h(ErrorBox, { error: a.error });
  if (a.data === null) return h(Loading, null);
  return render(a.data);
}

export function levelName(level: string): string {
  return t(`level.${level}` as MsgKey);
}

export function LevelBadge(props: { level: Level | string }) {
  return h('span', { class: `badge level-${props.level}` }, levelName(props.level));
}

export function Card(props: { title: string; children?: ComponentChildren; wide?: boolean; testId?: string }) {
  const id = `card-${props.title.replace(/\W+/g, '-')}`;
  return h(
    'section',
    { class: props.wide ? 'card card-wide' : 'card', 'aria-labelledby': id, 'data-testid': props.testId },
    h('h2', { id }, props.title),
    props.children,
  );
}

export interface Column<T> {
  head: string;
  cell: (row: T) => ComponentChildren;
  numeric?: boolean;
}

export function Table<T>(props: { caption: string; columns: Column<T>[]; rows: T[]; rowKey: (row: T) => string }) {
  if (props.rows.length === 0) return h(Empty, null);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      h('caption', { class: 'sr-only' }, props.caption),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ...props.columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, c.head)),
        ),
      ),
      h(
        'tbody',
        null,
        ...props.rows.map((r) =>
          h(
            'tr',
            { key: props.rowKey(r) },
            ...props.columns.map((c) => h('td', { class: c.numeric ? 'num' : undefined }, c.cell(r))),
          ),
        ),
      ),
    ),
  );
}

/** A labelled form field: the label is always tied to its control. */
export function Field(props: { id: string; label: string; children?: ComponentChildren }) {
  return h('div', { class: 'field' }, h('label', { for: props.id }, props.label), props.children);
}
