// sohbet: assignment in the panel (issue 22 item 4).
//
// The Mine / Unassigned / All filter above the thread list (the list shows
// each assignee's initials, admin/thread_list.js), and in the thread view a
// Take button (POST /api/threads/{id}/take; a 409 names who has it) and an
// assignee picker (POST /api/threads/{id}/assign {agent_id | null}). The
// picker lists the team from GET /api/agents (owners), else the signed-in
// agent and the thread's assignee. Every admin's panel follows changes
// through `thread_updated` (admin/live.js). Names are set as text only.
// Uses lib/ and the panel's API (admin/panel.js).
import { on, threads } from './admin/panel.js';
import { config } from './lib/config.js';
import { api, errorText } from './lib/api.js';
import { el, toast } from './lib/dom.js';

const filter = document.getElementById('assignee-filter');
const takeButton = document.getElementById('take-button');
const picker = document.getElementById('assignee-picker');

/** Wires the add-on; not called when its markup is missing. */
function start() {
  const T = config.tools || {};
  /** id -> name of the agents the picker offers. */
  const team = new Map();
  let myName = '';

  function renderFilter() {
    const current = threads.assignee();
    for (const b of filter.querySelectorAll('[data-assignee]')) {
      b.setAttribute('aria-pressed', String(b.dataset.assignee === current));
    }
  }

  filter.addEventListener('click', (e) => {
    const b = e.target.closest('[data-assignee]');
    if (!b) return;
    threads.setAssignee(b.dataset.assignee);
    renderFilter();
  });

  function option(value, text) {
    const o = el('option', null, text);
    o.value = value;
    return o;
  }

  function renderTools() {
    const t = threads.get(threads.current());
    if (!t) return;
    const mine = !!t.assignee && t.assignee.id === threads.me();
    takeButton.hidden = mine;
    const names = new Map(team);
    if (threads.me() != null && !names.has(threads.me())) names.set(threads.me(), myName);
    if (t.assignee && !names.has(t.assignee.id)) names.set(t.assignee.id, t.assignee.name);
    const opts = [option('', T.unassigned)];
    for (const [id, name] of names) opts.push(option(String(id), name));
    picker.replaceChildren(...opts);
    picker.value = t.assignee ? String(t.assignee.id) : '';
  }

  async function post(path, body) {
    const id = threads.current();
    if (!id) return;
    takeButton.disabled = true;
    picker.disabled = true;
    try {
      const data = await api(`/api/threads/${encodeURIComponent(id)}/${path}`, { method: 'POST', body });
      threads.apply(data.thread);
    } catch (e) {
      toast(e.code === 'CONFLICT' ? e.message : errorText(e.code, e.message));
    } finally {
      takeButton.disabled = false;
      picker.disabled = false;
      renderTools();
    }
  }

  takeButton.addEventListener('click', () => post('take', {}));
  picker.addEventListener('change', () => {
    const v = picker.value;
    post('assign', { agent_id: v === '' ? null : Number(v) });
  });

  on('thread-open', renderTools);
  on('threads-rendered', () => {
    renderFilter();
    renderTools();
  });
  renderFilter();

  api('/api/session').then((s) => {
    myName = s.display_name || '';
    if (s.agent_id != null) threads.setMe(s.agent_id);
  }).catch(() => {});
  // The team, for owners (others get 403 and pick from what they know).
  api('/api/agents').then((d) => {
    for (const a of d.agents || []) {
      if (!a.disabled_at) team.set(a.id, a.display_name);
    }
    renderTools();
  }).catch(() => {});
}

if (filter && takeButton && picker) start();
