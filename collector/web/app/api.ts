/// <reference lib="dom" />
/**
 * The API client: every call carries the session's bearer token; a 401 signs the user out (the token was revoked or
 * never valid). Errors keep the HTTP status so pages can say "not permitted" (403) or "not found" (404) plainly.
 */
import { getState, setState } from './store.ts';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | string[] | number | undefined | null>;

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, item);
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

export async function apiRequest<T>(
  method: string,
  path: string,
  query?: Query,
  token?: string,
  body?: unknown,
): Promise<T> {
  const secret = token ?? getState().token;
  const headers: Record<string, string> = { authorization: `Bearer ${secret ?? ''}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}${queryString(query)}`, {
      method,
      headers,
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiFailure(0, 'network', 'network error');
  }
  if (!res.ok) {
    let code = 'error';
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not JSON: keep the status text
    }
    if (res.status === 401 && token === undefined) setState({ token: null, me: null });
    throw new ApiFailure(res.status, code, message);
  }
  return (await res.json()) as T;
}

export function apiGet<T>(path: string, query?: Query): Promise<T> {
  return apiRequest<T>('GET', path, query);
}

export function apiPost<T>(path: string, body: unknown): Promise<T> {
  return apiRequest<T>('POST', path, undefined, undefined, body);
}

/**
 * Fetches a file the API serves (a bulletin, an evidence pack) with the session's token, as a Blob. The API needs
 * the bearer header, so files cannot be plain links; the page saves the Blob with a temporary object URL instead.
 */
export async function apiFile(path: string, query?: Query): Promise<Blob> {
  const token = getState().token ?? '';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}${queryString(query)}`, {
      headers: { authorization: `Bearer ${token}` },
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure(0, 'network', 'network error');
  }
  if (!res.ok) {
    let code = 'error';
    try {
      code = ((await res.json()) as { error?: { code?: string } }).error?.code ?? code;
    } catch {
      // not JSON
    }
    if (res.status === 401) setState({ token: null, me: null });
    throw new ApiFailure(res.status, code, res.statusText);
  }
  return await res.blob();
}

/** Saves a Blob as a download named `filename` (an object URL and a transient `<a download>`). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
