// sohbet: the admin panel `/admin`.
//
// Left: threads (GET /api/threads) kept live by Socket.IO events. Right: the
// open thread (history over HTTP, replies as `message_to_visitor` with ack).
// On phones the two are separate screens (data-view="list" | "thread" on
// #admin-app) with a back button and browser history (#<thread id>).
// Replies may be images, voice messages or audio files (media.js).
// Uses the modules under lib/ and the vendored socket.io client (window.io).
// Exports to the panel's add-ons: openThread, revealMessage (admin_search.js),
// adminSocket (admin_canned.js) and admin (admin_status.js).
import { api, csrfToken, errorText } from './lib/api.js';
import { createComposer } from './lib/composer.js';
import { S, fill, limits } from './lib/config.js';
import { el, hue, initials, preview, setTitleBadge, toast, connectionBanner } from './lib/dom.js';
import { createMediaTools } from './lib/media.js';
import { MessageList } from './lib/message_list.js';
import { createSender } from './lib/sender.js';
import { fmt } from './lib/time.js';
const PAGE = limits.pageSize;
const PAGE_MAX = limits.pageMax;
const app = document.getElementById('admin-app');
const threadListEl = document.getElementById('thread-list');
const threadsEmpty = document.getElementById('threads-empty');
const searchInput = document.getElementById('thread-search');
const convEmpty = document.getElementById('conv-empty');
const convView = document.getElementById('conv-view');
const convName = document.getElementById('conv-name');
const convStatus = document.getElementById('conv-status');
const convAvatar = document.getElementById('conv-avatar');
const messagesEl = document.getElementById('messages');
const historyStatus = document.getElementById('history-status');
const noMessages = document.getElementById('no-messages');
const typingEl = document.getElementById('typing');
const typingText = typingEl.querySelector('.typing-text');
const clearButton = document.getElementById('clear-button');
const clearDialog = document.getElementById('clear-dialog');
const soundToggle = document.getElementById('sound-toggle');
const input = document.getElementById('message-input');
const baseTitle = document.title;
const wide = window.matchMedia('(min-width: 860px)');

/** id -> thread ({id, display_name, last_activity, unread_count, last_message, ...}). */
const threads = new Map();
/** id -> {online, last_seen}; kept apart so early events are not lost. */
const presence = new Map();
/** id -> timer of the visitor's typing indicator. */
const typing = new Map();
/** id -> <li> of the thread list. */
const itemNodes = new Map();

let currentId = null;
let openToken = 0;
let hasMore = false;
let loadingOlder = false;
let threadsLoaded = false;
/** Settles when the open thread's first page is shown (or failed). */
let firstPage = Promise.resolve();

const list = new MessageList(messagesEl, {
  jumpButton: document.getElementById('jump-button'),
  own: 'admin',
  senderLabel: (m) => (m.sender_type === 'admin'
    ? S.you
    : (threads.get(m.thread_id)?.display_name || S.visitorLabel)),
  onRetry: (cid) => sender.retry(cid),
  onCancelUpload: (cid) => sender.cancel(cid),
  onRemove: (cid) => sender.discard(cid),
  onChange: () => {
    noMessages.hidden = list.size > 0 || hasMore || !currentId;
  },
});

const threadPath = (id) => `/api/messages/${encodeURIComponent(id)}`;

// ------------------------------------------------------------ threads ---

function ts(v) {
  const t = new Date(v || 0).getTime();
  return Number.isNaN(t) ? 0 : t;
}

function normalise(t) {
  const p = presence.get(t.id);
  return {
    id: t.id,
    display_name: t.display_name || S.visitorLabel,
    created_at: t.created_at,
    last_activity: t.last_activity || t.last_activity_at || t.created_at,
    status: t.status === 'closed' ? 'closed' : 'open', // `active` (older servers) is open
    blocked: !!t.blocked,
    unread_count: Number(t.unread_count) || 0,
    last_message: t.last_message || null,
    online: p ? p.online : !!t.online,
    last_seen: p ? p.last_seen : null,
  };
}

