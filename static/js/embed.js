// sohbet: the embed view `/embed` (issue 14), framed by the widget loader
// (`/widget.js`) on another site. A module loaded before visitor.js, which
// finds its state through lib/api.js (setEmbedView / embedView).
//
// Identity without cookies: the view authenticates with a visitor token,
// sent as `Authorization: Bearer` (lib/api.js) and Socket.IO
// `auth.visitor_token` (visitor.js). Where it is kept: the view's own
// localStorage when the browser allows it (partitioned per top-level site
// by Firefox and Safari), and in any case a copy in the host page's own
// storage, kept by the loader (third-party storage is denied when Chromium
// blocks third-party cookies): the loader hands it over in the URL
// fragment (`#t=…`, never sent to a server, removed at once) and the view
// reports the token it settled on with `{type: 'token'}`. A view with no
// token adopts the fresh one the server rendered into the page; so does a
// view whose token the server refuses (`restart`, e.g. after the operator
// raised VISITOR_TOKEN_EPOCH to revoke every token).
//
// postMessage with the loader: only with the host origin the server
// accepted (`data-parent-origin`, one of EMBED_ORIGINS) and only from the
// parent window; it carries the token, open/close, the unread count, page
// info, identify, and message ids and times (never their text).
import { setEmbedView } from './lib/api.js';

const body = document.body;
const KEY = 'sohbet_visitor_token';
const PRECHAT_KEY = 'sohbet_prechat_done';
const TOKEN = /^sv1\.[0-9a-f-]{36}\.[0-9a-f]{64}$/;

function storage() {
  for (const name of ['localStorage', 'sessionStorage']) {
    try {
      const s = window[name];
      s.setItem('sohbet_probe', '1');
      s.removeItem('sohbet_probe');
      return s;
    } catch {
      /* blocked: try the next one */
    }
  }
  return null;
}
const store = storage();
const get = (k) => {
  try { return store ? store.getItem(k) : null; } catch { return null; }
};
const set = (k, v) => {
  try { if (store) store.setItem(k, v); } catch { /* full or blocked */ }
};

// A token handed over in the fragment counts only inside a frame of an
// EMBED_ORIGINS page (CSP frame-ancestors): a link to /embed#t=… opened
// on its own cannot fix a visitor into someone else's conversation.
const parentOrigin = body.dataset.parentOrigin || '';
const framed = window.parent !== window;
const hash = framed && parentOrigin ? window.location.hash : '';
const handed = /[#&]t=([^&]+)/.exec(hash);
const prechatHanded = /[#&]p=1(&|$)/.test(hash);
if (window.location.hash) window.history.replaceState(null, '', window.location.pathname + window.location.search);
const freshToken = body.dataset.freshToken || '';
const token = [handed && decodeURIComponent(handed[1]), get(KEY), freshToken]
  .find((t) => t && TOKEN.test(t)) || '';
set(KEY, token);
delete body.dataset.freshToken;
const threadId = token.split('.')[1] || '';
body.dataset.threadId = threadId;
body.dataset.displayName = `Visitor ${threadId.replace(/[^0-9a-f]/gi, '').slice(0, 4).toUpperCase()}`;

function toParent(msg) {
  if (parentOrigin && framed) window.parent.postMessage({ sohbet: 1, ...msg }, parentOrigin);
}

async function post(path, payload) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(payload),
    credentials: 'omit',
    cache: 'no-store',
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok || !data || data.success === false) throw new Error((data && data.code) || `HTTP_${res.status}`);
  return data;
}

// The server refused the token (revoked by raising VISITOR_TOKEN_EPOCH, or
// SECRET_KEY changed): start afresh, once, with the token this page was
// rendered with, and tell the loader so its copy is replaced too. Returns
// false when there is nothing to fall back to (the caller then shows the
// session error).
function restart() {
  const q = new URLSearchParams(window.location.search);
  if (!freshToken || !TOKEN.test(freshToken) || freshToken === token || q.get('fresh') === '1') return false;
  set(KEY, freshToken);
  toParent({ type: 'token', token: freshToken });
  q.delete('n');
  q.set('fresh', '1');
  window.location.replace(`${window.location.pathname}?${q}#t=${encodeURIComponent(freshToken)}`);
  return true;
}

const E = { token, threadId, parentOrigin, post, page: null, restart };
setEmbedView(E);

