// sohbet: the visitor page `/`.
//
// History over HTTP (`GET /api/messages/{thread}`), live messages, presence
// and typing over Socket.IO (docs/api.md); images, voice messages and audio
// files through the composer's media tools (lib/media.js). Uses the modules
// under lib/ and the vendored socket.io client (window.io).
import { api, csrfToken, embedView, errorText } from './lib/api.js';
import { createComposer } from './lib/composer.js';
import { S, config, fill, limits } from './lib/config.js';
import { toast, setTitleBadge, connectionBanner } from './lib/dom.js';
import { createMediaTools } from './lib/media.js';
import { MessageList } from './lib/message_list.js';
import { createSender } from './lib/sender.js';
import { fmt } from './lib/time.js';
const PAGE = limits.pageSize;
const PAGE_MAX = limits.pageMax;
const body = document.body;
const threadId = body.dataset.threadId || '';
const messagesEl = document.getElementById('messages');
const historyStatus = document.getElementById('history-status');
const welcome = document.getElementById('welcome');
const typingEl = document.getElementById('typing');
const statusEl = document.getElementById('admin-status');
const statusText = statusEl.querySelector('.presence-text');
const dot = document.getElementById('admin-dot');
const baseTitle = document.title;

let hasMore = false;
let loadingOlder = false;
let unseen = 0;

const list = new MessageList(messagesEl, {
  jumpButton: document.getElementById('jump-button'),
  own: 'visitor',
  senderLabel: (m) => (m.sender_type === 'admin' ? m.sender_name || S.supportName : S.you),
  onRetry: (cid) => sender.retry(cid),
  onCancelUpload: (cid) => sender.cancel(cid),
  onRemove: (cid) => sender.discard(cid),
  onChange: () => {
    welcome.hidden = hasMore;
  },
});

const threadPath = () => `/api/messages/${encodeURIComponent(threadId)}`;

function showHistoryStatus(text) {
  historyStatus.textContent = text || '';
  historyStatus.hidden = !text;
}

// ------------------------------------------------------------ history ---

async function fetchPage(query) {
  try {
    const data = await api(`${threadPath()}?${query}`);
    for (const m of data.edited || []) list.update(m);
    return Array.isArray(data.messages) ? data.messages : [];
  } catch (e) {
    if (e.status === 404) return []; // thread not created yet
    throw e;
  }
}

/** Loads the latest page; resolves to whether it loaded. */
async function loadInitial() {
  messagesEl.setAttribute('aria-busy', 'true');
  try {
    const msgs = await fetchPage(`limit=${PAGE}`);
    hasMore = msgs.length >= PAGE;
    list.addMany(msgs, { scroll: 'bottom' });
    fillViewport();
    return true;
  } catch (e) {
    showHistoryStatus(S.loadFailed);
    toast(errorText(e.code, e.message));
    return false;
  } finally {
    messagesEl.setAttribute('aria-busy', 'false');
    welcome.hidden = hasMore;
  }
}
const initial = loadInitial();

async function loadOlder() {
  const oldest = list.oldestId();
  if (!hasMore || loadingOlder || oldest === null) return;
  loadingOlder = true;
  showHistoryStatus(S.loadingOlder);
  messagesEl.setAttribute('aria-busy', 'true');
  try {
    const msgs = await fetchPage(`limit=${PAGE}&before=${oldest}`);
    hasMore = msgs.length >= PAGE;
    list.prependOlder(msgs);
    showHistoryStatus('');
  } catch (e) {
    showHistoryStatus(S.loadFailed);
  } finally {
    loadingOlder = false;
    messagesEl.setAttribute('aria-busy', 'false');
    welcome.hidden = hasMore;
  }
  fillViewport();
}

// If the first page does not fill the screen there is no scroll event.
function fillViewport() {
  if (hasMore && messagesEl.scrollHeight <= messagesEl.clientHeight + 40) loadOlder();
}

messagesEl.addEventListener('scroll', () => {
  if (messagesEl.scrollTop < 120) loadOlder();
}, { passive: true });

/** Messages missed while disconnected (GET ?after=<last id>, and its `edited`). */
// A thread made for this page (`data-new-thread`) gets nothing before its
// first message: the first connect has nothing to catch up on.
let freshThread = body.dataset.newThread === '1';