async function loadThreads() {
  try {
    const data = await api('/api/threads');
    const fresh = new Map();
    for (const t of data.threads || []) {
      const n = normalise(t);
      const old = threads.get(n.id);
      if (n.id === currentId && !document.hidden) n.unread_count = 0;
      if (old && old.last_seen && !n.last_seen) n.last_seen = old.last_seen;
      fresh.set(n.id, n);
    }
    threads.clear();
    for (const [k, v] of fresh) threads.set(k, v);
    threadsLoaded = true;
    renderThreads();
    if (currentId && threads.has(currentId)) renderHeader();
  } catch (e) {
    if (e.status === 401) {
      location.href = '/admin/login';
      return;
    }
    toast(errorText(e.code, e.message));
  }
}

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadThreads, 800);
}

/** The status filter (admin_status.js): `open` (default), `closed`, `blocked` or `all`. */
const shownByStatus = (t) => {
  const f = app.dataset.statusFilter || 'open';
  return f === 'blocked' ? t.blocked : ['all', t.status].includes(f);
};

function sortedThreads() {
  return [...threads.values()].sort((a, b) => (a.status === 'closed') - (b.status === 'closed')
    || ts(b.last_activity) - ts(a.last_activity)
    || String(a.id).localeCompare(String(b.id)));
}

function buildItem(t) {
  const li = el('li');
  const btn = el('button', 'thread-item');
  btn.type = 'button';
  btn.dataset.threadId = t.id;
  const avatar = el('span', 'avatar');
  avatar.setAttribute('aria-hidden', 'true');
  avatar.appendChild(el('span', 'avatar-initials'));
  avatar.appendChild(el('span', 'presence-dot'));
  const main = el('span', 'thread-main');
  const top = el('span', 'thread-top');
  top.appendChild(el('span', 'thread-name'));
  // Presence and unread count for screen readers: the button's name is
  // its text, so that what is seen is what is announced (WCAG 2.5.3).
  top.appendChild(el('span', 'sr-only thread-sr'));
  top.appendChild(el('time', 'thread-time'));
  const bottom = el('span', 'thread-bottom');
  bottom.appendChild(el('span', 'thread-preview'));
  const badge = el('span', 'badge');
  bottom.appendChild(badge);
  main.appendChild(top);
  main.appendChild(bottom);
  btn.appendChild(avatar);
  btn.appendChild(main);
  btn.addEventListener('click', () => openThread(t.id, { push: true }));
  li.appendChild(btn);
  return li;
}

function fillItem(li, t) {
  const btn = li.firstElementChild;
  const name = t.display_name;
  const isTyping = typing.has(t.id);
  const unread = t.id === currentId && !document.hidden ? 0 : t.unread_count;
  btn.classList.toggle('active', t.id === currentId);
  btn.classList.toggle('unread', unread > 0);
  btn.classList.toggle('typing', isTyping);
  if (t.id === currentId) btn.setAttribute('aria-current', 'true');
  else btn.removeAttribute('aria-current');
  const avatar = btn.querySelector('.avatar');
  avatar.style.setProperty('--hue', String(hue(t.id)));
  avatar.querySelector('.avatar-initials').textContent = initials(name);
  avatar.querySelector('.presence-dot').dataset.state = t.online ? 'online' : 'offline';
  btn.querySelector('.thread-name').textContent = name;
  const time = btn.querySelector('.thread-time');
  const when = t.last_message?.created_at || t.last_activity;
  time.textContent = fmt.short(when);
  time.dateTime = when || '';
  time.title = fmt.full(when);
  const prev = btn.querySelector('.thread-preview');
  prev.replaceChildren();
  if (isTyping) {
    prev.appendChild(el('span', 'preview-typing', S.visitorTyping));
  } else if (t.last_message) {
    if (t.last_message.sender_type === 'admin') prev.appendChild(el('span', 'preview-you', `${S.you}: `));
    prev.appendChild(document.createTextNode(preview(t.last_message)));
  } else {
    prev.appendChild(el('span', 'preview-empty', S.noMessages));
  }
  const badge = btn.querySelector('.badge');
  badge.textContent = unread > 0 ? (unread > 99 ? '99+' : String(unread)) : '';
  badge.hidden = unread <= 0;
  const parts = [t.online ? S.online : S.offline];
  if (unread > 0) parts.push(fill(S.unread, { n: unread }));
  btn.querySelector('.thread-sr').textContent = `, ${parts.join(', ')}, `;
}

