// The pages in a real browser (headless Chromium through playwright-core,
// the system's /usr/bin/chromium; no browser download): a visitor chats
// from `/`, the admin logs in with the code from the server log, answers
// from `/admin`, and hostile text stays text. Screenshots of both pages at
// phone and desktop size go to tests/js/screenshots/ (git-ignored).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { ADMIN_USERNAME, ADMIN_PASSWORD } from './lib/server.mjs';
import {
  contexts, loginOnPage, sendText as send, useChromium, waitForMessage, DESKTOP, PHONE, WAIT,
} from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

const HOSTILE = '<img src=x onerror=alert(1)> & "quotes" ✓ 🎉';

/** [{sender, id, text}] of the shown messages, in order. */
function shownMessages(page) {
  return page.$$eval('#messages .message', (nodes) => nodes.map((n) => ({
    sender: n.classList.contains('from-admin') ? 'admin' : (n.classList.contains('from-visitor') ? 'visitor' : '?'),
    id: n.dataset.id || null,
    text: n.querySelector('.message-text')?.textContent ?? null,
  })));
}

/**
 * What the pages' problems are: uncaught exceptions, console errors and
 * dialogs (alert() = XSS), except the 401 Chromium logs for the deliberate
 * wrong password.
 */
const WATCH = {
  expected: (m, page) => /status of 401/.test(m.text())
    && new URL(m.location().url || page.url()).pathname === '/admin/login',
};

