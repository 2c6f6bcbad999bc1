// sohbet: canned replies in the admin panel (issue 13).
//
// The dialog behind the sidebar's canned button lists, creates, edits and
// deletes them (GET/POST /api/canned, PUT/DELETE /api/canned/{id}). In the
// composer, a `/` at the start opens a picker filtered by name as the admin
// types: ArrowUp/ArrowDown move, Enter inserts the body in place of the
// `/query` (still editable before sending), Escape closes, a click works
// too. The picker is a listbox whose active option the textarea names with
// aria-activedescendant (focus stays in the composer). The list follows
// `canned_updated` on the panel's socket (other panels, other instances)
// and is fetched again after every reconnect. Text is set with textContent
// only. Uses lib/ and the panel's API (admin/panel.js: socket, on).
import { on, socket } from './admin/panel.js';
import { api, errorText } from './lib/api.js';
import { config, fill } from './lib/config.js';
import { el, toast } from './lib/dom.js';
const dialog = document.getElementById('canned-dialog');
const openButton = document.getElementById('canned-button');
const input = document.getElementById('message-input');
const picker = document.getElementById('canned-picker');
const status = document.getElementById('canned-status');
const form = document.getElementById('canned-form');
/** Wires the add-on; not called when its markup is missing. */
function start() {
  const L = config.canned || {};
  const listEl = document.getElementById('canned-list');
  const emptyEl = document.getElementById('canned-empty');
  const nameInput = document.getElementById('canned-name');
  const bodyInput = document.getElementById('canned-body');
  const errorEl = document.getElementById('canned-error');
  const submitButton = document.getElementById('canned-submit');
  const cancelButton = document.getElementById('canned-cancel');

  /** id -> {id, name, body, created_at, updated_at}. */
  const replies = new Map();
  /** Ids deleted (never reused): a late `updated` must not bring one back. */
  const gone = new Set();
  let editing = null;

  const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id - b.id;
  const sorted = () => [...replies.values()].sort(byName);

  async function load() {
    try {
      const data = await api('/api/canned');
      replies.clear();
      for (const r of data.replies || []) if (!gone.has(r.id)) replies.set(r.id, r);
      changed();
    } catch {
      /* the panel's own banners report a lost session; retried at reconnect */
    }
  }

  /** Applies a `canned_updated` payload or an API answer. */
  function apply(action, reply, id = reply && reply.id) {
    if (id === undefined || id === null) return;
    if (action === 'deleted') {
      gone.add(id);
      replies.delete(id);
    } else if (reply && !gone.has(id)) {
      const old = replies.get(id);
      if (!old || String(old.updated_at) <= String(reply.updated_at)) replies.set(id, reply);
    }
    changed();
  }

  function changed() {
    renderList();
    if (!picker.hidden) refreshPicker();
  }

  // ------------------------------------------------------------- dialog ---

  function renderList() {
    listEl.replaceChildren();
    for (const r of sorted()) {
      const li = el('li', 'canned-item');
      li.dataset.id = String(r.id);
      const text = el('div', 'canned-item-text');
      text.append(el('strong', 'canned-name', r.name), el('span', 'canned-body', r.body));
      const actions = el('div', 'canned-item-actions');
      const edit = el('button', 'btn btn-ghost canned-edit', L.edit);
      edit.type = 'button';
      edit.setAttribute('aria-label', `${L.edit}: ${r.name}`);
      edit.addEventListener('click', () => startEdit(r.id));
      const del = el('button', 'btn btn-ghost btn-danger-text canned-delete', L.delete);
      del.type = 'button';
      del.setAttribute('aria-label', `${L.delete}: ${r.name}`);
      del.addEventListener('click', () => askDelete(del, r));
      actions.append(edit, del);
      li.append(text, actions);
      listEl.append(li);
    }
    emptyEl.hidden = replies.size > 0;
  }

  function resetForm() {
    editing = null;
    form.reset();
    submitButton.textContent = L.add;
    cancelButton.hidden = true;
    showError('');
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function startEdit(id) {
    const r = replies.get(id);
    if (!r) return;
    editing = id;
    nameInput.value = r.name;
    bodyInput.value = r.body;
    submitButton.textContent = L.save;
    cancelButton.hidden = false;
    showError('');
    nameInput.focus();
  }

  function askDelete(button, r) {
    if (button.dataset.armed !== '1') {
      button.dataset.armed = '1';
      button.textContent = L.confirmDelete;
      button.setAttribute('aria-label', `${L.confirmDelete} ${r.name}`);
      setTimeout(() => {
        if (button.isConnected && button.dataset.armed === '1') {
          button.dataset.armed = '';
          button.textContent = L.delete;
          button.setAttribute('aria-label', `${L.delete}: ${r.name}`);
        }
      }, 5000);
      return;
    }
    remove(r.id);
  }

  async function remove(id) {
    try {
      await api(`/api/canned/${encodeURIComponent(id)}`, { method: 'DELETE' });
      apply('deleted', null, id);
      if (editing === id) resetForm();
      toast(L.deleted, { kind: 'info', timeout: 3000 });
      (listEl.querySelector('.canned-edit') || nameInput).focus();
    } catch (e) {
      if (e.status === 404) apply('deleted', null, id);
      else toast(errorText(e.code, e.message));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: nameInput.value, body: bodyInput.value };
    if (!body.name.trim() || !body.body.trim()) {
      showError(L.invalid);
      (body.name.trim() ? bodyInput : nameInput).focus();
      return;
    }
    submitButton.disabled = true;
    try {
      const data = editing === null
        ? await api('/api/canned', { method: 'POST', body })
        : await api(`/api/canned/${encodeURIComponent(editing)}`, { method: 'PUT', body });
      apply(editing === null ? 'created' : 'updated', data.reply);
      resetForm();
      toast(L.saved, { kind: 'info', timeout: 3000 });
      nameInput.focus();
    } catch (err) {
      if (err.code === 'CONFLICT') showError(L.nameTaken);
      else if (err.code === 'VALIDATION_ERROR') showError(L.invalid);
      else if (err.status === 404 && editing !== null) {
        apply('deleted', null, editing);
        resetForm();
      } else showError(errorText(err.code, err.message));
    } finally {
      submitButton.disabled = false;
    }
  });

  cancelButton.addEventListener('click', () => {
    resetForm();
    nameInput.focus();
  });
  openButton.addEventListener('click', () => {
    resetForm();
    renderList();
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    nameInput.focus();
  });
  document.getElementById('canned-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    const at = document.activeElement;
    if (!at || at === document.body || dialog.contains(at)) openButton.focus();
  });

  // ------------------------------------------------------------- picker ---

  let shown = []; // the replies in the picker, in order
  let active = -1;
  let suppressed = false; // after Escape or a choice: closed until a fresh `/`

  input.setAttribute('aria-controls', 'canned-picker');
  input.setAttribute('aria-autocomplete', 'list');

  /** The filter after a leading `/` (lower case), or null when not picking. */
  function query() {
    const v = input.value;
    if (!v.startsWith('/') || v.includes('\n')) return null;
    return v.slice(1).trim().toLocaleLowerCase();
  }

  function matching(q) {
    const hits = [];
    for (const r of sorted()) {
      const name = r.name.toLocaleLowerCase();
      const at = name.indexOf(q);
      if (at >= 0) hits.push({ r, prefix: at === 0 });
    }
    // Names that start with the filter first, each group by name.
    return hits.filter((h) => h.prefix).concat(hits.filter((h) => !h.prefix)).map((h) => h.r);
  }

  function refreshPicker() {
    const q = suppressed ? null : query();
    const items = q === null ? [] : matching(q);
    if (!items.length) {
      closePicker();
      return;
    }
    const keep = active >= 0 && shown[active] ? shown[active].id : null;
    const wasHidden = picker.hidden;
    const countChanged = items.length !== shown.length;
    shown = items;
    active = Math.max(0, shown.findIndex((r) => r.id === keep));
    picker.replaceChildren();
    shown.forEach((r, i) => {
      const li = el('li', 'canned-option');
      li.id = `canned-opt-${r.id}`;
      li.setAttribute('role', 'option');
      li.append(el('span', 'canned-option-name', `/${r.name}`), el('span', 'canned-option-body', r.body));
      li.addEventListener('mousedown', (e) => e.preventDefault()); // focus stays in the composer
      li.addEventListener('click', () => choose(i));
      picker.append(li);
    });
    picker.hidden = false;
    mark();
    if (wasHidden || countChanged) status.textContent = fill(L.pickerCount, { n: shown.length });
  }

  function mark() {
    [...picker.children].forEach((li, i) => li.setAttribute('aria-selected', i === active ? 'true' : 'false'));
    const node = picker.children[active];
    if (node) {
      input.setAttribute('aria-activedescendant', node.id);
      node.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function closePicker() {
    if (picker.hidden && !shown.length) return;
    picker.hidden = true;
    picker.replaceChildren();
    shown = [];
    active = -1;
    input.removeAttribute('aria-activedescendant');
    status.textContent = '';
  }

  function choose(i) {
    const r = shown[i];
    if (!r) return;
    suppressed = true; // a body that starts with `/` must not reopen the picker
    closePicker();
    input.value = r.body;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    input.dispatchEvent(new Event('input', { bubbles: true })); // the composer's counter and button
  }

  input.addEventListener('input', () => {
    // A `/` typed into an empty composer (or no `/` at all) starts afresh:
    // the composer empties the field after a send without an input event.
    if (input.value.length <= 1 || !input.value.startsWith('/')) suppressed = false;
    refreshPicker();
  });
  input.addEventListener('blur', () => closePicker());
  // Capture on the form: runs before the composer's own Enter-to-send.
  input.form.addEventListener('keydown', (e) => {
    if (e.target !== input || picker.hidden || e.isComposing) return;
    const n = shown.length;
    let handled = true;
    if (e.key === 'ArrowDown') {
      active = (active + 1) % n;
      mark();
    } else if (e.key === 'ArrowUp') {
      active = (active - 1 + n) % n;
      mark();
    } else if (e.key === 'Enter' && !e.shiftKey) {
      choose(active);
    } else if (e.key === 'Escape') {
      suppressed = true;
      closePicker();
    } else {
      handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);
  on('thread-open', () => closePicker());

  // ------------------------------------------------------------- socket ---

  socket.on('canned_updated', (p) => {
    if (p && p.action) apply(p.action, p.reply, p.id);
  });
  socket.on('connect', load); // catches up on changes missed while away
  load();
}

if (dialog && openButton && input && picker && form) start();