function renderThreads() {
  const q = searchInput.value.trim().toLocaleLowerCase();
  const wanted = sortedThreads().filter(shownByStatus).filter((t) => !q
    || t.display_name.toLocaleLowerCase().includes(q)
    || preview(t.last_message).toLocaleLowerCase().includes(q));
  const keep = new Set(wanted.map((t) => t.id));
  for (const [id, li] of itemNodes) {
    if (!keep.has(id)) {
      li.remove();
      itemNodes.delete(id);
    }
  }
  // Reorder in place, so focus stays on a moved button.
  let cursor = threadListEl.firstElementChild;
  for (const t of wanted) {
    let li = itemNodes.get(t.id);
    if (!li) {
      li = buildItem(t);
      itemNodes.set(t.id, li);
    }
    fillItem(li, t);
    if (li !== cursor) threadListEl.insertBefore(li, cursor);
    else cursor = cursor.nextElementSibling;
  }
  threadsEmpty.hidden = !threadsLoaded || wanted.length > 0;
  if (currentId) renderHeader();
  updateTitle();
  document.dispatchEvent(new CustomEvent('sohbet:threads-rendered'));
}

function renderThread(id) {
  const t = threads.get(id);
  const li = itemNodes.get(id);
  if (t && li) fillItem(li, t);
  if (id === currentId) renderHeader();
  updateTitle();
}

function totalUnread() {
  let n = 0;
  for (const t of threads.values()) {
    if ((t.id === currentId && !document.hidden) || t.status === 'closed') continue;
    n += t.unread_count;
  }
  return n;
}

function updateTitle() {
  setTitleBadge(baseTitle, totalUnread());
}

searchInput.addEventListener('input', renderThreads);

// -------------------------------------------------------- open thread ---

function renderHeader() {
  const t = threads.get(currentId);
  if (!t) return;
  convName.textContent = t.display_name;
  convAvatar.style.setProperty('--hue', String(hue(t.id)));
  convAvatar.querySelector('.avatar-initials').textContent = initials(t.display_name);
  convAvatar.querySelector('.presence-dot').dataset.state = t.online ? 'online' : 'offline';
  const isTyping = typing.has(t.id);
  convStatus.dataset.state = isTyping ? 'typing' : (t.online ? 'online' : 'offline');
  if (isTyping) convStatus.textContent = S.visitorTyping;
  else if (t.online) convStatus.textContent = S.online;
  else if (t.last_seen) convStatus.textContent = fill(S.lastSeen, { time: fmt.time(t.last_seen) });
  else convStatus.textContent = S.offline;
  const stick = list.nearBottom();
  typingEl.hidden = !isTyping;
  typingText.textContent = `${t.display_name} ${S.visitorTyping}`;
  if (stick && isTyping) list.scrollToBottom();
}

function showHistoryStatus(text) {
  historyStatus.textContent = text || '';
  historyStatus.hidden = !text;
}

async function fetchPage(id, query) {
  const data = await api(`${threadPath(id)}?${query}`);
  return Array.isArray(data.messages) ? data.messages : [];
}

