// sohbet: the Telegram bridge's state in the admin panel (issue 12).
//
// GET /api/telegram/bridge → the last self-test: one ✓/✗ line per check
// with the fix under each ✗, and whether forum topics are used. "Run
// self-test" posts /api/telegram/selftest. Hidden when Telegram is not
// configured. Uses lib/api.js.
import { api } from './lib/api.js';
const box = document.getElementById('bridge-state');
const summary = document.getElementById('bridge-summary');
const list = document.getElementById('bridge-checks');
const rerun = document.getElementById('bridge-rerun');
/** Wires the add-on; not called when its markup is missing. */
function start() {

  function show(data) {
    if (!data || !data.configured) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const report = data.bridge;
    list.replaceChildren();
    if (!report) {
      summary.textContent = 'Telegram: starting…';
      box.dataset.state = 'pending';
      return;
    }
    const ok = report.checks.every((c) => c.ok);
    box.dataset.state = ok ? 'ok' : 'problem';
    summary.textContent = `Telegram ${ok ? '✓' : '✗'} · topics ${report.topic_mode ? 'on' : 'off'}`;
    for (const c of report.checks) {
      const li = document.createElement('li');
      li.className = c.ok ? 'check-ok' : 'check-fail';
      li.textContent = `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`;
      if (c.fix) {
        const fix = document.createElement('div');
        fix.className = 'check-fix';
        fix.textContent = `→ ${c.fix}`;
        li.append(fix);
      }
      list.append(li);
    }
    if (!report.checks.some((c) => c.name === 'topic mode')) {
      const why = document.createElement('li');
      why.className = 'check-topic';
      why.textContent = `Topic mode: ${report.topic_mode ? 'on' : 'off'} (${report.topic_reason})`;
      list.append(why);
    }
  }

  async function load() {
    try {
      show(await api('/api/telegram/bridge'));
    } catch {
      /* shown at the next try */
    }
  }

  rerun.addEventListener('click', async () => {
    rerun.disabled = true;
    try {
      show(await api('/api/telegram/selftest', { method: 'POST', body: {} }));
    } catch {
      /* the panel's own banners report a lost session */
    } finally {
      rerun.disabled = false;
    }
  });

  load();
  setInterval(load, 60000);
}

if (box) start();
