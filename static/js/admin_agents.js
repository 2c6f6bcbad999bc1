// sohbet: the support team in the admin panel (issue 22).
//
// The sidebar's team button opens a dialog with "My account" for every
// agent (PATCH /api/agents/me: its shown name; a new password with the
// current one) and, for owners only (the server renders that section only
// for them and refuses the API to others), the agents: GET /api/agents,
// add one (POST /api/agents; without a password the answer's one-time
// invite URL is shown once, in a read-only field), rename (PATCH), role
// (PATCH), disable / enable (POST …/disable, …/enable). Text is set with
// textContent and values only, never as HTML.
import { api, errorText } from './lib/api.js';
import { config } from './lib/config.js';
import { el, toast } from './lib/dom.js';

const dialog = document.getElementById('agents-dialog');
const openButton = document.getElementById('agents-button');

/** The message of a failed call: the server's own text for a 400 or 409. */
function messageOf(err) {
  if (err && (err.code === 'VALIDATION_ERROR' || err.code === 'CONFLICT')) return err.message;
  return errorText(err && err.code, err && err.message);
}

function showError(node, err) {
  node.textContent = err ? messageOf(err) : '';
  node.hidden = !err;
}

function start() {
  const L = config.agents || {};
  const owner = dialog.dataset.owner === '1';

  // ---- my account
  const meForm = document.getElementById('me-form');
  const meName = document.getElementById('me-name');
  const meCurrent = document.getElementById('me-current');
  const meNew = document.getElementById('me-new');
  const meError = document.getElementById('me-error');
  const signedIn = document.getElementById('signed-in-name');
  meForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(meError, null);
    const body = {};
    if (meName.value.trim()) body.display_name = meName.value;
    if (meNew.value) {
      body.new_password = meNew.value;
      body.current_password = meCurrent.value;
    }
    try {
      const data = await api('/api/agents/me', { method: 'PATCH', body });
      meName.value = data.agent.display_name;
      if (signedIn) signedIn.textContent = data.agent.display_name;
      document.body.dataset.adminName = data.agent.display_name;
      meCurrent.value = '';
      meNew.value = '';
      toast(L.saved, { kind: 'info' });
      if (owner) load();
    } catch (err) {
      showError(meError, err);
    }
  });

  // ---- link Telegram: a one-time code for the bot (10 minutes)
  const tgButton = document.getElementById('tg-link');
  const tgOut = document.getElementById('tg-link-out');
  tgButton.addEventListener('click', async () => {
    try {
      const data = await api('/api/agents/me/telegram-link', { method: 'POST', body: {} });
      tgOut.replaceChildren(`/link ${data.code} · `);
      const a = document.createElement('a');
      a.href = /^https:\/\/t\.me\//.test(data.url) ? data.url : '#';
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = data.url;
      tgOut.append(a);
      tgOut.hidden = false;
    } catch (err) {
      tgOut.textContent = messageOf(err);
      tgOut.hidden = false;
    }
  });

  // ---- the agents (owners)
  const listEl = document.getElementById('agents-list');
  const form = document.getElementById('agent-form');
  const errorEl = document.getElementById('agent-error');
  const invite = document.getElementById('agent-invite');
  const inviteUrl = document.getElementById('agent-invite-url');

  async function call(path, method, body) {
    try {
      await api(path, { method, body });
      await load();
    } catch (err) {
      toast(messageOf(err));
    }
  }

  function item(a) {
    const li = el('li', 'canned-item agent-item');
    li.dataset.id = String(a.id);
    li.dataset.disabled = a.disabled_at ? '1' : '0';
    const text = el('div', 'canned-item-text');
    text.appendChild(el('strong', 'agent-name', a.display_name));
    const states = [a.username];
    if (a.disabled_at) states.push(L.disabled);
    else if (a.invite_pending) states.push(L.invited);
    text.appendChild(el('span', 'agent-state', states.join(' · ')));
    li.appendChild(text);
    const actions = el('div', 'canned-item-actions');
    const role = el('select', 'agent-role');
    role.setAttribute('aria-label', `${L.role}: ${a.display_name}`);
    for (const [value, label] of [['agent', L.agent], ['owner', L.owner]]) {
      const o = el('option', null, label);
      o.value = value;
      o.selected = a.role === value;
      role.appendChild(o);
    }
    role.addEventListener('change', () => call(`/api/agents/${a.id}`, 'PATCH', { role: role.value }));
    const rename = el('button', 'btn btn-ghost agent-rename', L.rename);
    rename.type = 'button';
    rename.addEventListener('click', () => {
      const name = window.prompt(L.renamePrompt, a.display_name);
      if (name !== null && name.trim()) call(`/api/agents/${a.id}`, 'PATCH', { display_name: name });
    });
    const toggle = el('button', 'btn btn-ghost agent-toggle', a.disabled_at ? L.enable : L.disable);
    toggle.type = 'button';
    toggle.addEventListener('click', () => call(`/api/agents/${a.id}/${a.disabled_at ? 'enable' : 'disable'}`, 'POST', {}));
    actions.append(role, rename, toggle);
    li.appendChild(actions);
    return li;
  }

  async function load() {
    if (!listEl) return;
    try {
      const data = await api('/api/agents');
      listEl.replaceChildren(...(data.agents || []).map(item));
    } catch (err) {
      toast(messageOf(err));
    }
  }

  if (form) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      showError(errorEl, null);
      invite.hidden = true;
      const f = new FormData(form);
      const body = {
        username: String(f.get('username') || ''),
        display_name: String(f.get('display_name') || ''),
        role: String(f.get('role') || 'agent'),
      };
      if (f.get('password')) body.password = String(f.get('password'));
      try {
        const data = await api('/api/agents', { method: 'POST', body });
        form.reset();
        if (data.invite_url) {
          inviteUrl.value = data.invite_url;
          invite.hidden = false;
          inviteUrl.focus();
          inviteUrl.select();
        }
        toast(L.saved, { kind: 'info' });
        await load();
      } catch (err) {
        showError(errorEl, err);
      }
    });
  }

  openButton.addEventListener('click', () => {
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    if (owner) load();
    meName.focus();
  });
  document.getElementById('agents-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    // The invite URL is shown once: gone when the dialog closes.
    if (inviteUrl) inviteUrl.value = '';
    if (invite) invite.hidden = true;
    openButton.focus();
  });
}

if (dialog && openButton) start();