async function openThread(id, { push = false } = {}) {
  if (!id) return;
  if (!threads.has(id)) {
    threads.set(id, normalise({ id, display_name: S.visitorLabel }));
    scheduleReload();
  }
  if (push && location.hash !== `#${id}`) {
    // Phones: the list is the previous screen. Desktop: one entry.
    if (wide.matches) history.replaceState(null, '', `#${id}`);
    else history.pushState({ sohbetPushed: true }, '', `#${id}`);
  }
  app.dataset.view = 'thread';
  if (currentId === id) {
    if (wide.matches) input.focus();
    return firstPage;
  }
  if (currentId && socket.connected) socket.emit('leave_thread', { thread_id: currentId });
  const previous = currentId;
  currentId = id;
  const token = ++openToken;
  composer.reset();
  tools.reset();
  hasMore = false;
  list.clear();
  showHistoryStatus('');
  convEmpty.hidden = true;
  convView.hidden = false;
  if (previous) renderThread(previous);
  renderThread(id);
  document.dispatchEvent(new CustomEvent('sohbet:thread-open', { detail: { id } }));
  if (socket.connected) socket.emit('join_thread', { thread_id: id });
  if (wide.matches) input.focus();
  else convView.querySelector('.back-button').focus({ preventScroll: true });

  messagesEl.setAttribute('aria-busy', 'true');
  let shown;
  firstPage = new Promise((resolve) => { shown = resolve; });
  try {
    const msgs = await fetchPage(id, `limit=${PAGE}`); // marks the thread read
    if (token !== openToken) return;
    hasMore = msgs.length >= PAGE;
    list.addMany(msgs, { scroll: 'bottom' });
    const t = threads.get(id);
    if (t) t.unread_count = 0;
    // Replies still waiting for an upload or an ack in this thread.
    sender.showPending((p) => p.thread_id === id);
    renderThread(id);
    fillViewport();
  } catch (e) {
    if (token !== openToken) return;
    showHistoryStatus(S.loadFailed);
    toast(errorText(e.code, e.message));
  } finally {
    if (token === openToken) messagesEl.setAttribute('aria-busy', 'false');
    list.onChange();
    shown();
  }
}

function closeThread() {
  if (currentId && socket.connected) socket.emit('leave_thread', { thread_id: currentId });
  const previous = currentId;
  currentId = null;
  openToken += 1;
  composer.reset();
  tools.reset();
  list.clear();
  convView.hidden = true;
  convEmpty.hidden = false;
  app.dataset.view = 'list';
  if (previous) {
    renderThread(previous);
    const btn = itemNodes.get(previous)?.firstElementChild;
    if (btn) btn.focus({ preventScroll: false });
  }
}

document.getElementById('back-button').addEventListener('click', () => {
  if (history.state && history.state.sohbetPushed) {
    history.back();
  } else {
    history.replaceState(null, '', location.pathname);
    closeThread();
  }
});

window.addEventListener('popstate', () => {
  const id = decodeURIComponent(location.hash.slice(1));
  if (id) openThread(id);
  else closeThread();
});

/** Loads `size` messages before the oldest shown; one load at a time (callers share it). */
let olderLoad = null;
function loadOlder(size = PAGE) {
  if (!olderLoad) {
    const token = openToken;
    olderLoad = loadOlderPage(size).finally(() => {
      olderLoad = null;
      if (token === openToken) fillViewport();
    });
  }
  return olderLoad;
}

async function loadOlderPage(size) {
  const id = currentId;
  const oldest = list.oldestId();
  if (!id || !hasMore || loadingOlder || oldest === null) return;
  loadingOlder = true;
  const token = openToken;
  showHistoryStatus(S.loadingOlder);
  try {
    const msgs = await fetchPage(id, `limit=${size}&before=${oldest}`);
    if (token !== openToken) return;
    hasMore = msgs.length >= size;
    list.prependOlder(msgs);
    showHistoryStatus('');
  } catch {
    if (token === openToken) showHistoryStatus(S.loadFailed);
  } finally {
    loadingOlder = false;
  }
}

/**
 * Opens thread `id` with message `mid` scrolled into view and marked
 * (the search, admin_search.js), loading older pages (PAGE_MAX at a time)
 * until it is shown. Resolves to its node; false when the thread does
 * not have it (cleared); null when another thread was opened meanwhile.
 */
