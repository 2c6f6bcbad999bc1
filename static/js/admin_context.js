// sohbet: the visitor context box of the admin panel (issue 14): who and
// where the visitor of the open thread is (page, referrer, browser and OS,
// language, time zone, name and email with a "verified" mark, the away
// notice), from `GET /api/threads/{id}/context`. Refreshed when a thread
// opens, when its visitor writes, and every 30 s while it is shown (the
// visitor may navigate without writing). Everything is shown with
// textContent. Uses lib/ and the panel's API (admin/panel.js: on).
import { on } from './admin/panel.js';
import { api } from './lib/api.js';
import { config } from './lib/config.js';
const box = document.getElementById('visitor-context');
/** Wires the add-on; not called when its markup is missing. */
function start() {
  const W = config.widget || {};
  const L = {
    page: W.ctxPage, referrer: W.ctxReferrer, browser: W.ctxBrowser, language: W.ctxLanguage,
    timezone: W.ctxTimezone, verified: W.ctxVerified, unverified: W.ctxUnverified, away: W.ctxAway,
    none: W.ctxNone,
  };
  let current = null;
  let seq = 0;

  function row(label, value, { href = false } = {}) {
    if (!value) return null;
    const dd = document.createElement('dd');
    if (href && /^https?:\/\//i.test(value)) {
      const a = document.createElement('a');
      a.href = value;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      a.textContent = value;
      dd.appendChild(a);
    } else {
      dd.textContent = value;
    }
    const dt = document.createElement('dt');
    dt.textContent = label;
    return [dt, dd];
  }

  function render(ctx) {
    box.replaceChildren();
    if (!ctx) {
      box.hidden = true;
      return;
    }
    const who = [ctx.name, ctx.email].filter(Boolean).join(' · ');
    if (who) {
      const p = document.createElement('p');
      p.className = 'visitor-who';
      const name = document.createElement('span');
      name.textContent = who;
      const mark = document.createElement('span');
      mark.className = ctx.verified ? 'verified-mark' : 'unverified-mark';
      mark.textContent = ctx.verified ? `✓ ${L.verified}` : L.unverified;
      p.append(name, ' ', mark);
      box.appendChild(p);
    }
    const dl = document.createElement('dl');
    const browser = [ctx.browser, ctx.os && `(${ctx.os})`].filter(Boolean).join(' ');
    for (const r of [
      row(L.page, ctx.page_url, { href: true }),
      row(L.referrer, ctx.referrer, { href: true }),
      row(L.browser, browser),
      row(L.language, ctx.language),
      row(L.timezone, ctx.timezone),
    ]) {
      if (r) dl.append(...r);
    }
    if (dl.childElementCount) box.appendChild(dl);
    if (ctx.away_shown_at) {
      const p = document.createElement('p');
      p.className = 'away-mark';
      p.textContent = L.away;
      box.appendChild(p);
    }
    if (ctx.page_title && dl.querySelector('a')) dl.querySelector('a').title = ctx.page_title;
    box.hidden = !box.childElementCount;
  }

  async function load(id) {
    const mine = ++seq;
    try {
      const data = await api(`/api/threads/${encodeURIComponent(id)}/context`);
      if (mine === seq && id === current) render(data.context);
    } catch {
      if (mine === seq) render(null);
    }
  }

  on('thread-open', ({ id }) => {
    current = id;
    render(null);
    if (current) load(current);
  });
  setInterval(() => {
    if (current && !document.hidden && !document.getElementById('conv-view')?.hidden) load(current);
  }, 30_000);
  on('thread-message', ({ id, sender }) => {
    if (id === current && sender === 'visitor') load(current);
  });
}

if (box) start();