async function catchUp() {
  const loaded = await initial;
  if (freshThread) {
    freshThread = false;
    if (loaded) return;
  }
  try {
    let last = list.lastId();
    if (last === null) {
      const msgs = await fetchPage(`limit=${PAGE}`);
      hasMore = msgs.length >= PAGE;
      list.addMany(msgs);
      return;
    }
    for (let i = 0; i < 20; i += 1) {
      const msgs = await fetchPage(`after=${last}&limit=${PAGE_MAX}`);
      list.addMany(msgs);
      if (msgs.length < PAGE_MAX) break;
      last = list.lastId();
    }
  } catch {
    /* the next reconnect tries again */
  }
}

// ----------------------------------------------------------- presence ---

function setPresence(online, lastSeen) {
  document.dispatchEvent(new CustomEvent('sohbet:presence', { detail: { online } }));
  statusEl.dataset.state = online ? 'online' : 'offline';
  dot.dataset.state = online ? 'online' : 'offline';
  if (online) statusText.textContent = S.online;
  else if (lastSeen) statusText.textContent = fill(S.lastSeen, { time: fmt.time(lastSeen) });
  else statusText.textContent = S.offline;
}

// ------------------------------------------------------------- typing ---

let typingTimer = null;
function showTyping(on) {
  clearTimeout(typingTimer);
  const stick = list.nearBottom();
  typingEl.hidden = !on;
  if (on) typingTimer = setTimeout(() => showTyping(false), 6000);
  if (stick) list.scrollToBottom();
}

// ------------------------------------------------------------- socket ---

const banner = connectionBanner([document.getElementById('conn-banner')]);
const embed = embedView(); // the embed view (embed.js): token, no cookies
const socket = window.io({
  auth: embed
    ? { visitor_token: embed.token, role: 'visitor' }
    : { csrf_token: csrfToken(), role: 'visitor' },
  withCredentials: !embed,
});

const sender = createSender({
  socket,
  event: 'message_from_visitor',
  list: () => list,
  payload: (item) => ({
    thread_id: threadId,
    text: item.text,
    type: item.type || 'text',
    file_url: item.file_url || undefined,
    client_id: item.client_id,
  }),
});

// Reconnecting soon (issue 20 item 10, docs/security.md): refused CONNECTs
// are retried, a send while the client only waits tries at once.
let tries = 0;
let retry;
let refused = false;
const reconnect = (ms) => {
  clearTimeout(retry);
  retry = setTimeout(() => socket.connected || socket.disconnect().connect(), ms);
};

socket.on('connect', () => {
  tries = 0;
  clearTimeout(retry);
  banner.connected();
  sender.flush();
  catchUp().then(receipts);
});
socket.on('disconnect', (reason) => {
  banner.disconnected();
  // Cut off by the server (fell behind): the client would not reconnect.
  if (reason === 'io server disconnect') reconnect(500 + Math.random() * 1000);
});
socket.on('connect_error', (err) => {
  const code = err && err.message;
  // An embed view whose token was revoked starts afresh (embed.js).
  if (code === 'auth_error' && embed && embed.restart && embed.restart()) return;
  if (code === 'csrf_error' || code === 'auth_error' || code === 'origin_error') {
    refused = true;
    banner.fatal(S.errSession);
  } else {
    banner.disconnected();
    if (!socket.active) reconnect(Math.min(5000, 1000 * 2 ** tries++) * (0.5 + Math.random() / 2));
  }
});

function incoming(msg) {
  if (!msg || (msg.thread_id && msg.thread_id !== threadId)) return;
  const isNew = list.upsert(msg);
  document.dispatchEvent(new CustomEvent('sohbet:message', { detail: { msg, isNew } }));
  if (msg.sender_type === 'admin') {
    showTyping(false);
    receipts();
    if (isNew && document.hidden) {
      unseen += 1;
      setTitleBadge(baseTitle, unseen);
    }
  }
}
socket.on('message_to_visitor', incoming);
socket.on('message_from_visitor', incoming);
socket.on('message_updated', (m) => m && list.update(m));

socket.on('messages_cleared', (p) => {
  if (!p || !p.thread_id || p.thread_id === threadId) {
    hasMore = false;
    list.clear();
  }
});