async function revealMessage(id, mid) {
  await openThread(id, { push: true });
  const token = openToken;
  while (token === openToken && !list.has(mid) && hasMore) {
    const before = list.oldestId();
    await loadOlder(PAGE_MAX);
    if (list.oldestId() === before) break; // the load failed: stop
  }
  if (token !== openToken) return null;
  const node = list.byId.get(mid);
  if (!node) return false;
  for (const old of messagesEl.querySelectorAll('.message.search-hit')) old.classList.remove('search-hit');
  node.classList.add('search-hit');
  node.tabIndex = -1;
  node.scrollIntoView({ block: 'center' });
  node.focus({ preventScroll: true });
  return node;
}
export { openThread, revealMessage };

function fillViewport() {
  if (hasMore && messagesEl.scrollHeight <= messagesEl.clientHeight + 40) loadOlder();
}

messagesEl.addEventListener('scroll', () => {
  if (messagesEl.scrollTop < 120) loadOlder();
}, { passive: true });

/** After a reconnect: messages of the open thread with id > last shown. */
async function catchUp() {
  const id = currentId;
  if (!id) return;
  const token = openToken;
  try {
    let last = list.lastId();
    if (last === null) {
      const msgs = await fetchPage(id, `limit=${PAGE}`);
      if (token === openToken) list.addMany(msgs);
      return;
    }
    for (let i = 0; i < 20; i += 1) {
      const msgs = await fetchPage(id, `after=${last}&limit=${PAGE_MAX}`);
      if (token !== openToken) return;
      list.addMany(msgs);
      if (msgs.length < PAGE_MAX) break;
      last = list.lastId();
    }
    if (!document.hidden) markRead(id);
  } catch {
    /* next reconnect */
  }
}

// Reading the newest page marks the thread read on the server.
let readTimer = null;
function markRead(id) {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    if (id === currentId) api(`${threadPath(id)}?limit=1`).catch(() => {});
  }, 1000);
}

// ---------------------------------------------------------- clearing ---

async function clearCurrent() {
  const id = currentId;
  if (!id) return;
  try {
    await api('/api/messages/clear', { method: 'POST', body: { thread_id: id } });
    applyCleared(id);
    toast(S.cleared, { kind: 'info', timeout: 3000 });
  } catch (e) {
    toast(errorText(e.code, e.message));
  }
}

function applyCleared(id) {
  const t = threads.get(id);
  if (t) {
    t.last_message = null;
    t.unread_count = 0;
  }
  if (id === currentId) {
    hasMore = false;
    list.clear();
  }
  renderThread(id);
}

clearButton.addEventListener('click', () => {
  if (!currentId) return;
  if (clearDialog && typeof clearDialog.showModal === 'function') {
    clearDialog.returnValue = '';
    clearDialog.showModal();
  } else if (window.confirm(document.getElementById('clear-dialog-text').textContent)) {
    clearCurrent();
  }
});
clearDialog?.addEventListener('close', () => {
  if (clearDialog.returnValue === 'confirm') clearCurrent();
  clearButton.focus();
});

// ------------------------------------------------------------- sound ---

const SOUND_KEY = 'sohbet.sound';
let soundOn = false;
try {
  soundOn = localStorage.getItem(SOUND_KEY) === '1';
} catch {
  soundOn = false;
}
let audioCtx = null;

function ensureAudio() {
  if (!audioCtx) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audioCtx = new Ctx();
  }
  if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

function beep() {
  if (!soundOn) return;
  const ctx = ensureAudio();
  if (!ctx || ctx.state !== 'running') return;
  const t0 = ctx.currentTime;
  [[880, 0], [1318.5, 0.12]].forEach(([freq, at]) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + at);
    gain.gain.exponentialRampToValueAtTime(0.18, t0 + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + at);
    osc.stop(t0 + at + 0.25);
  });
}

function renderSound() {
  soundToggle.setAttribute('aria-pressed', soundOn ? 'true' : 'false');
  soundToggle.title = soundOn ? S.soundOn : S.soundOff;
  soundToggle.classList.toggle('on', soundOn);
}
soundToggle.addEventListener('click', () => {
  soundOn = !soundOn;
  try {
    localStorage.setItem(SOUND_KEY, soundOn ? '1' : '0');
  } catch {
    /* private mode */
  }
  renderSound();
  if (soundOn) {
    ensureAudio();
    beep();
  }
});
// Browsers start audio only after a gesture.
const unlock = () => {
  if (soundOn) ensureAudio();
};
document.addEventListener('pointerdown', unlock, { passive: true });
document.addEventListener('keydown', unlock);
renderSound();

