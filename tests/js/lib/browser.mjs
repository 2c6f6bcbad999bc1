// Chromium for the browser tests: Debian's /usr/bin/chromium (or
// CHROMIUM_PATH), driven by playwright-core; never a downloaded browser.
// Also the set-up every browser test shares: one server and one Chromium
// per `describe` (`useChromium`), the contexts of one test closed when it
// ends and the problems seen on their pages (`contexts`), logging in on
// the login page, and the composer / message-list steps.

import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

import { startServer, ADMIN_USERNAME, ADMIN_PASSWORD } from './server.mjs';
import { SHOTS } from './screenshots.mjs';

/** The Chromium binary the tests drive. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags every test browser runs with (headless, no sandbox in CI containers). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** Default timeout (ms) of every context of {@link contexts} and of the waits below. */
export const WAIT = 10_000;

/** The viewports the tests use. */
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/**
 * Starts Chromium with {@link CHROMIUM_ARGS} plus `extraArgs`.
 * @param {string[]} [extraArgs]
 */
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * Call inside a `describe`: before its tests, creates tests/js/screenshots/,
 * starts a server (`startServer({db, env})`, skipped with `server: false`)
 * and Chromium (`launchChromium(args)`); after them, closes the browser
 * first (its sockets must not keep the server busy), then stops the server.
 * `env` may be a function, called in `before` after `setUp` (for values
 * known only then, e.g. the URL of a Telegram double `setUp` started).
 * `tearDown` runs last, even when stopping the server failed.
 * @param {{db?: 'sqlite'|'postgres', env?: Record<string,string>|(() => Record<string,string>),
 *   args?: string[], server?: boolean, setUp?: () => Promise<void>, tearDown?: () => Promise<void>}} [options]
 * @returns {{readonly server: import('./server.mjs').Server, readonly browser: import('playwright-core').Browser}}
 */
export function useChromium({
  db = 'sqlite', env = {}, args = [], server: withServer = true, setUp = null, tearDown = null,
} = {}) {
  let server;
  let browser;
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    if (setUp) await setUp();
    if (withServer) server = await startServer({ db, env: typeof env === 'function' ? env() : env });
    browser = await launchChromium(args);
  });
  after(async () => {
    try {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    } finally {
      if (tearDown) await tearDown();
    }
  });
  return {
    get server() {
      return server;
    },
    get browser() {
      return browser;
    },
  };
}

/**
 * Records into `problems` a page's uncaught exceptions and, unless turned
 * off, its console errors (minus those `expected(message, page)` allows)
 * and its dialogs (an alert() would be XSS; each is dismissed).
 * @param {import('playwright-core').Page} page
 * @param {string|null} name prefix of each problem (null: none)
 * @param {string[]} problems
 * @param {{console?: boolean, dialogs?: boolean, expected?: (m: any, page: any) => boolean}} [options]
 */
export function watchPage(page, name, problems, { console: logs = true, dialogs = true, expected = () => false } = {}) {
  const who = name === null ? '' : `${name}: `;
  page.on('pageerror', (e) => problems.push(`${who}uncaught ${e.message}`));
  if (logs) {
    page.on('console', (m) => {
      if (m.type() === 'error' && !expected(m, page)) {
        problems.push(`${who}console error: ${m.text()} (${m.location().url})`);
      }
    });
  }
  if (dialogs) {
    page.on('dialog', async (d) => {
      problems.push(`${who}a ${d.type()} dialog opened: ${d.message()}`);
      await d.dismiss().catch(() => {});
    });
  }
}

/**
 * The browser contexts of one test: each made with `defaults` (and the
 * call's own options), the timeout {@link WAIT}, and closed when the test
 * ends. `watch(page, name)` records the page's problems (see
 * {@link watchPage}, with `watch` as its options) into `problems`, which
 * the test asserts empty.
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Browser} browser
 * @param {{watch?: object, timeout?: number} & Record<string, any>} [defaults]
 */
export function contexts(t, browser, { watch = {}, timeout = WAIT, ...defaults } = {}) {
  const problems = [];
  const open = [];
  t.after(async () => {
    for (const c of open) await c.close().catch(() => {});
  });
  return {
    problems,
    /** A new context with `defaults` and `opts`. */
    async context(opts = {}) {
      const c = await browser.newContext({ ...defaults, ...opts });
      c.setDefaultTimeout(timeout);
      open.push(c);
      return c;
    },
    /** Records `page`'s problems, prefixed with `name`. */
    watch(page, name = null) {
      watchPage(page, name, problems, watch);
    },
  };
}

/** Gives `context` the cookies of the HTTP client `client` (lib/http.mjs), e.g. an admin session. */
export function addClientCookies(context, client) {
  return context.addCookies([...client.cookies].map(([name, value]) => ({ name, value, url: client.baseUrl })));
}

/**
 * Logs in on `page` through /admin/login with the code from the server
 * log; ends on /admin (waits up to the context's default timeout).
 */
export async function loginOnPage(page, server, { username = ADMIN_USERNAME, password = ADMIN_PASSWORD } = {}) {
  await page.goto(`${server.baseUrl}/admin/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  const mark = server.logIndex();
  await page.click('#login-submit');
  await page.locator('#otp').waitFor({ state: 'visible' });
  await page.fill('#otp', await server.waitForOtp(mark));
  await Promise.all([page.waitForURL((u) => new URL(u).pathname === '/admin'), page.click('#otp-submit')]);
}

/** Types `text` into the composer and sends it (the button, or `how: 'enter'`). */
export async function sendText(page, text, how = 'button') {
  const input = page.locator('#message-input');
  await input.fill(text);
  if (how === 'enter') {
    await input.press('Enter');
  } else {
    await page.locator('#send-button:not([disabled])').click({ timeout: WAIT });
  }
}

/** Waits until a `.message` of `sender` whose `.message-text` is exactly `text` is shown (stored: has data-id). */
export async function waitForMessage(page, sender, text, { stored = true } = {}) {
  await page.waitForFunction(
    ({ sender, text, stored }) => [...document.querySelectorAll(`#messages .message.from-${sender}${stored ? '[data-id]' : ''}`)]
      .some((n) => n.querySelector('.message-text')?.textContent === text),
    { sender, text, stored },
    { timeout: WAIT },
  );
}

const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations (WCAG 2.1 A/AA and best practice) on `page`. */
export async function axe(page) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
}
