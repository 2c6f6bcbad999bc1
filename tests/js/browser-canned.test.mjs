// Canned replies in a real browser (headless Chromium through
// playwright-core, the system's /usr/bin/chromium): the admin creates them
// in the panel's dialog, then answers a visitor with the keyboard only:
// `/`, a filter, ArrowDown, Enter (inserts, still editable), Enter (sends).
// The visitor's page shows the answer. The picker is an ARIA listbox named
// by the composer's aria-activedescendant; hostile names stay text.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import {
  axe, contexts, loginOnPage, useChromium, waitForMessage, DESKTOP, WAIT,
} from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

const HOSTILE = '<img src=x onerror=alert(1)>';

describe('canned replies in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test('create in the panel, pick with the keyboard only, the visitor receives it', async (t) => {
    const { server, browser } = suite;
    // Uncaught errors, console errors and dialogs (alert() = XSS) are
    // problems; not the 409 Chromium logs for the deliberate duplicate name.
    const { problems, context, watch } = contexts(t, browser, {
      watch: { expected: (m) => /status of 409/.test(m.text()) },
    });
    const visitorCtx = await context({ locale: 'tr-TR' });
    const adminCtx = await context({ locale: 'en-US', viewport: DESKTOP });

    // The visitor writes first.
    const vp = await visitorCtx.newPage();
    watch(vp, 'visitor page');
    await vp.goto(`${server.baseUrl}/`);
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);
    await vp.locator('#message-input').fill('İade ne kadar sürer?');
    await vp.locator('#message-input').press('Enter');
    await waitForMessage(vp, 'visitor', 'İade ne kadar sürer?');

    // The admin logs in and opens the thread.
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    await loginOnPage(ap, server);
    await ap.locator(`.thread-item[data-thread-id="${threadId}"]`).click();
    await waitForMessage(ap, 'visitor', 'İade ne kadar sürer?');

    // ---- three canned replies through the dialog
    await ap.click('#canned-button');
    const dialog = ap.locator('#canned-dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.equal(await ap.locator('#canned-empty').isVisible(), true, 'the empty list says so');
    const replies = [
      ['iade', 'İade için ürünü 14 gün içinde gönderin.'],
      ['iade-suresi', 'İadeler 3-5 iş gününde hesabınıza geçer.'],
      [HOSTILE, 'bold <b>not</b> html'],
    ];
    for (const [name, body] of replies) {
      await ap.fill('#canned-name', name);
      await ap.fill('#canned-body', body);
      await ap.click('#canned-submit');
      await ap.locator('#canned-list .canned-name', { hasText: name }).waitFor();
    }
    // The same name again (another case) is refused and explained; nothing is added.
    await ap.fill('#canned-name', 'IADE');
    await ap.fill('#canned-body', 'dup');
    await ap.click('#canned-submit');
    await ap.locator('#canned-error').waitFor({ state: 'visible' });
    assert.equal(await ap.locator('#canned-list .canned-item').count(), 3);
    assert.equal(await ap.locator('#canned-list img').count(), 0, 'a hostile name stays text');
    await ap.screenshot({ path: path.join(SHOTS, 'admin-canned-dialog.png') });
    assert.deepEqual(await axe(ap), [], 'axe: the dialog');
    await ap.click('#canned-close');
    await dialog.waitFor({ state: 'hidden' });
    await ap.waitForFunction(() => document.activeElement?.id === 'canned-button', null, { timeout: WAIT });

    // ---- keyboard only: `/`, filter, ArrowDown, Enter inserts, Enter sends
    const input = ap.locator('#message-input');
    await input.focus();
    await ap.keyboard.type('/');
    const picker = ap.locator('#canned-picker');
    await picker.waitFor({ state: 'visible' });
    assert.equal(await picker.getAttribute('role'), 'listbox');
    assert.equal(await picker.locator('[role="option"]').count(), 3, '`/` alone lists every reply');
    assert.equal(await picker.locator('img').count(), 0, 'options are text');
    await ap.keyboard.type('iad');
    await ap.waitForFunction(() => document.querySelectorAll('#canned-picker [role="option"]').length === 2);
    const options = picker.locator('[role="option"]');
    const first = await options.nth(0).getAttribute('id');
    const second = await options.nth(1).getAttribute('id');
    assert.equal(await input.getAttribute('aria-activedescendant'), first, 'the first match is active');
    assert.equal(await options.nth(0).getAttribute('aria-selected'), 'true');
    assert.equal(await options.nth(1).textContent().then((s) => s.startsWith('/iade-suresi')), true);
    await ap.keyboard.press('ArrowDown');
    assert.equal(await input.getAttribute('aria-activedescendant'), second);
    await ap.screenshot({ path: path.join(SHOTS, 'admin-canned-picker.png') });
    assert.deepEqual(await axe(ap), [], 'axe: the open picker');
    assert.equal(await options.nth(1).getAttribute('aria-selected'), 'true');
    await ap.keyboard.press('Enter');
    await picker.waitFor({ state: 'hidden' });
    assert.equal(await input.inputValue(), replies[1][1], 'Enter replaced `/iad` by the body');
    assert.equal(await input.getAttribute('aria-activedescendant'), null);
    assert.equal(await ap.evaluate(() => document.activeElement.id), 'message-input', 'focus stayed in the composer');
    // Still editable before sending.
    await ap.keyboard.type(' 🙂');
    const sent = `${replies[1][1]} 🙂`;
    await ap.keyboard.press('Enter');
    await waitForMessage(ap, 'admin', sent);
    await waitForMessage(vp, 'admin', sent);

    // Escape closes the picker; Enter then sends the text as typed.
    await ap.keyboard.type('/iade');
    await picker.waitFor({ state: 'visible' });
    await ap.keyboard.press('Escape');
    await picker.waitFor({ state: 'hidden' });
    assert.equal(await input.inputValue(), '/iade');
    await ap.keyboard.press('Enter');
    await waitForMessage(vp, 'admin', '/iade');

    // A click picks too.
    await ap.keyboard.type('/');
    await picker.locator('[role="option"]', { hasText: HOSTILE }).click();
    assert.equal(await input.inputValue(), replies[2][1]);

    assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs');
  });
});
