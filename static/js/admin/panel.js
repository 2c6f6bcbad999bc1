// sohbet: the admin panel's API for its add-ons (static/js/admin_*.js):
// everything an add-on may use of the panel, and nothing else. The panel
// itself starts in admin.js; an add-on imports only this module (and lib/).
//
// - `openThread(id, {push})`: shows a thread; resolves when its first page
//   is shown;
// - `revealMessage(threadId, messageId)`: opens the thread with that
//   message scrolled into view and marked; resolves to its node, false when
//   the thread does not have it, null when another thread was opened
//   meanwhile;
// - `socket`: the panel's Socket.IO socket (listen only; e.g.
//   `canned_updated`);
// - `threads`: the threads the panel knows (`get(id)`, `all()`,
//   `current()`: the open thread's id or null, `apply({id, status,
//   blocked})`: a thread's new state, `filter()` / `setFilter(name)`: the
//   status filter, `open` | `closed` | `blocked` | `all`; `erased(id)`:
//   the thread was erased, drop it; `assignee()` /
//   `setAssignee(name)`: the assignee filter, `all` | `me` | `unassigned`;
//   `me()` / `setMe(id)`: the signed-in agent's id);
// - `on(name, fn)`: the panel's events, `thread-open` {id},
//   `threads-rendered`, `thread-message` {id, sender} (state.js).
import { applyErased, openThread, revealMessage } from './conversation.js';
import { socket } from './socket.js';
import { on, threads as known, view } from './state.js';
import { applyThreadState, renderThreads } from './thread_list.js';

export { on, openThread, revealMessage, socket };

/** The threads the panel knows, read-only but for `apply` and the filter. */
export const threads = {
  get: (id) => known.get(id),
  all: () => known.values(),
  current: () => view.currentId,
  apply: applyThreadState,
  erased: applyErased,
  filter: () => view.filter,
  setFilter(name) {
    view.filter = name;
    renderThreads();
  },
  assignee: () => view.assignee,
  setAssignee(name) {
    view.assignee = name;
    renderThreads();
  },
  me: () => view.me,
  setMe(id) {
    view.me = id;
    renderThreads();
  },
};
