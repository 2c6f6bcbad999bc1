// sohbet: the page's config block, `<script type="application/json"
// id="sohbet-config">`, written once by the server (src/http/pages.rs):
// the UI strings of the page's language and the limits the server enforces.
// A new UI string is a field of a struct in src/i18n*.rs (serialised in
// camelCase) plus its use here; the scripts carry no text or limit of their own.

function read() {
  const node = document.getElementById('sohbet-config');
  try {
    return JSON.parse(node ? node.textContent : '{}') || {};
  } catch {
    return {};
  }
}

/** The whole block: {lang, strings, limits, widget?, canned?, tools?, search?}. */
export const config = read();

/** The shared UI strings (src/i18n.rs `Strings`, camelCase keys). */
export const S = config.strings || {};

/** Server limits (src/http/pages.rs `Limits`). */
export const limits = config.limits || {};

/** 'tr' | 'en'. */
export const lang = config.lang === 'tr' ? 'tr' : 'en';

/** The Intl locale of `lang`. */
export const locale = lang === 'tr' ? 'tr-TR' : 'en-GB';

/** Replaces `{name}` placeholders in a UI string. */
export function fill(template, values) {
  return String(template || '').replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}
