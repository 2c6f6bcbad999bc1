// sohbet: the invite page `/admin/invite/<token>` (issue 22): the invited
// agent chooses its password (POST to the same path), then signs in at
// /admin/login. Text is set with textContent only.
import { api, errorText } from './lib/api.js';

const form = document.getElementById('invite-form');
const password = document.getElementById('invite-password');
const submit = document.getElementById('invite-submit');
const done = document.getElementById('invite-done');
const errorBox = document.getElementById('login-error');

if (form) {
  password.focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox.hidden = true;
    submit.disabled = true;
    try {
      await api(window.location.pathname, { method: 'POST', body: { password: password.value } });
      form.hidden = true;
      done.hidden = false;
    } catch (err) {
      errorBox.textContent = err.code === "VALIDATION_ERROR" ? err.message : errorText(err.code, err.message);
      errorBox.hidden = false;
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
}
