// Operators' polish (issue 15) against the built binary:
// - the access log: one INFO line per request with the matched route, no
//   query string or cookie, as JSON with LOG_FORMAT=json;
// - the visitor page's total transfer (compressed) in Chromium, printed and
//   kept at most 60 KB;
// - accessibility: axe-core (through playwright-core, the system's
//   /usr/bin/chromium) on the visitor page, the login page and the panel,
//   light and dark, without serious or critical violations;
// - the README's screenshots (visitor on a phone, panel on a desktop):
//   written to tests/js/screenshots/, and to docs/screenshots/ with
//   SOHBET_README_SCREENSHOTS=1.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_USERNAME, ADMIN_PASSWORD } from './lib/server.mjs';
import {
  axe as axeViolations, contexts, useChromium, DESKTOP, PHONE, WAIT,
} from './lib/browser.mjs';
import { screenshot } from './lib/screenshots.mjs';

// Issue 15's budget, kept with the ES modules of issue 10: static files
// carry no page headers (http/mod.rs `security_headers`) and no
// Last-Modified under their digest URL, and the smallest modules were
// folded into their neighbours.
const BUDGET = 60 * 1024;

describe('access log (LOG_FORMAT=json)', () => {
  let server;
  before(async () => {
    server = await startServer({ db: 'sqlite', env: { LOG_FORMAT: 'json' } });
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('one JSON line per request: method, route pattern, status, latency, client IP; no query, no cookie', async () => {
    const session = await fetch(`${server.baseUrl}/api/session`);
    const cookie = session.headers.get('set-cookie').split(';')[0];
    const { thread_id: threadId } = await session.json();
    const secret = 'tok3n-s3cret';
    const res = await fetch(`${server.baseUrl}/api/messages/${threadId}?after=0&token=${secret}`, {
      headers: { cookie },
    });
    assert.equal(res.status, 200);
    const { match } = await server.waitForLine(/^(?=.*"target":"sohbet::access")(?=.*"route":"\/api\/messages\/\{thread_id\}").*$/, {
      what: 'the access line of GET /api/messages/{thread_id}',
    });
    const line = JSON.parse(match.input);
    assert.equal(line.level, 'INFO');
    assert.equal(line.message, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 200);
    assert.equal(line.client_ip, '127.0.0.1');
    assert.equal(typeof line.latency_ms, 'number');
    assert.ok(line.timestamp, 'a timestamp');
    // Every line is JSON; nothing of the URL's query or the cookie is logged.
    const all = server.lines.filter((l) => l.trim());
    for (const l of all) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
    const text = server.logs();
    assert.ok(!text.includes(secret), 'the query string is not logged');
    assert.ok(!text.includes(cookie.split('=')[1]), 'the cookie is not logged');
    // An unknown path is logged as "-", not as the path the client sent.
    await fetch(`${server.baseUrl}/no/such/${secret}`);
    await server.waitForLine(/^(?=.*"route":"-")(?=.*"status":404).*$/, { what: 'the access line of a 404' });
    assert.ok(!server.logs().includes(secret));
  });
});

describe('pages in Chromium: transfer size, accessibility, README screenshots', () => {
  const suite = useChromium();

  test(`the visitor page transfers at most ${BUDGET / 1024} KB (compressed, cold cache)`, async (t) => {
    const { server, browser } = suite;
    const ctx = await browser.newContext({ viewport: PHONE });
    t.after(() => ctx.close().catch(() => {}));
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const urls = new Map();
    const sizes = new Map();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.loadingFinished', (e) => sizes.set(e.requestId, e.encodedDataLength));
    await page.goto(`${server.baseUrl}/`, { waitUntil: 'load' });
    await page.locator('#admin-status[data-state]').waitFor({ timeout: WAIT });
    let total = 0;
    const rows = [];
    for (const [id, url] of urls) {
      const u = new URL(url);
      if (u.pathname.startsWith('/socket.io/') || !sizes.has(id)) continue;
      total += sizes.get(id);
      rows.push(`${String(sizes.get(id)).padStart(7)}  ${u.pathname}`);
    }
    console.log(`visitor page transfer (headers included):\n${rows.join('\n')}\n${String(total).padStart(7)}  total (${(total / 1024).toFixed(1)} KB)`);
    assert.ok(rows.some((r) => /^\s*\d+  \/static\/[0-9a-f]{12}\/vendor\/socket\.io\.min\.js$/.test(r)), 'the scripts were counted');
    assert.ok(total <= BUDGET, `${total} bytes > ${BUDGET}`);
  });

  /** Runs axe on `page`; returns its serious and critical violations. */
  async function axe(page) {
    // A message that just arrived is still fading in (`pop-in`): contrast
    // is judged on what stays, so wait for every finite animation to end.
    await page.waitForFunction(() => document.getAnimations()
      .every((a) => a.playState !== 'running' || a.effect.getComputedTiming().endTime === Infinity));
    return axeViolations(page);
  }

  test('axe-core: no serious or critical violation on the visitor page, the login page and the panel, light and dark; README screenshots', async (t) => {
    const { server, browser } = suite;
    const { context } = contexts(t, browser, { locale: 'en-US' });
    const found = [];
    for (const scheme of ['light', 'dark']) {
      const vctx = await context({ viewport: PHONE, colorScheme: scheme, deviceScaleFactor: 2 });
      const actx = await context({ viewport: DESKTOP, colorScheme: scheme });

      const vp = await vctx.newPage();
      await vp.goto(`${server.baseUrl}/`);
      await vp.locator('#admin-status[data-state]').waitFor();
      const hello = 'Hi! Do you ship to Ankara?';
      await vp.fill('#message-input', hello);
      await vp.click('#send-button:not([disabled])');
      await vp.locator('#messages .message.from-visitor[data-id]').waitFor();
      found.push(...(await axe(vp)).map((v) => `visitor (${scheme}): ${v}`));

      const ap = await actx.newPage();
      await ap.goto(`${server.baseUrl}/admin/login`);
      found.push(...(await axe(ap)).map((v) => `login (${scheme}): ${v}`));
      await ap.fill('#username', ADMIN_USERNAME);
      await ap.fill('#password', ADMIN_PASSWORD);
      const mark = server.logIndex();
      await ap.click('#login-submit');
      await ap.locator('#otp').waitFor({ state: 'visible' });
      found.push(...(await axe(ap)).map((v) => `login code step (${scheme}): ${v}`));
      await ap.fill('#otp', await server.waitForOtp(mark));
      await Promise.all([
        ap.waitForURL((u) => new URL(u).pathname === '/admin'),
        ap.click('#otp-submit'),
      ]);
      const threadId = await vp.evaluate(() => document.body.dataset.threadId);
      const item = ap.locator(`.thread-item[data-thread-id="${threadId}"]`);
      await item.click();
      await ap.locator('#messages .message.from-visitor[data-id]').waitFor();
      const answer = 'Hello! Yes, delivery to Ankara takes two days.';
      await ap.fill('#message-input', answer);
      await ap.press('#message-input', 'Enter');
      await vp.locator('#messages .message.from-admin[data-id]').waitFor();
      found.push(...(await axe(ap)).map((v) => `panel (${scheme}): ${v}`));

      if (scheme === 'light') {
        await screenshot(vp, 'readme-visitor-phone.png', 'visitor-phone.png');
        await screenshot(ap, 'readme-panel-desktop.png', 'panel-desktop.png');
      }
      await vctx.close();
      await actx.close();
    }
    assert.deepEqual(found, [], `accessibility violations:\n${found.join('\n')}`);
  });
});