// ------------------------------------------------------------ logout ---

document.getElementById('logout-button').addEventListener('click', async () => {
  try {
    await api('/admin/logout', { method: 'POST', body: {} });
  } catch {
    /* leave anyway */
  }
  location.href = '/admin/login';
});

// ------------------------------------------------------------ socket ---

const banner = connectionBanner([
  document.getElementById('conn-banner'),
  document.getElementById('thread-conn-banner'),
]);
const socket = window.io({
  auth: { csrf_token: csrfToken(), role: 'admin' },
  withCredentials: true,
});
/** The panel's socket (admin_canned.js listens to canned_updated). */
export const adminSocket = socket;

const sender = createSender({
  socket,
  event: 'message_to_visitor',
  list: () => list,
  payload: (item) => ({
    thread_id: item.thread_id,
    text: item.text,
    type: item.type || 'text',
    file_url: item.file_url || undefined,
    client_id: item.client_id,
  }),
  onStored: (m) => noteMessage(m, { own: true }),
  belongs: (m) => m.thread_id === currentId,
});

let connectedOnce = false;
socket.on('connect', () => {
  banner.connected();
  if (currentId) socket.emit('join_thread', { thread_id: currentId });
  sender.flush();
  if (connectedOnce) {
    loadThreads();
    catchUp();
  }
  connectedOnce = true;
});
socket.on('disconnect', (reason) => {
  banner.disconnected();
  if (reason !== 'io server disconnect') return; // the client reconnects by itself
  // The server ended this socket: the session ended (logout elsewhere,
  // expiry) or the socket fell behind under load. Reconnect only while
  // the session is still an admin's; otherwise back to the login page.
  setTimeout(async () => {
    try {
      const r = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
      const body = await r.json();
      if (body && body.role === 'admin') socket.connect();
      else location.href = '/admin/login';
    } catch {
      socket.connect(); // offline: the handshake tells
    }
  }, 500 + Math.random() * 1000);
});
socket.on('connect_error', (err) => {
  const code = err && err.message;
  if (code === 'auth_error') location.href = '/admin/login';
  else if (code === 'csrf_error' || code === 'origin_error') banner.fatal(S.errSession);
  else banner.disconnected();
});

/** Updates the list entry of a thread for a stored message. */
function noteMessage(m, { own = false } = {}) {
  document.dispatchEvent(new CustomEvent('sohbet:thread-message', { detail: { id: m.thread_id, sender: m.sender_type } }));
  let t = threads.get(m.thread_id);
  if (!t) {
    t = normalise({ id: m.thread_id, display_name: S.visitorLabel, created_at: m.created_at });
    threads.set(t.id, t);
    scheduleReload();
  }
  const lastId = t.last_message ? Number(t.last_message.id) : -1;
  const fresh = Number(m.id) > lastId;
  if (fresh) {
    t.last_message = m;
    if (ts(m.created_at) >= ts(t.last_activity)) t.last_activity = m.created_at;
  }
  let counted = false;
  if (fresh && !own && m.sender_type === 'visitor') {
    if (m.thread_id === currentId && !document.hidden) {
      markRead(m.thread_id);
    } else {
      t.unread_count += 1;
      counted = true;
    }
  }
  if (m.sender_type === 'visitor') stopTypingOf(m.thread_id, false);
  renderThreads();
  return { fresh, counted };
}

socket.on('thread_created', (p) => {
  if (!p || !p.id) return;
  if (!threads.has(p.id)) {
    threads.set(p.id, normalise({ ...p, last_activity: p.created_at }));
  } else if (p.display_name) {
    threads.get(p.id).display_name = p.display_name;
  }
  renderThreads();
});

