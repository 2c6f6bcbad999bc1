// sohbet: admin sign-in `/admin/login`.
//
// Step 1: username + password -> POST /admin/login (the server sends a
// 6-digit code to Telegram, or logs it when Telegram is unset).
// Step 2: the code -> POST /admin/verify-otp -> /admin.
import { api } from './lib/api.js';
import { S } from './lib/config.js';
const loginForm = document.getElementById('login-form');
const otpForm = document.getElementById('otp-form');
const username = document.getElementById('username');
const password = document.getElementById('password');
const loginSubmit = document.getElementById('login-submit');
const otp = document.getElementById('otp');
const otpSubmit = document.getElementById('otp-submit');
const otpBack = document.getElementById('otp-back');
const errorBox = document.getElementById('login-error');

function showError(text) {
  errorBox.textContent = text || '';
  errorBox.hidden = !text;
}

function messageFor(err) {
  switch (err && err.code) {
    case 'INVALID_CREDENTIALS': return S.errInvalidCredentials;
    case 'INVALID_OTP': return S.errInvalidOtp;
    case 'RATE_LIMITED': return S.errRateLimited;
    case 'CSRF_FAILED': return S.errSession;
    case 'NETWORK': return S.errNetwork;
    default: return (err && err.message) || S.errGeneric;
  }
}

function busy(button, on, text) {
  button.disabled = on;
  button.setAttribute('aria-busy', on ? 'true' : 'false');
  button.textContent = text;
}

function showStep(step) {
  const two = step === 2;
  loginForm.hidden = two;
  otpForm.hidden = !two;
  if (two) {
    otp.value = '';
    otp.focus();
  } else {
    password.focus();
    password.select();
  }
}

username.focus();

loginForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  showError('');
  if (!username.value.trim() || !password.value) {
    (username.value.trim() ? password : username).focus();
    showError(S.errInvalidCredentials);
    return;
  }
  busy(loginSubmit, true, S.signingIn);
  try {
    await api('/admin/login', {
      method: 'POST',
      body: { username: username.value.trim(), password: password.value },
    });
    showStep(2);
  } catch (err) {
    showError(messageFor(err));
    password.focus();
  } finally {
    busy(loginSubmit, false, S.signIn);
  }
});

async function verify() {
  showError('');
  const code = otp.value.replace(/\D/g, '');
  if (code.length !== 6) {
    showError(S.errOtpFormat);
    otp.focus();
    return;
  }
  busy(otpSubmit, true, S.verifying);
  try {
    await api('/admin/verify-otp', { method: 'POST', body: { otp: code } });
    location.href = '/admin';
  } catch (err) {
    showError(messageFor(err));
    busy(otpSubmit, false, S.verify);
    otp.focus();
    otp.select();
  }
}

otpForm.addEventListener('submit', (e) => {
  e.preventDefault();
  verify();
});

// Digits only (a pasted "123 456" becomes "123456").
otp.addEventListener('input', () => {
  const digits = otp.value.replace(/\D/g, '').slice(0, 6);
  if (digits !== otp.value) otp.value = digits;
});

otpBack.addEventListener('click', () => {
  showError('');
  showStep(1);
});
