// sohbet: the admin panel's open thread (the right side): its header
// (name, presence, typing), its history over HTTP (`GET /api/messages/{id}`,
// older pages on scroll, catching up after a reconnect), the reply composer
// with its media tools, and the sender (`message_to_visitor` with ack,
// lib/sender.js). On phones the list and the thread are separate screens
// (data-view="list" | "thread" on #admin-app) with a back button and browser
// history (#<thread id>). Opens a thread when its list button is clicked.
import { api, errorText } from '../lib/api.js';
import { createComposer } from '../lib/composer.js';
import { S, fill, limits } from '../lib/config.js';
import { hue, initials, toast } from '../lib/dom.js';
import { createMediaTools } from '../lib/media.js';
import { createSender } from '../lib/sender.js';
import { fmt } from '../lib/time.js';
import { NoteList, byOther, noteExtra, sending, setNoteMode } from './notes.js';
import { socket } from './socket.js';
import { emit, normalise, on, threads, typing, view } from './state.js';
import { itemButton, markRead, noteMessage, renderThread, renderThreads, scheduleReload } from './thread_list.js';

const PAGE = limits.pageSize;
const PAGE_MAX = limits.pageMax;
const app = document.getElementById('admin-app');
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
const input = document.getElementById('message-input');
const form = document.getElementById('composer');
const wide = window.matchMedia('(min-width: 860px)');

let loadingOlder = false;
/** Settles when the open thread's first page is shown (or failed). */
let firstPage = Promise.resolve();

/** The open thread's messages. */
export const list = new NoteList(messagesEl, {
  jumpButton: document.getElementById('jump-button'),
  own: 'admin',
  senderLabel: (m) => (m.sender_type === 'admin'
    ? (byOther(m) ? m.sender_name : S.you)
    : (threads.get(m.thread_id)?.display_name || S.visitorLabel)),
  onRetry: (cid) => sender.retry(cid),
  onCancelUpload: (cid) => sender.cancel(cid),
  onRemove: (cid) => sender.discard(cid),
  onChange: () => {
    noMessages.hidden = list.size > 0 || view.hasMore || !view.currentId;
  },
});

/** Replies: emitted with ack, retried with the same client_id, queued while offline. */
export const sender = createSender({
  socket,
  event: 'message_to_visitor',
  list: () => list,
  payload: (item) => ({
    thread_id: item.thread_id,
    text: item.text,
    type: item.type || 'text',
    file_url: item.file_url || undefined,
    client_id: item.client_id,
    internal: item.internal || undefined,
  }),
  onStored: (m) => noteMessage(m, { own: true }),
  belongs: (m) => m.thread_id === view.currentId,
});

const threadPath = (id) => `/api/messages/${encodeURIComponent(id)}`;

// ------------------------------------------------------------- header ---

