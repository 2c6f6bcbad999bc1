// sohbet: the admin panel's sound: a short two-tone beep (Web Audio, no
// file) when a visitor writes in a thread that is not in view; the
// sidebar's bell toggles it, remembered in localStorage (`sohbet.sound`).
// Browsers start audio only after a gesture: the first pointer or key
// press unlocks it.
import { S } from '../lib/config.js';

const SOUND_KEY = 'sohbet.sound';
const soundToggle = document.getElementById('sound-toggle');
let soundOn = false;
try {
  soundOn = localStorage.getItem(SOUND_KEY) === '1';
} catch {
  soundOn = false;
}
let audioCtx = null;

function ensureAudio() {
  if (!audioCtx) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audioCtx = new Ctx();
  }
  if (audioCtx.state === 'suspended') audioCtx.resume().catch(() => {});
  return audioCtx;
}

/** Plays the beep when the sound is on and audio is unlocked; otherwise nothing. */
export function beep() {
  if (!soundOn) return;
  const ctx = ensureAudio();
  if (!ctx || ctx.state !== 'running') return;
  const t0 = ctx.currentTime;
  [[880, 0], [1318.5, 0.12]].forEach(([freq, at]) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + at);
    gain.gain.exponentialRampToValueAtTime(0.18, t0 + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.22);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + at);
    osc.stop(t0 + at + 0.25);
  });
}

function renderSound() {
  soundToggle.setAttribute('aria-pressed', soundOn ? 'true' : 'false');
  soundToggle.title = soundOn ? S.soundOn : S.soundOff;
  soundToggle.classList.toggle('on', soundOn);
}
soundToggle.addEventListener('click', () => {
  soundOn = !soundOn;
  try {
    localStorage.setItem(SOUND_KEY, soundOn ? '1' : '0');
  } catch {
    /* private mode */
  }
  renderSound();
  if (soundOn) {
    ensureAudio();
    beep();
  }
});
const unlock = () => {
  if (soundOn) ensureAudio();
};
document.addEventListener('pointerdown', unlock, { passive: true });
document.addEventListener('keydown', unlock);
renderSound();