socket.on('message_from_visitor', (m) => {
  if (!m || !m.thread_id) return;
  const shownBefore = list.has(Number(m.id));
  if (m.thread_id === currentId) list.upsert(m);
  const { fresh } = noteMessage(m);
  if (fresh && !shownBefore && m.sender_type === 'visitor'
      && (document.hidden || m.thread_id !== currentId)) beep();
});

socket.on('message_to_visitor', (m) => {
  if (!m || !m.thread_id) return;
  if (m.thread_id === currentId) list.upsert(m);
  noteMessage(m, { own: true });
});

socket.on('messages_cleared', (p) => {
  if (p && p.thread_id) applyCleared(p.thread_id);
});

/** `thread_updated {id, status, blocked}` (issue 13), or an API answer. */
function applyThreadState(p) {
  const t = p && threads.get(p.id);
  if (!t) return;
  t.status = p.status === 'closed' ? 'closed' : 'open';
  t.blocked = !!p.blocked;
  renderThreads();
}
socket.on('thread_updated', applyThreadState);
/** The thread list for the thread tools (admin_status.js). */
export const admin = {
  thread: (id) => threads.get(id),
  all: () => threads.values(),
  current: () => currentId,
  apply: applyThreadState,
  render: renderThreads,
};

function setPresence(p, online) {
  if (!p || !p.user_id || p.user_id === 'admin') return;
  const last = p.last_seen || (online ? null : new Date().toISOString());
  presence.set(p.user_id, { online, last_seen: last });
  const t = threads.get(p.user_id);
  if (t) {
    t.online = online;
    t.last_seen = last;
    if (p.username) t.display_name = p.username;
    if (!online) stopTypingOf(t.id, false);
    renderThread(t.id);
  }
}
socket.on('user_online', (p) => setPresence(p, true));
socket.on('user_offline', (p) => setPresence(p, false));

function stopTypingOf(id, render = true) {
  if (!typing.has(id)) return;
  clearTimeout(typing.get(id));
  typing.delete(id);
  if (render) renderThread(id);
}
socket.on('typing', (p) => {
  if (!p || !p.thread_id || p.sender_type !== 'visitor') return;
  clearTimeout(typing.get(p.thread_id));
  typing.set(p.thread_id, setTimeout(() => stopTypingOf(p.thread_id), 6000));
  renderThread(p.thread_id);
});
socket.on('stop_typing', (p) => {
  if (p && p.thread_id && p.sender_type === 'visitor') stopTypingOf(p.thread_id);
});

socket.on('message_error', (p) => {
  toast(errorText(p && (p.code || p.type), p && p.message));
});

// ----------------------------------------------------------- composer ---

const emitTyping = (ev) => {
  if (socket.connected && currentId) socket.emit(ev, { thread_id: currentId });
};
let composer = null;
const tools = createMediaTools({
  form: document.getElementById('composer'),
  input,
  sender,
  extra: () => ({ thread_id: currentId }),
  enabled: () => !!currentId,
  dropTarget: convView,
  onChange: () => composer && composer.update(),
});
composer = createComposer({
  form: document.getElementById('composer'),
  input,
  button: document.getElementById('send-button'),
  counter: document.getElementById('char-counter'),
  hasAttachment: () => tools.hasAttachment(),
  onSend: (text) => {
    if (!currentId) return;
    if (!tools.sendAttachment(text)) sender.send(text, { thread_id: currentId });
  },
  onTyping: () => emitTyping('typing'),
  onStopTyping: () => emitTyping('stop_typing'),
});

// ---------------------------------------------------------- lifecycle ---

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && currentId) {
    const t = threads.get(currentId);
    if (t && t.unread_count > 0) {
      t.unread_count = 0;
      markRead(currentId);
    }
    renderThread(currentId);
  }
  updateTitle();
});

setInterval(() => {
  for (const t of threads.values()) {
    const li = itemNodes.get(t.id);
    if (li) fillItem(li, t);
  }
  list.refreshTimes();
}, 30000);

loadThreads().then(() => {
  const id = decodeURIComponent(location.hash.slice(1));
  if (id && threads.has(id)) {
    openThread(id);
  }
});