socket.on('user_online', (p) => {
  if (p && p.user_id === 'admin') setPresence(true, p.last_seen);
});
socket.on('user_offline', (p) => {
  if (p && p.user_id === 'admin') {
    setPresence(false, p.last_seen);
    showTyping(false);
  }
});

socket.on('typing', (p) => {
  if (p && p.sender_type === 'admin' && (!p.thread_id || p.thread_id === threadId)) showTyping(true);
});
socket.on('stop_typing', (p) => {
  if (p && p.sender_type === 'admin') showTyping(false);
});

// The admin blocked this visitor (issue 13): say so where it stays seen.
const blockedNotice = document.getElementById('blocked-notice');
function showBlocked() {
  if (!blockedNotice) return;
  blockedNotice.textContent = S.errBlocked;
  blockedNotice.hidden = false;
}
document.addEventListener('sohbet:blocked', showBlocked);

socket.on('message_error', (p) => {
  if (p && (p.type === 'blocked' || p.code === 'BLOCKED')) showBlocked();
  toast(errorText(p && (p.code || p.type), p && p.message));
});

// ----------------------------------------------------------- composer ---

const emitTyping = (ev) => {
  if (socket.connected) socket.emit(ev, { thread_id: threadId });
};
const form = document.getElementById('composer');
const input = document.getElementById('message-input');
let composer = null;
const tools = createMediaTools({
  form,
  input,
  sender,
  dropTarget: document.querySelector('.chat-card'),
  onChange: () => composer && composer.update(),
});
composer = createComposer({
  form,
  input,
  button: document.getElementById('send-button'),
  counter: document.getElementById('char-counter'),
  hasAttachment: () => tools.hasAttachment(),
  onSend: (text) => {
    if (!tools.sendAttachment(text)) sender.send(text);
    if (!socket.connected && !refused && (!socket.active || socket.io.engine.readyState === 'closed')) reconnect(0);
  },
  onTyping: () => emitTyping('typing'),
  onStopTyping: () => emitTyping('stop_typing'),
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    unseen = 0;
    setTitleBadge(baseTitle, 0);
    receipts();
  }
});

// ----------------------------------------------------------- receipts ---
// Admin messages this page has, and has shown: 👌 and 👀 in Telegram.
let receivedUpTo = 0;
let seenUpTo = 0;
function receipts() {
  if (!socket.connected) return;
  const ids = [...messagesEl.querySelectorAll('.message.from-admin[data-id]')]
    .map((n) => Number(n.dataset.id)).filter(Number.isSafeInteger);
  const last = ids.length ? Math.max(...ids) : 0;
  if (last > receivedUpTo) {
    receivedUpTo = last;
    socket.emit('message_received', { message_id: last });
  }
  if (!document.hidden && last > seenUpTo) {
    seenUpTo = last;
    socket.emit('message_seen', { message_id: last });
  }
}

setInterval(() => list.refreshTimes(), 60000);
if (config.email) import('./transcript.js');

// ---------------------------------------------------- visitor context ---

// Reports the visitor context (issue 14): page (the host page's, from the
// loader, in the embed view), referrer, language and time zone; the server
// adds browser and OS. `POST /api/visitor/context` (docs/api.md).

let ctxTimeZone;
try {
  ctxTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
} catch {
  ctxTimeZone = undefined;
}
const base = { language: navigator.language || undefined, timezone: ctxTimeZone };
const cut = (v, n) => (v ? String(v).slice(0, n) : undefined);

function reportContext(page) {
  const payload = {
    ...base,
    url: cut(page.url, 2048),
    title: cut(page.title, 300),
    referrer: cut(page.referrer, 2048),
  };
  const done = embed
    ? embed.post('/api/visitor/context', payload)
    : api('/api/visitor/context', { method: 'POST', body: payload });
  done.catch(() => { /* context is a courtesy: never disturb the chat */ });
}

if (embed) {
  document.addEventListener('sohbet:page', (e) => reportContext(e.detail || {}));
  if (embed.page) reportContext(embed.page);
  else if (!embed.parentOrigin) reportContext({});
} else {
  reportContext({ url: location.href, title: document.title, referrer: document.referrer });
}
