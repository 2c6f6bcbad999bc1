// sohbet: exporting the open thread from the admin panel (issue 27, every
// agent). The header's Export button downloads
// `GET /api/threads/{id}/export` (a ZIP: thread.json, media/,
// transcript.html) through a link, so the browser saves the streamed body
// to disk without holding it in the page.
import { threads } from './admin/panel.js';

const button = document.getElementById('export-button');

if (button) {
  button.addEventListener('click', () => {
    const id = threads.current();
    if (!id) return;
    const a = document.createElement('a');
    a.href = `/api/threads/${encodeURIComponent(id)}/export`;
    a.download = `sohbet-thread-${id}.zip`;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
}
