// sohbet: "Email me this conversation" on the visitor page and in the
// widget (issue 26). Loaded lazily by visitor.js, only when the page's
// config has an `email` section (SMTP_URL is set), so a page without email
// carries none of it. POST /api/visitor/transcript sends the conversation
// to the address stored for the thread (3 a day); the answer is a toast.
import { api, errorText } from './lib/api.js';
import { config } from './lib/config.js';
import { toast } from './lib/dom.js';

const E = config.email || {};
const header = document.querySelector('.chat-header');
if (header && E.transcript) {
  const b = document.createElement('button');
  b.type = 'button';
  b.id = 'transcript-button';
  b.className = 'icon-button';
  b.title = E.transcript;
  b.setAttribute('aria-label', E.transcript);
  b.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" '
    + 'd="M4 5h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2zm0 2v.5l8 5 8-5V7H4zm16 '
    + '2.8-8 5-8-5V17h16V9.8z"/></svg>';
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await api('/api/visitor/transcript', { method: 'POST', body: {} });
      toast(E.transcriptQueued, { kind: 'info' });
    } catch (e) {
      toast(errorText(e.code, e.message) || e.message);
    } finally {
      b.disabled = false;
    }
  });
  header.insertBefore(b, document.getElementById('embed-close'));
}
