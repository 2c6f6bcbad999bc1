// sohbet: the admin panel's shared state (static/js/admin/): the threads the
// panel knows, presence and typing per thread, which thread is open, and the
// panel's events. Imports nothing of the panel: every other module of
// admin/ may import it.
import { S } from '../lib/config.js';

/** id -> thread ({id, display_name, last_activity, unread_count, last_message, ...}, `normalise`). */
export const threads = new Map();
/** id -> {online, last_seen}; kept apart so early events are not lost. */
export const presence = new Map();
/** id -> timer of the visitor's typing indicator. */
export const typing = new Map();

/**
 * What the panel shows: `currentId` (the open thread, null on the list
 * screen); `token` (bumped at every open and close, so that an answer for
 * a thread no longer shown is dropped); `hasMore` (the open thread has
 * older pages on the server); `threadsLoaded` (the first list arrived);
 * `filter` (the status filter, admin_status.js: `open` (default),
 * `closed`, `blocked` or `all`); `assignee` (the assignee filter,
 * admin_assign.js: `all` (default), `me` or `unassigned`); `me` (the
 * signed-in agent's id, from `GET /api/session`).
 */
export const view = {
  currentId: null,
  token: 0,
  hasMore: false,
  threadsLoaded: false,
  filter: 'open',
  assignee: 'all',
  me: null,
};

/** Milliseconds since the epoch of an ISO time; 0 when missing or invalid. */
export function ts(v) {
  const t = new Date(v || 0).getTime();
  return Number.isNaN(t) ? 0 : t;
}

/** A thread as the panel keeps it, from a `GET /api/threads` entry or an event. */
export function normalise(t) {
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
    assignee: t.assignee || null,
  };
}

// ------------------------------------------------------------- events ---

/** name -> listeners. */
const listeners = new Map();

/**
 * Calls `fn(detail)` on every `emit(name, detail)`. The panel's events:
 * - `thread-open` {id}: a thread was opened (its history is loading);
 * - `thread-close` {id}: the open thread was closed (back to the list);
 * - `threads-rendered`: the thread list was drawn again (any change);
 * - `thread-changed` {id}: one thread's entry was drawn again;
 * - `thread-message` {id, sender}: a stored message of thread `id` arrived
 *   (`sender`: `visitor` | `admin`).
 */
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, []);
  listeners.get(name).push(fn);
}

/**
 * Calls the listeners of `name` in order; one that throws is reported as an
 * uncaught error (as a DOM event listener's would be) and does not stop the
 * others.
 */
export function emit(name, detail) {
  for (const fn of listeners.get(name) || []) {
    try {
      fn(detail);
    } catch (e) {
      if (typeof reportError === 'function') reportError(e);
      else console.error(e);
    }
  }
}
