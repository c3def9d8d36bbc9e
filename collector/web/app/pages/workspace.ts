/// <reference lib="dom" />
/**
 * Assessor workspace (定级核查): the enterprises assigned to the assessor with their declared grade and class, and for
 * each the grading flags of its evidence pack (read from the signed pack's pack.json), and a download of the signed
 * pack as the API returns it (the one-file JSON bundle, verifiable with `otcollector verify`). Every pull is audited
 * by the API; a pull outside the assessor's assignments is refused (404) and audited too.
 */
import { h } from 'preact';
import { apiGet, saveBlob } from '../api.ts';
import { useEnterprises } from '../data.ts';
import { type MsgKey, t } from '../i18n.ts';
import { href } from '../router.ts';
import { useAppState } from '../store.ts';
import type { Enterprise, GradingFlag, PackBundle } from '../types.ts';
import { Card, Empty, show, useAsync } from '../ui.ts';
import { className, gradeName } from './enterprise.ts';

/** The pack.json inside a bundle (base64 UTF-8). */
export function packData(bundle: PackBundle): { packId?: string; flags: GradingFlag[] } {
  const b64 = bundle.files['pack.json'];
  if (b64 === undefined) return { flags: [] };
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = JSON.parse(new TextDecoder().decode(bytes)) as { packId?: string; flags?: GradingFlag[] };
  return { ...(data.packId !== undefined ? { packId: data.packId } : {}), flags: data.flags ?? [] };
}

function suggestion(f: GradingFlag): string {
  const parts: string[] = [];
  if (f.suggestedGrade !== null) {
    parts.push(
      t('pack.suggestGrade', { declared: gradeName(f.declaredGrade), suggested: gradeName(f.suggestedGrade) }),
    );
  }
  if (f.suggestedClass !== null) {
    const cls = (c: string) => t(`class.${c}` as MsgKey);
    parts.push(t('pack.suggestClass', { declared: cls(f.declaredClass), suggested: cls(f.suggestedClass) }));
  }
  return parts.join(' · ');
}

/** One enterprise's pack: its flags and the signed bundle to download. */
export function PackPanel(props: { enterpriseId: string; heading?: boolean }) {
  const app = useAppState();
  const pack = useAsync(
    () =>
      apiGet<PackBundle>(`/enterprises/${encodeURIComponent(props.enterpriseId)}/evidence-pack`, {
        lang: app.lang === 'en' ? 'en' : 'zh-CN',
      }).then((bundle) => ({ bundle, ...packData(bundle) })),
    [props.enterpriseId],
  );
  return h(
    'div',
    { 'data-testid': `pack-${props.enterpriseId}` },
    show(pack, (p) =>
      h(
        'div',
        null,
        p.flags.length === 0
          ? h(Empty, { text: t('pack.noFlags') })
          : h(
              'ul',
              { class: 'plain', 'aria-label': t('pack.flags') },
              ...p.flags.map((f) =>
                h(
                  'li',
                  { class: 'flag', key: f.rule, 'data-rule': f.rule },
                  h('strong', null, app.lang === 'zh-CN' ? f.title.zh : f.title.en),
                  h('span', { class: 'muted' }, ` (${f.rule})`),
                  h('br', null),
                  suggestion(f),
                  h('br', null),
                  app.lang === 'zh-CN' ? f.observed.zh : f.observed.en,
                ),
              ),
            ),
        h(
          'button',
          {
            type: 'button',
            'data-testid': 'pack-download',
            onClick: () =>
              saveBlob(
                new Blob([JSON.stringify(p.bundle)], { type: 'application/json' }),
                `${p.packId ?? props.enterpriseId}.otpack.json`,
              ),
          },
          t('pack.download'),
        ),
      ),
    ),
  );
}

function EnterpriseCard(props: { e: Enterprise }) {
  const app = useAppState();
  const { e } = props;
  return h(
    Card,
    { title: e.name, wide: true, testId: `workspace-${e.id}` },
    h(
      'dl',
      { class: 'facts' },
      h('div', null, h('dt', null, t('common.id')), h('dd', { class: 'mono' }, e.id)),
      h('div', null, h('dt', null, t('common.city')), h('dd', null, e.city)),
      h('div', null, h('dt', null, t('common.industry')), h('dd', null, e.industry)),
      h('div', null, h('dt', null, t('enterprise.class')), h('dd', null, className(e, app.lang))),
      h('div', null, h('dt', null, t('enterprise.grade')), h('dd', null, gradeName(e.grade))),
    ),
    h('p', null, h('a', { href: href(['e', e.id, 'assets']) }, t('pack.inventory'))),
    h('h3', null, t('pack.flags')),
    h(PackPanel, { enterpriseId: e.id }),
  );
}

export function WorkspacePage() {
  const ents = useEnterprises();
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('workspace.title'))),
    h('p', { class: 'muted' }, t('workspace.hint')),
    show(ents, (list) =>
      list.length === 0
        ? h(Empty, null)
        : h('div', { class: 'grid' }, ...list.map((e) => h(EnterpriseCard, { e, key: e.id }))),
    ),
  );
}

/** `#/pack/<id>`: one enterprise's pack (refused by the API outside the caller's scope). */
export function PackPage(props: { id: string }) {
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { tabIndex: -1 }, t('pack.title'))),
    h(Card, { title: props.id, wide: true }, h(PackPanel, { enterpriseId: props.id })),
  );
}
