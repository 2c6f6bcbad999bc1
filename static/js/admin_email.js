// sohbet: email in the admin panel (issue 26). Only when SMTP_URL is set
// (GET /api/email/status says `configured`): in the sidebar footer the
// SMTP self-test (✓/✗, the fix under a ✗, "Test SMTP" posts
// /api/email/selftest) and, when agents get alerts (no Telegram), the
// agent's own address (PUT /api/agents/me/email); beside each thread in
// the list whose latest email was refused for good (5xx, `dead`), a ✉✗
// mark with the server's answer. Refreshed every minute.
import { api } from './lib/api.js';
import { config, fill } from './lib/config.js';
import { on } from './admin/panel.js';

const E = config.email;
const footer = document.querySelector('.sidebar-footer');
let dead = new Map();

function markDead() {
  for (const row of document.querySelectorAll('#thread-list [data-thread-id]')) {
    const d = dead.get(row.dataset.threadId);
    let mark = row.querySelector('.email-dead');
    if (!d) {
      mark?.remove();
      continue;
    }
    if (!mark) {
      mark = document.createElement('span');
      mark.className = 'email-dead';
      mark.textContent = '✉✗';
      row.append(mark);
    }
    mark.title = fill(E.dead, { error: d.last_error || '' });
    mark.setAttribute('aria-label', mark.title);
  }
}

function start() {
  const box = document.createElement('details');
  box.id = 'email-state';
  box.className = 'bridge-state';
  const summary = document.createElement('summary');
  const checks = document.createElement('ul');
  checks.className = 'bridge-checks';
  const test = document.createElement('button');
  test.type = 'button';
  test.className = 'btn btn-ghost';
  test.textContent = E.test;
  const form = document.createElement('form');
  form.id = 'my-email-form';
  form.hidden = true;
  const label = document.createElement('label');
  label.textContent = E.myEmail;
  const input = document.createElement('input');
  input.type = 'email';
  input.id = 'my-email';
  input.maxLength = 254;
  input.autocomplete = 'email';
  label.append(input);
  const hint = document.createElement('small');
  hint.textContent = E.myEmailHint;
  const save = document.createElement('button');
  save.type = 'submit';
  save.className = 'btn btn-ghost';
  save.textContent = E.save;
  form.append(label, hint, save);
  box.append(summary, checks, test, form);
  footer.prepend(box);

  function showCheck(c) {
    checks.replaceChildren();
    if (!c) {
      summary.textContent = `${E.heading}: …`;
      return;
    }
    summary.textContent = `${E.heading} ${c.ok ? '✓' : '✗'}`;
    const li = document.createElement('li');
    li.className = c.ok ? 'check-ok' : 'check-fail';
    li.textContent = `${c.ok ? '✓' : '✗'} SMTP: ${c.detail}`;
    if (c.fix) {
      const fix = document.createElement('div');
      fix.className = 'check-fix';
      fix.textContent = `→ ${c.fix}`;
      li.append(fix);
    }
    checks.append(li);
  }

  async function refresh() {
    const data = await api('/api/email/status').catch(() => null);
    if (!data || !data.configured) return;
    showCheck(data.smtp && data.smtp.check);
    form.hidden = !data.agent_alerts;
    if (document.activeElement !== input) input.value = data.my_email || '';
    dead = new Map((data.dead || []).map((d) => [d.thread_id, d]));
    markDead();
  }

  test.addEventListener('click', async () => {
    test.disabled = true;
    const data = await api('/api/email/selftest', { method: 'POST', body: {} }).catch(() => null);
    test.disabled = false;
    if (data) showCheck(data.check);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    save.disabled = true;
    try {
      await api('/api/agents/me/email', { method: 'PUT', body: { email: input.value.trim() || null } });
      hint.textContent = E.saved;
    } catch (err) {
      hint.textContent = err.message;
    } finally {
      save.disabled = false;
    }
  });
  on('threads-rendered', markDead);
  refresh();
  setInterval(refresh, 60000);
}

if (E && footer) start();