// ------------------------------------------------------------ identify ---
async function identify(data) {
  if (!data || typeof data !== 'object') return;
  const payload = {};
  for (const k of ['name', 'email', 'user_id', 'user_hash']) {
    if (typeof data[k] === 'string' && data[k]) payload[k] = data[k];
  }
  try {
    const r = await post('/api/visitor/identify', payload);
    if (r.switched && r.visitor_token && TOKEN.test(r.visitor_token)) {
      // This user already has a thread (another device): continue it.
      set(KEY, r.visitor_token);
      toParent({ type: 'token', token: r.visitor_token });
      const search = window.location.search.replace(/[?&]n=\d+/, '');
      const sep = search ? '&' : '?';
      window.location.replace(`${window.location.pathname}${search}${sep}n=${Date.now()}#t=${encodeURIComponent(r.visitor_token)}`);
    }
  } catch {
    /* a bad identify must not break the chat */
  }
}

// ------------------------------------------------------------ page info ---
// The host page's URL as the loader reports it, once more without fragment
// and with secret-looking query values masked (issue 20; an older cached
// loader may not have done it; the server does it too).
const SECRET = /token|code|key|secret|pass|pwd|sig|auth|session|jwt|otp|ticket|credential|nonce|saml|hash/i;
function clean(u) {
  const [s, q] = String(u || '').split('#')[0].split(/\?(.*)/s);
  if (q === undefined) return s;
  return `${s}?${q.split('&').map((p) => {
    const n = p.split('=')[0];
    let d = n;
    try { d = decodeURIComponent(n); } catch { /* keep it raw */ }
    return p !== n && SECRET.test(d) ? `${n}=***` : p;
  }).join('&')}`;
}

// ------------------------------------------------------ open and unread ---
let open = !framed;
let unread = 0;
const input = () => document.getElementById('message-input');

document.addEventListener('sohbet:message', (e) => {
  const { msg, isNew } = e.detail || {};
  if (!msg || !isNew || msg.sender_type !== 'admin') return;
  toParent({
    type: 'message',
    message: { id: msg.id, sender_type: msg.sender_type, content_type: msg.content_type, created_at: msg.created_at },
  });
  if (!open) {
    unread += 1;
    toParent({ type: 'unread', count: unread });
  }
});

window.addEventListener('message', (e) => {
  if (!parentOrigin || e.origin !== parentOrigin || e.source !== window.parent) return;
  const d = e.data;
  if (!d || d.sohbet !== 1) return;
  if (d.type === 'open') {
    open = true;
    unread = 0;
    toParent({ type: 'unread', count: 0 });
    const i = input();
    const form = document.getElementById('prechat');
    if (i && (!form || form.hidden)) i.focus({ preventScroll: true });
  } else if (d.type === 'close') {
    open = false;
  } else if (d.type === 'page') {
    E.page = {
      url: clean(d.url).slice(0, 2048),
      title: String(d.title || '').slice(0, 300),
      referrer: clean(d.referrer).slice(0, 2048),
    };
    document.dispatchEvent(new CustomEvent('sohbet:page', { detail: E.page }));
  } else if (d.type === 'identify') {
    identify(d.data);
  }
});

// ------------------------------------------ close, pre-chat, away notice ---
document.getElementById('embed-close')?.addEventListener('click', () => toParent({ type: 'close' }));

const prechat = document.getElementById('prechat');
const fields = (body.dataset.prechat || '').split(',').filter(Boolean);
if (prechat && fields.length && !get(PRECHAT_KEY) && !prechatHanded) {
  document.getElementById('prechat-name-row').hidden = !fields.includes('name');
  document.getElementById('prechat-email-row').hidden = !fields.includes('email');
  prechat.hidden = false;
  body.classList.add('prechat-open');
  prechat.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = document.getElementById('prechat-name').value.trim();
    const email = document.getElementById('prechat-email').value.trim();
    await identify({ name, email });
    set(PRECHAT_KEY, '1');
    toParent({ type: 'prechat' });
    prechat.hidden = true;
    body.classList.remove('prechat-open');
    input()?.focus();
  });
}

const away = document.getElementById('away-notice');
let awayReported = false;
document.addEventListener('sohbet:presence', (e) => {
  if (!away || body.dataset.awayPossible !== 'true') return;
  const online = Boolean(e.detail && e.detail.online);
  away.hidden = online;
  if (!online && !awayReported) {
    awayReported = true;
    post('/api/visitor/context', { away: true }).catch(() => {});
  }
});
document.getElementById('away-form')?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const email = document.getElementById('away-email').value.trim();
  if (!email) return;
  await identify({ email });
  e.target.hidden = true;
  document.getElementById('away-saved').hidden = false;
});

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', () => toParent({ type: 'ready', token }));
} else {
  setTimeout(() => toParent({ type: 'ready', token }), 0);
}
