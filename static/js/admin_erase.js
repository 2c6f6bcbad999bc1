// sohbet: erasing the open thread from the admin panel (issue 27, owners
// only: the button and its dialog exist only on an owner's page). The
// header's Erase button asks in a <dialog> (window.confirm where <dialog>
// is missing), with a box to also delete the Telegram topic; then
// `DELETE /api/threads/{id}`. Other panels learn it through
// `thread_erased` (admin/live.js); both end in `threads.erased(id)`.
import { api, errorText } from './lib/api.js';
import { toast } from './lib/dom.js';
import { threads } from './admin/panel.js';

const button = document.getElementById('erase-button');
const dialog = document.getElementById('erase-dialog');
const topicBox = document.getElementById('erase-topic');

async function eraseCurrent(id) {
  const topic = topicBox && topicBox.checked ? 'true' : 'false';
  try {
    await api(`/api/threads/${encodeURIComponent(id)}?telegram_topic=${topic}`, { method: 'DELETE' });
    threads.erased(id);
    toast(dialog.dataset.erased, { kind: 'info', timeout: 3000 });
  } catch (e) {
    toast(errorText(e.code, e.message));
  }
}

if (button && dialog) {
  let target = null;
  button.addEventListener('click', () => {
    target = threads.current();
    if (!target) return;
    if (typeof dialog.showModal === 'function') {
      dialog.returnValue = '';
      if (topicBox) topicBox.checked = false;
      dialog.showModal();
    } else if (window.confirm(document.getElementById('erase-dialog-text').textContent)) {
      eraseCurrent(target);
    }
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue === 'confirm' && target) eraseCurrent(target);
    target = null;
  });
}
