// sohbet: the admin panel's thread list (the sidebar): `GET /api/threads`,
// one button per thread (avatar with presence, name, time, preview or
// "typing", unread badge), ordered open first then by last activity,
// filtered by the status filter and the search box, and the unread count in
// the page title. Opening a thread on click is conversation.js's (it
// listens on the list). Kept live by live.js through `noteMessage` and the
// render functions.
import { api, errorText } from '../lib/api.js';
import { S, fill } from '../lib/config.js';
import { el, hue, initials, preview, setTitleBadge, toast } from '../lib/dom.js';
import { fmt } from '../lib/time.js';
import { emit, normalise, threads, ts, typing, view } from './state.js';

const threadListEl = document.getElementById('thread-list');
const threadsEmpty = document.getElementById('threads-empty');
const searchInput = document.getElementById('thread-search');
const baseTitle = document.title;

/** id -> <li> of the thread list. */
const itemNodes = new Map();

/** `GET /api/threads`: replaces the list (a 401 goes to the login page). */
export async function loadThreads() {
  try {
    const data = await api('/api/threads');
    const fresh = new Map();
    for (const t of data.threads || []) {
      const n = normalise(t);
      const old = threads.get(n.id);
      if (n.id === view.currentId && !document.hidden) n.unread_count = 0;
      if (old && old.last_seen && !n.last_seen) n.last_seen = old.last_seen;
      fresh.set(n.id, n);
    }
    threads.clear();
    for (const [k, v] of fresh) threads.set(k, v);
    view.threadsLoaded = true;
    renderThreads();
  } catch (e) {
    if (e.status === 401) {
      location.href = '/admin/login';
      return;
    }
    toast(errorText(e.code, e.message));
  }
}

let reloadTimer = null;
/** Loads the list again shortly (a thread the panel did not know appeared). */
export function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadThreads, 800);
}

/** The status filter (`view.filter`, set by admin_status.js through panel.js). */
const shownByStatus = (t) => {
  const f = view.filter || 'open';
  return f === 'blocked' ? t.blocked : ['all', t.status].includes(f);
};

/** The assignee filter (`view.assignee`, set by admin_assign.js). */
const shownByAssignee = (t) => {
  const f = view.assignee || 'all';
  if (f === 'me') return !!t.assignee && t.assignee.id === view.me;
  if (f === 'unassigned') return !t.assignee;
  return true;
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
  top.appendChild(el('span', 'thread-assignee'));
  top.appendChild(el('time', 'thread-time'));
  const bottom = el('span', 'thread-bottom');
  bottom.appendChild(el('span', 'thread-preview'));
  const badge = el('span', 'badge');
  bottom.appendChild(badge);
  main.appendChild(top);
  main.appendChild(bottom);
  btn.appendChild(avatar);
  btn.appendChild(main);
  li.appendChild(btn);
  return li;
}

function fillItem(li, t) {
  const btn = li.firstElementChild;
  const name = t.display_name;
  const isTyping = typing.has(t.id);
  const unread = t.id === view.currentId && !document.hidden ? 0 : t.unread_count;
  btn.classList.toggle('active', t.id === view.currentId);
  btn.classList.toggle('unread', unread > 0);
  btn.classList.toggle('typing', isTyping);
  if (t.id === view.currentId) btn.setAttribute('aria-current', 'true');
  else btn.removeAttribute('aria-current');
  const avatar = btn.querySelector('.avatar');
  avatar.style.setProperty('--hue', String(hue(t.id)));
  avatar.querySelector('.avatar-initials').textContent = initials(name);
  avatar.querySelector('.presence-dot').dataset.state = t.online ? 'online' : 'offline';
  btn.querySelector('.thread-name').textContent = name;
  const who = btn.querySelector('.thread-assignee');
  who.textContent = t.assignee ? initials(t.assignee.name) : '';
  who.title = t.assignee ? t.assignee.name : '';
  who.hidden = !t.assignee;
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
    if (t.last_message.sender_type === 'admin') prev.appendChild(el('span', 'preview-you', `${t.last_message.internal ? '📝 ' : ''}${S.you}: `));
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

/** Draws the whole list again (order, filter, search); then `threads-rendered`. */
export function renderThreads() {
  const q = searchInput.value.trim().toLocaleLowerCase();
  const wanted = sortedThreads().filter(shownByStatus).filter(shownByAssignee).filter((t) => !q
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
  threadsEmpty.hidden = !view.threadsLoaded || wanted.length > 0;
  updateTitle();
  emit('threads-rendered');
}

/** Draws one thread's entry again (same place); then `thread-changed`. */
export function renderThread(id) {
  const t = threads.get(id);
  const li = itemNodes.get(id);
  if (t && li) fillItem(li, t);
  updateTitle();
  emit('thread-changed', { id });
}

/** Every entry again, for the relative times (every 30 s). */
export function refreshItems() {
  for (const t of threads.values()) {
    const li = itemNodes.get(t.id);
    if (li) fillItem(li, t);
  }
}

/** The list button of thread `id`, if shown. */
export function itemButton(id) {
  return itemNodes.get(id)?.firstElementChild || null;
}

function totalUnread() {
  let n = 0;
  for (const t of threads.values()) {
    if ((t.id === view.currentId && !document.hidden) || t.status === 'closed') continue;
    n += t.unread_count;
  }
  return n;
}

/** The unread count of open threads in the page title. */
export function updateTitle() {
  setTitleBadge(baseTitle, totalUnread());
}

searchInput.addEventListener('input', renderThreads);

// ------------------------------------------------------------ updates ---

// Reading the newest page marks the thread read on the server.
let readTimer = null;
/** Marks thread `id` read on the server in a second, if it is still open then. */
export function markRead(id) {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    if (id === view.currentId) api(`/api/messages/${encodeURIComponent(id)}?limit=1`).catch(() => {});
  }, 1000);
}

/**
 * Updates the list entry of a thread for a stored message (`own`: sent
 * from this panel, never unread). Returns {fresh: newer than the entry's
 * last message, counted: added to its unread count}.
 */
export function noteMessage(m, { own = false } = {}) {
  emit('thread-message', { id: m.thread_id, sender: m.sender_type });
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
    if (m.thread_id === view.currentId && !document.hidden) {
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

/** Ends the visitor's typing indicator of thread `id`. */
export function stopTypingOf(id, render = true) {
  if (!typing.has(id)) return;
  clearTimeout(typing.get(id));
  typing.delete(id);
  if (render) renderThread(id);
}

/** `thread_updated {id, status, blocked, assignee?}` (issues 13, 22), or an API answer. */
export function applyThreadState(p) {
  const t = p && threads.get(p.id);
  if (!t) return;
  t.status = p.status === 'closed' ? 'closed' : 'open';
  t.blocked = !!p.blocked;
  // Absent: not known (a visitor's reopening message); null: unassigned.
  if (p.assignee !== undefined) t.assignee = p.assignee;
  renderThreads();
}