function renderHeader() {
  const t = threads.get(view.currentId);
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

// Registered before any add-on's listener: the header is drawn first.
on('threads-rendered', () => {
  if (view.currentId) renderHeader();
});
on('thread-changed', ({ id }) => {
  if (id === view.currentId) renderHeader();
});

// ------------------------------------------------------- open / close ---

function showHistoryStatus(text) {
  historyStatus.textContent = text || '';
  historyStatus.hidden = !text;
}

async function fetchPage(id, query) {
  const data = await api(`${threadPath(id)}?${query}`);
  // With `after=`: the edits made since (issue 23), to messages shown.
  if (id === view.currentId) for (const m of data.edited || []) list.update(m);
  return Array.isArray(data.messages) ? data.messages : [];
}

/**
 * Shows thread `id` (`push`: a new browser history entry on phones).
 * Resolves when its first page is shown (or failed to load).
 */
export async function openThread(id, { push = false } = {}) {
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
  if (view.currentId === id) {
    if (wide.matches) input.focus();
    return firstPage;
  }
  if (view.currentId && socket.connected) socket.emit('leave_thread', { thread_id: view.currentId });
  const previous = view.currentId;
  view.currentId = id;
  const token = ++view.token;
  composer.reset();
  setNoteMode(false); // a note is meant for one thread
  tools.reset();
  view.hasMore = false;
  list.clear();
  showHistoryStatus('');
  convEmpty.hidden = true;
  convView.hidden = false;
  if (previous) renderThread(previous);
  renderThread(id);
  emit('thread-open', { id });
  if (socket.connected) socket.emit('join_thread', { thread_id: id });
  if (wide.matches) input.focus();
  else convView.querySelector('.back-button').focus({ preventScroll: true });

  messagesEl.setAttribute('aria-busy', 'true');
  let shown;
  firstPage = new Promise((resolve) => { shown = resolve; });
  try {
    const msgs = await fetchPage(id, `limit=${PAGE}`); // marks the thread read
    if (token !== view.token) return;
    view.hasMore = msgs.length >= PAGE;
    list.addMany(msgs, { scroll: 'bottom' });
    const t = threads.get(id);
    if (t) t.unread_count = 0;
    // Replies still waiting for an upload or an ack in this thread.
    sender.showPending((p) => p.thread_id === id);
    renderThread(id);
    fillViewport();
  } catch (e) {
    if (token !== view.token) return;
    showHistoryStatus(S.loadFailed);
    toast(errorText(e.code, e.message));
  } finally {
    if (token === view.token) messagesEl.setAttribute('aria-busy', 'false');
    list.onChange();
    shown();
  }
}

function closeThread() {
  if (view.currentId && socket.connected) socket.emit('leave_thread', { thread_id: view.currentId });
  const previous = view.currentId;
  view.currentId = null;
  view.token += 1;
  composer.reset();
  tools.reset();
  list.clear();
  convView.hidden = true;
  convEmpty.hidden = false;
  app.dataset.view = 'list';
  if (previous) emit('thread-close', { id: previous });
  if (previous) {
    renderThread(previous);
    const btn = itemButton(previous);
    if (btn) btn.focus({ preventScroll: false });
  }
}

document.getElementById('thread-list').addEventListener('click', (e) => {
  const btn = e.target.closest('.thread-item');
  if (btn) openThread(btn.dataset.threadId, { push: true });
});

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

// ------------------------------------------------------------ history ---

/** Loads `size` messages before the oldest shown; one load at a time (callers share it). */
let olderLoad = null;
function loadOlder(size = PAGE) {
  if (!olderLoad) {
    const token = view.token;
    olderLoad = loadOlderPage(size).finally(() => {
      olderLoad = null;
      if (token === view.token) fillViewport();
    });
  }
  return olderLoad;
}

async function loadOlderPage(size) {
  const id = view.currentId;
  const oldest = list.oldestId();
  if (!id || !view.hasMore || loadingOlder || oldest === null) return;
  loadingOlder = true;
  const token = view.token;
  showHistoryStatus(S.loadingOlder);
  try {
    const msgs = await fetchPage(id, `limit=${size}&before=${oldest}`);
    if (token !== view.token) return;
    view.hasMore = msgs.length >= size;
    list.prependOlder(msgs);
    showHistoryStatus('');
  } catch {
    if (token === view.token) showHistoryStatus(S.loadFailed);
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
export async function revealMessage(id, mid) {
  await openThread(id, { push: true });
  const token = view.token;
  while (token === view.token && !list.has(mid) && view.hasMore) {
    const before = list.oldestId();
    await loadOlder(PAGE_MAX);
    if (list.oldestId() === before) break; // the load failed: stop
  }
  if (token !== view.token) return null;
  const node = list.byId.get(mid);
  if (!node) return false;
  for (const old of messagesEl.querySelectorAll('.message.search-hit')) old.classList.remove('search-hit');
  node.classList.add('search-hit');
  node.tabIndex = -1;
  node.scrollIntoView({ block: 'center' });
  node.focus({ preventScroll: true });
  return node;
}

function fillViewport() {
  if (view.hasMore && messagesEl.scrollHeight <= messagesEl.clientHeight + 40) loadOlder();
}

messagesEl.addEventListener('scroll', () => {
  if (messagesEl.scrollTop < 120) loadOlder();
}, { passive: true });

/** After a reconnect: messages of the open thread with id > last shown. */
export async function catchUp() {
  const id = view.currentId;
  if (!id) return;
  const token = view.token;
  try {
    let last = list.lastId();
    if (last === null) {
      const msgs = await fetchPage(id, `limit=${PAGE}`);
      if (token === view.token) list.addMany(msgs);
      return;
    }
    for (let i = 0; i < 20; i += 1) {
      const msgs = await fetchPage(id, `after=${last}&limit=${PAGE_MAX}`);
      if (token !== view.token) return;
      list.addMany(msgs);
      if (msgs.length < PAGE_MAX) break;
      last = list.lastId();
    }
    if (!document.hidden) markRead(id);
  } catch {
    /* next reconnect */
  }
}

/** Thread `id` was cleared (here or elsewhere): no last message, no history. */
export function applyCleared(id) {
  const t = threads.get(id);
  if (t) {
    t.last_message = null;
    t.unread_count = 0;
  }
  if (id === view.currentId) {
    view.hasMore = false;
    list.clear();
  }
  renderThread(id);
}

/**
 * Thread `id` was erased (here or by another owner, `thread_erased`): it
 * leaves the list, and its conversation closes when it is the open one.
 */
export function applyErased(id) {
  if (id === view.currentId) {
    history.replaceState(null, '', location.pathname);
    closeThread();
  }
  threads.delete(id);
  typing.delete(id);
  renderThreads();
}

// ----------------------------------------------------------- composer ---

const emitTyping = (ev) => {
  if (socket.connected && view.currentId) socket.emit(ev, { thread_id: view.currentId });
};
let composer = null;
const tools = createMediaTools({
  form,
  input,
  sender,
  extra: () => ({ thread_id: view.currentId, ...noteExtra() }),
  enabled: () => !!view.currentId,
  dropTarget: convView,
  onChange: () => composer && composer.update(),
});
composer = createComposer({
  form,
  input,
  button: document.getElementById('send-button'),
  counter: document.getElementById('char-counter'),
  hasAttachment: () => tools.hasAttachment(),
  onSend: (text) => {
    if (!view.currentId) return;
    sending(() => {
      if (!tools.sendAttachment(text)) sender.send(text, { thread_id: view.currentId, ...noteExtra() });
    });
  },
  onTyping: () => emitTyping('typing'),
  onStopTyping: () => emitTyping('stop_typing'),
});
