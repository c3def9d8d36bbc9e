/// <reference lib="dom" />
/**
 * Risk scores (docs/risk.md): the province overview's enterprises ranked by score, each with the facts that weigh
 * most in it (a native disclosure, so it opens with Enter/Space), and one enterprise's score explained factor by
 * factor. The contributions' points sum to the score; the API computes everything.
 */
import { h } from 'preact';
import { apiGet } from '../api.ts';
import { nameOf, useEnterprises } from '../data.ts';
import { formatNumber, formatTime } from '../format.ts';
import { type MsgKey, t } from '../i18n.ts';
import { href } from '../router.ts';
import { useAppState } from '../store.ts';
import type { RiskContribution, RiskScore } from '../types.ts';
import { Card, Empty, show, Table, useAsync } from '../ui.ts';

export function factorName(factor: string): string {
  return t(`risk.factor.${factor}` as MsgKey);
}

export function formatScore(score: number): string {
  return formatNumber(Math.round(score * 10) / 10);
}

/** Contributions that add points, largest first. */
export function topContributions(score: RiskScore, n: number): RiskContribution[] {
  return [...score.contributions]
    .filter((c) => c.points > 0)
    .sort((a, b) => b.points - a.points)
    .slice(0, n);
}

function detailText(c: RiskContribution, lang: string): string {
  return lang === 'zh-CN' ? c.detailZh : c.detail;
}

/** The overview's "top enterprises by risk". */
export function TopRiskCard() {
  const app = useAppState();
  const enterprises = useEnterprises();
  const scores = useAsync(
    () => apiGet<{ items: RiskScore[] }>('/risk').then((r) => r.items),
    [app.liveAlerts.length > 0],
  );
  return h(
    Card,
    { title: t('risk.top'), wide: true, testId: 'top-risk' },
    show(scores, (items) =>
      h(Table<RiskScore>, {
        caption: t('risk.top'),
        rows: [...items].sort((a, b) => b.score - a.score).slice(0, 10),
        rowKey: (s) => s.enterpriseId,
        columns: [
          {
            head: t('common.enterprise'),
            cell: (s) => h('a', { href: href(['e', s.enterpriseId]) }, nameOf(enterprises.data, s.enterpriseId)),
          },
          { head: t('risk.score'), numeric: true, cell: (s) => h('strong', null, formatScore(s.score)) },
          {
            head: t('risk.topFacts'),
            cell: (s) => {
              const top = topContributions(s, 3);
              if (top.length === 0) return t('risk.noFacts');
              return h(
                'details',
                { 'data-testid': `risk-facts-${s.enterpriseId}` },
                h('summary', null, top.map((c) => `${factorName(c.factor)} +${formatScore(c.points)}`).join(' · ')),
                h('ul', { class: 'plain' }, ...top.map((c) => h('li', { key: c.factor }, detailText(c, app.lang)))),
              );
            },
          },
          { head: t('risk.computedAt'), cell: (s) => formatTime(s.computedAt) },
        ],
      }),
    ),
  );
}

/** One enterprise's score with every contribution (enterprise view). */
export function RiskPanel(props: { enterpriseId: string }) {
  const app = useAppState();
  const risk = useAsync(
    () =>
      apiGet<{ score: RiskScore; history: { computedAt: string; score: number }[] }>(
        `/risk/${encodeURIComponent(props.enterpriseId)}`,
      ).then(
        (r) => ({ r }),
        (err: unknown) => {
          // No score yet is not an error for the page: the rest of the enterprise is still shown.
          if ((err as { status?: number }).status === 404) return { r: null };
          throw err;
        },
      ),
    [props.enterpriseId],
  );
  return h(
    Card,
    { title: t('risk.title'), wide: true, testId: 'enterprise-risk' },
    show(risk, ({ r }) => {
      if (r === null) return h(Empty, { text: t('risk.none') });
      const rows = [...r.score.contributions].sort((a, b) => b.points - a.points);
      return h(
        'div',
        null,
        h(
          'p',
          null,
          h('span', { class: 'score', 'data-testid': 'risk-score' }, formatScore(r.score.score)),
          h('span', { class: 'muted' }, ` / 100 · ${t('risk.computedAt')} ${formatTime(r.score.computedAt)}`),
        ),
        h(Table<RiskContribution>, {
          caption: t('risk.explained'),
          rows,
          rowKey: (c) => c.factor,
          columns: [
            { head: t('risk.factor'), cell: (c) => factorName(c.factor) },
            { head: t('risk.points'), numeric: true, cell: (c) => formatScore(c.points) },
            { head: t('risk.weight'), numeric: true, cell: (c) => formatScore(c.weight) },
            { head: t('risk.detail'), cell: (c) => detailText(c, app.lang) },
            {
              head: t('risk.evidence'),
              cell: (c) =>
                c.evidence.length === 0
                  ? '—'
                  : h(
                      'ul',
                      { class: 'plain' },
                      ...c.evidence
                        .slice(0, 5)
                        .map((ev) =>
                          h(
                            'li',
                            { key: `${ev.kind}:${ev.id}` },
                            ev.kind === 'alert'
                              ? h('a', { href: href(['alert', ev.id]) }, ev.label ?? ev.id)
                              : `${t(`risk.kind.${ev.kind}` as MsgKey)} ${ev.label ?? ev.id}`,
                          ),
                        ),
                      c.evidence.length > 5 ? h('li', null, t('risk.more', { n: c.evidence.length - 5 })) : null,
                    ),
            },
          ],
        }),
      );
    }),
  );
}
