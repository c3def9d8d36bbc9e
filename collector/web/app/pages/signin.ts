/// <reference lib="dom" />
/** Sign-in with an API token. The token is checked against `/api/v1/me` and kept in sessionStorage (this tab only). */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { ApiFailure, apiRequest } from '../api.ts';
import { t } from '../i18n.ts';
import { navigate } from '../router.ts';
import { setState } from '../store.ts';
import type { Me } from '../types.ts';

export function SignInPage() {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const secret = token.trim();
    if (secret === '') {
      setError(t('signin.empty'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await apiRequest<Me>('GET', '/me', undefined, secret);
      setState({ token: secret, me });
      navigate('#/');
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 401 ? t('signin.invalid') : t('error.network'));
    } finally {
      setBusy(false);
    }
  };
  return h(
    'div',
    { class: 'signin' },
    h(
      'form',
      { class: 'card signin-card', onSubmit: submit, 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title', tabIndex: -1 }, t('signin.title')),
      h('p', { class: 'muted' }, t('signin.hint')),
      h('label', { for: 'token' }, t('signin.token')),
      h('input', {
        id: 'token',
        name: 'token',
        type: 'password',
        autocomplete: 'off',
        spellcheck: false,
        value: token,
        'aria-describedby': error ? 'signin-error' : undefined,
        'aria-invalid': error ? true : undefined,
        onInput: (e: Event) => setToken((e.currentTarget as HTMLInputElement).value),
      }),
      error ? h('p', { id: 'signin-error', class: 'notice notice-error', role: 'alert' }, error) : null,
      h('button', { type: 'submit', class: 'primary', disabled: busy }, t('signin.submit')),
    ),
  );
}