describe('pages in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test('visitor and admin chat live: login with the logged code, replies, typing, reload, hostile text, clear', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, { watch: WATCH });
    const visitorCtx = await context({ viewport: PHONE, locale: 'tr-TR', deviceScaleFactor: 1 });
    const adminCtx = await context({ viewport: DESKTOP, locale: 'en-US' });

    // ---- the visitor writes first
    const vp = await visitorCtx.newPage();
    watch(vp, 'visitor page');
    const res = await vp.goto(`${server.baseUrl}/`);
    assert.equal(res.status(), 200);
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);
    assert.match(threadId, /^[0-9a-f-]{36}$/i, 'the page knows its thread id');
    const cookies = await visitorCtx.cookies();
    const vid = cookies.find((c) => c.name === 'sohbet_vid');
    assert.ok(vid, 'the visitor cookie is set');
    assert.equal(vid.httpOnly, true, 'the visitor cookie is HttpOnly');

    const hello = 'Merhaba! I have a question about my order.';
    await send(vp, hello, 'button');
    await waitForMessage(vp, 'visitor', hello);
    assert.equal(await vp.inputValue('#message-input'), '', 'the composer is emptied after sending');

    // ---- the admin logs in (a wrong password first)
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    await ap.goto(`${server.baseUrl}/admin`);
    await ap.waitForURL('**/admin/login', { timeout: WAIT });
    await ap.fill('#username', ADMIN_USERNAME);
    await ap.fill('#password', 'wrong-password');
    await ap.click('#login-submit');
    await ap.locator('#login-error').waitFor({ state: 'visible' });
    assert.ok((await ap.textContent('#login-error')).trim().length > 0, 'the login error is explained');

    await ap.fill('#password', ADMIN_PASSWORD);
    const mark = server.logIndex();
    await ap.click('#login-submit');
    await ap.locator('#otp').waitFor({ state: 'visible' });
    const otp = await server.waitForOtp(mark);
    await ap.fill('#otp', otp);
    await Promise.all([
      ap.waitForURL((u) => new URL(u).pathname === '/admin', { timeout: WAIT }),
      ap.click('#otp-submit'),
    ]);

    // ---- the thread is listed; the admin opens it and sees the text
    const item = ap.locator(`.thread-item[data-thread-id="${threadId}"]`);
    await item.waitFor({ state: 'visible' });
    await item.click();
    await waitForMessage(ap, 'visitor', hello);

    // The visitor sees the admin online (user_online reached the page).
    await vp.locator('#admin-status[data-state="online"]').waitFor({ timeout: WAIT });

    // ---- the admin replies (Enter); the visitor sees it live
    const answer = 'Hello! Sure, what is your order number?';
    await send(ap, answer, 'enter');
    await waitForMessage(ap, 'admin', answer);
    await waitForMessage(vp, 'visitor', hello);
    await waitForMessage(vp, 'admin', answer);

    // ---- the history survives a reload
    await vp.reload();
    await waitForMessage(vp, 'admin', answer);
    const afterReload = await shownMessages(vp);
    assert.deepEqual(
      afterReload.map(({ sender, text }) => ({ sender, text })),
      [{ sender: 'visitor', text: hello }, { sender: 'admin', text: answer }],
      'both messages, in order, after the reload',
    );
    assert.ok(afterReload.every((m) => /^\d+$/.test(m.id)), 'shown messages carry their ids');

    // ---- the admin sees the visitor typing, and stop (typing goes out only
    // once the reloaded page's socket is connected: the admin's presence
    // event arrives over it)
    await vp.locator('#admin-status[data-state="online"]').waitFor({ timeout: WAIT });
    await vp.locator('#message-input').fill('I am typ');
    await ap.locator('#typing:not([hidden])').waitFor({ state: 'visible' });
    await vp.locator('#message-input').fill('');
    await ap.locator('#typing').waitFor({ state: 'hidden' });

    // ---- hostile text from the visitor is shown as text on both pages
    await send(vp, HOSTILE, 'enter');
    await waitForMessage(vp, 'visitor', HOSTILE);
    await waitForMessage(ap, 'visitor', HOSTILE);
    for (const [name, page] of [['admin', ap], ['visitor', vp]]) {
      const check = await page.evaluate((hostile) => {
        const texts = [...document.querySelectorAll('#messages .message-text')].map((n) => n.textContent);
        const node = [...document.querySelectorAll('#messages .message-text')].find((n) => n.textContent === hostile);
        return {
          imgs: document.querySelectorAll('#messages img').length,
          onerror: document.querySelectorAll('#messages [onerror]').length,
          childElements: node ? node.children.length : -1,
          count: texts.filter((x) => x === hostile).length,
        };
      }, HOSTILE);
      assert.equal(check.imgs, 0, `${name}: no <img> was injected`);
      assert.equal(check.onerror, 0, `${name}: no element with onerror`);
      assert.equal(check.count, 1, `${name}: the hostile text is shown once, literally`);
      assert.equal(check.childElements, 0, `${name}: the hostile text is a plain text node`);
    }
    // The panel's thread preview shows it as text too.
    const preview = await item.locator('.thread-preview').textContent();
    assert.ok(preview.includes('<img src=x onerror=alert(1)>'), `thread preview shows the raw text: ${preview}`);
    assert.equal(await item.locator('img').count(), 0);

    // ---- screenshots: both pages at phone and desktop size
    await vp.screenshot({ path: path.join(SHOTS, 'visitor-phone.png') });
    await vp.setViewportSize(DESKTOP);
    await waitForMessage(vp, 'visitor', HOSTILE);
    await vp.screenshot({ path: path.join(SHOTS, 'visitor-desktop.png') });
    await ap.screenshot({ path: path.join(SHOTS, 'admin-desktop.png') });
    await ap.setViewportSize(PHONE);
    await ap.locator('#messages').waitFor({ state: 'visible' });
    await ap.screenshot({ path: path.join(SHOTS, 'admin-phone.png') });

    // ---- the admin clears the thread; the visitor's page empties live
    await ap.click('#clear-button');
    await ap.locator('#clear-confirm').click();
    await vp.waitForFunction(() => document.querySelectorAll('#messages .message').length === 0, null, { timeout: WAIT });
    await ap.waitForFunction(() => document.querySelectorAll('#messages .message').length === 0, null, { timeout: WAIT });
    await vp.reload();
    await vp.waitForFunction(() => document.getElementById('messages').getAttribute('aria-busy') === 'false', null, { timeout: WAIT });
    assert.equal(await vp.locator('#messages .message').count(), 0, 'still empty after a reload');

    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs on the pages');
  });
  test('an admin page whose session ends (logout in another tab) goes back to the login page', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, { watch: WATCH });
    const ctx = await context({ viewport: DESKTOP, locale: 'en-US' });
    const ap = await ctx.newPage();
    watch(ap, 'admin page');
    await loginOnPage(ap, server);
    // The panel's scripts run (its modules expose no global): the thread
    // list has loaded, and its socket is up (the connection banner is not shown).
    await ap.waitForFunction(() => document.querySelector('#thread-list .thread-item')
      || !document.getElementById('threads-empty').hidden);
    await ap.waitForTimeout(300);

    // Another tab of the same browser logs out: the server disconnects the
    // panel's socket, and the panel returns to the login page by itself.
    const other = await ctx.newPage();
    await other.goto(`${server.baseUrl}/admin`);
    const status = await other.evaluate(async () => {
      const s = await (await fetch('/api/session')).json();
      const r = await fetch('/admin/logout', { method: 'POST', headers: { 'X-CSRFToken': s.csrf_token } });
      return r.status;
    });
    assert.equal(status, 200);
    await ap.waitForURL('**/admin/login', { timeout: WAIT });
    assert.deepEqual(problems, []);
  });
});
