// sohbet: the JSON API wrapper: CSRF token (or the embed view's bearer
// token), `api()` throwing ApiError, and localised texts for error codes.
//
// The embed view's identity lives here too: embed.js (only on `/embed`)
// sets it before the page's other modules run; this module and visitor.js
// read it. On `/` it stays null (cookie + CSRF).
import { S, lang } from './config.js';

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content || '';
}

/** The embed view (embed.js) authenticates with its visitor token; pages with the CSRF token. */
export function authHeaders() {
  const embed = embedView();
  const token = embed && embed.token;
  return token ? { Authorization: `Bearer ${token}` } : { 'X-CSRFToken': csrfToken() };
}


// ----------------------------------------------------------------- api ---

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** JSON request to the server; throws ApiError on any failure. */
export async function api(path, { method = 'GET', body: payload, signal } = {}) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', S.errNetwork, null);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok || !data || data.success === false) {
    const retry = Number(res.headers.get('Retry-After')) || null;
    throw new ApiError(res.status, (data && data.code) || `HTTP_${res.status}`,
      (data && data.error) || S.errGeneric, retry);
  }
  return data;
}

/** A localised text for an error code from HTTP or Socket.IO. */
export function errorText(code, fallback) {
  switch (String(code || '').toUpperCase()) {
    case 'RATE_LIMITED': return S.errRateLimited;
    case 'CSRF_FAILED': case 'CSRF_ERROR': case 'UNAUTHORIZED': case 'AUTH_ERROR':
      return S.errSession;
    case 'VALIDATION_ERROR': return S.errValidation;
    case 'NETWORK': case 'TIMEOUT': return S.errNetwork;
    case 'FILE_TOO_LARGE': return S.errFileTooLarge;
    case 'UNSUPPORTED_TYPE': return S.errUnsupportedType;
    case 'UPSTREAM_ERROR': return S.errUpstream;
    case 'SERVER_BUSY': case 'SERVICE_UNAVAILABLE': return S.errBusy;
    case 'REQUEST_TIMEOUT': return S.errTooSlow;
    case 'INSUFFICIENT_STORAGE': return S.errNoSpace;
    case 'BLOCKED': return S.errBlocked;
    default:
      return lang === 'en' && fallback ? fallback : S.errGeneric;
  }
}

// ---------------------------------------------------------- embed view ---

let current = null;

/** Sets the embed view's state: {token, threadId, parentOrigin, post(path, body), page}. */
export function setEmbedView(view) {
  current = view;
}

/** The embed view's state, or null on the visitor page `/`. */
export function embedView() {
  return current;
}
