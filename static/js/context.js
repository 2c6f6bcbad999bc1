// sohbet: reports the visitor context (issue 14) of the visitor page `/`
// and of the embed view `/embed`: the page the visitor is on (the host
// page's, as the widget loader reports it, for the embed view), the
// referrer, the browser's language and time zone. The server adds browser
// and OS from the User-Agent. `POST /api/visitor/context` (docs/api.md).

import { api, embedView } from './lib/api.js';

const E = embedView();
let timeZone;
try {
  timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
} catch {
  timeZone = undefined;
}
const base = { language: navigator.language || undefined, timezone: timeZone };
const cut = (v, n) => (v ? String(v).slice(0, n) : undefined);

function report(page) {
  const payload = {
    ...base,
    url: cut(page.url, 2048),
    title: cut(page.title, 300),
    referrer: cut(page.referrer, 2048),
  };
  const done = E
    ? E.post('/api/visitor/context', payload)
    : api('/api/visitor/context', { method: 'POST', body: payload });
  done.catch(() => { /* context is a courtesy: never disturb the chat */ });
}

if (E) {
  document.addEventListener('sohbet:page', (e) => report(e.detail || {}));
  if (E.page) report(E.page);
  else if (!E.parentOrigin) report({});
} else {
  report({ url: location.href, title: document.title, referrer: document.referrer });
}
