/// <reference lib="dom" />
/**
 * The dashboard's entry: the page shell (skip link, banner, navigation by role, language and time-zone switches,
 * live status, sign-out) and the hash routes. Each role's home: the province overview for province roles, its own
 * enterprise for an enterprise, the assigned enterprises for an assessor.
 */
import './styles.css';
import { type ComponentChildren, h, render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { apiGet } from './api.ts';
import { formatTime, zoneLabel } from './format.ts';
import { LANGS, type MsgKey, t } from './i18n.ts';
import { startLive, stopLive } from './live-client.ts';
import { AlertPage } from './pages/alert.ts';
import { AlertsPage } from './pages/alerts.ts';
import { BulletinsPage } from './pages/bulletins.ts';
import { EnterprisePage } from './pages/enterprise.ts';
import { EnterprisesPage } from './pages/enterprises.ts';
import { OverviewPage } from './pages/overview.ts';
import { SensorsPage } from './pages/sensors.ts';
import { SignInPage } from './pages/signin.ts';
import { WarningPage, WarningsPage } from './pages/warnings.ts';
import { PackPage, WorkspacePage } from './pages/workspace.ts';
import { href, navigate, type Route, useRoute } from './router.ts';
import { getState, setState, useAppState } from './store.ts';
import type { Me, Role } from './types.ts';
import { ErrorBox, Loading, useAsync } from './ui.ts';

export const TIME_ZONES = ['Asia/Shanghai', 'UTC'] as const;

const PROVINCE_ROLES: readonly Role[] = ['province-admin', 'province-analyst'];

function isProvince(me: Me): boolean {
  return PROVINCE_ROLES.includes(me.token.role);
}

function homeOf(me: Me): string {
  if (isProvince(me)) return href(['overview']);
  if (me.token.role === 'enterprise' && me.token.enterprises[0]) return href(['e', me.token.enterprises[0]]);
  return href(['enterprises']);
}

interface NavItem {
  to: string;
  label: MsgKey;
  match: string;
}

function navFor(me: Me): NavItem[] {
  const items: NavItem[] = [];
  if (isProvince(me)) items.push({ to: href(['overview']), label: 'nav.overview', match: 'overview' });
  if (me.token.role === 'enterprise' && me.token.enterprises[0]) {
    items.push({ to: href(['e', me.token.enterprises[0]]), label: 'nav.myEnterprise', match: 'e' });
  } else {
    items.push({
      to: href(['enterprises']),
      label: me.token.role === 'assessor' ? 'nav.assigned' : 'nav.enterprises',
      match: 'enterprises',
    });
  }
  if (me.token.role === 'assessor') items.push({ to: href(['workspace']), label: 'nav.workspace', match: 'workspace' });
  items.push({ to: href(['alerts']), label: 'nav.alerts', match: 'alerts' });
  items.push({ to: href(['warnings']), label: 'nav.warnings', match: 'warnings' });
  if (isProvince(me)) items.push({ to: href(['bulletins']), label: 'nav.bulletins', match: 'bulletins' });
  items.push({ to: href(['sensors']), label: 'nav.sensors', match: 'sensors' });
  return items;
}

function Refused(props: { text: string }) {
  return h(
    'div',
    { class: 'page' },
    h('h1', { tabIndex: -1 }, t('error.title')),
    h('div', { class: 'notice notice-error', role: 'alert', 'data-testid': 'error' }, props.text),
  );
}

function Page(props: { route: Route; me: Me }) {
  const [first, second, third] = props.route.path;
  switch (first) {
    case undefined:
      return null;
    case 'overview':
      return isProvince(props.me) ? h(OverviewPage, null) : h(Refused, { text: t('error.roleRefused') });
    case 'enterprises':
      return h(EnterprisesPage, null);
    case 'e':
      return second
        ? h(EnterprisePage, { id: second, tab: third ?? 'alerts', route: props.route })
        : h(EnterprisesPage, null);
    case 'alerts':
      return h(AlertsPage, { route: props.route });
    case 'alert':
      return second ? h(AlertPage, { uid: second }) : h(Refused, { text: t('error.notFound') });
    case 'sensors':
      return h(SensorsPage, null);
    case 'warnings':
      return h(WarningsPage, { route: props.route });
    case 'warning':
      return second ? h(WarningPage, { id: second }) : h(Refused, { text: t('error.notFound') });
    case 'bulletins':
      return h(BulletinsPage, null);
    case 'workspace':
      return h(WorkspacePage, null);
    case 'pack':
      return second ? h(PackPage, { id: second }) : h(Refused, { text: t('error.notFound') });
    default:
      return h(Refused, { text: t('error.noPage') });
  }
}

function LiveIndicator() {
  const app = useAppState();
  const label = t(`live.${app.live}` as MsgKey);
  return h(
    'p',
    { class: `live live-${app.live}`, role: 'status', 'data-testid': 'live-status' },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    label,
    app.lastHeard ? h('span', { class: 'muted' }, ` · ${t('live.lastHeard')} ${formatTime(app.lastHeard)}`) : null,
  );
}

function Shell(props: { me: Me; route: Route; children?: ComponentChildren }) {
  const app = useAppState();
  const current = props.route.path[0] ?? '';
  return h(
    'div',
    { class: 'shell' },
    h('a', { class: 'skip', href: '#main', onClick: skipToMain }, t('a11y.skip')),
    h(
      'header',
      { class: 'banner' },
      h('p', { class: 'brand' }, t('app.name')),
      h(
        'nav',
        { 'aria-label': t('nav.label'), class: 'primary-nav' },
        h(
          'ul',
          null,
          ...navFor(props.me).map((n) =>
            h(
              'li',
              { key: n.to },
              h('a', { href: n.to, 'aria-current': current === n.match ? 'page' : undefined }, t(n.label)),
            ),
          ),
        ),
      ),
      h(
        'div',
        { class: 'tools' },
        h(LiveIndicator, null),
        h(LangSelect, null),
        h(
          'div',
          { class: 'field inline' },
          h('label', { for: 'tz' }, t('settings.timeZone')),
          h(
            'select',
            {
              id: 'tz',
              value: app.timeZone,
              onChange: (e: Event) => setState({ timeZone: (e.currentTarget as HTMLSelectElement).value }),
            },
            ...zonesWithBrowser().map((z) => h('option', { value: z }, `${z} (${zoneLabel(z)})`)),
          ),
        ),
        h(
          'p',
          { class: 'who', 'data-testid': 'who' },
          `${props.me.token.label} · ${t(`roleName.${props.me.token.role}` as MsgKey)}`,
        ),
        h('button', { type: 'button', onClick: signOut, 'data-testid': 'sign-out' }, t('signin.signOut')),
      ),
    ),
    h('main', { id: 'main', tabIndex: -1 }, props.children),
    h(
      'footer',
      { class: 'footer' },
      h('p', null, t('footer.timeZone', { zone: `${app.timeZone} (${zoneLabel(app.timeZone)})` })),
    ),
  );
}

function LangSelect() {
  const app = useAppState();
  return h(
    'div',
    { class: 'field inline' },
    h('label', { for: 'lang' }, t('settings.language')),
    h(
      'select',
      {
        id: 'lang',
        value: app.lang,
        onChange: (e: Event) => setState({ lang: (e.currentTarget as HTMLSelectElement).value as typeof app.lang }),
      },
      ...LANGS.map((l) => h('option', { value: l.code, lang: l.code }, l.label)),
    ),
  );
}

function zonesWithBrowser(): string[] {
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zones: string[] = [...TIME_ZONES];
  if (local && !zones.includes(local)) zones.push(local);
  const chosen = getState().timeZone;
  if (!zones.includes(chosen)) zones.push(chosen);
  return zones;
}

function skipToMain(e: Event) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

function signOut() {
  stopLive();
  setState({ token: null, me: null });
  navigate('#/signin');
}

function App() {
  const app = useAppState();
  const route = useRoute();
  const me = useAsync(() => (app.token ? apiGet<Me>('/me') : Promise.resolve(null)), [app.token]);
  useEffect(() => {
    document.documentElement.lang = app.lang;
    document.title = t('app.name');
  }, [app.lang]);
  useEffect(() => {
    if (me.data && !app.me) setState({ me: me.data });
  }, [me.data]);
  const signedIn = app.token !== null && app.me !== null;
  useEffect(() => {
    if (signedIn) startLive();
  }, [signedIn]);
  // Move focus to the new page's heading, so keyboard and screen-reader users start at the top of what changed.
  const path = route.path.join('/');
  const firstPath = useRef(true);
  useEffect(() => {
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    document.querySelector<HTMLElement>('main h1')?.focus({ preventScroll: true });
  }, [path]);
  useEffect(() => {
    if (app.me && route.path.length === 0) navigate(homeOf(app.me));
    if (app.me && route.path[0] === 'signin') navigate(homeOf(app.me));
  }, [app.me, path]);

  if (!app.token) {
    return h(
      'div',
      { class: 'shell' },
      h(
        'header',
        { class: 'banner' },
        h('p', { class: 'brand' }, t('app.name')),
        h('div', { class: 'tools' }, h(LangSelect, null)),
      ),
      h('main', { id: 'main' }, h(SignInPage, null)),
    );
  }
  if (me.error) return h('main', { id: 'main' }, h(ErrorBox, { error: me.error }));
  if (!app.me) return h('main', { id: 'main' }, h(Loading, null));
  return h(Shell, { me: app.me, route }, h(Page, { route, me: app.me }));
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(h(App, null), root);
}
