// Internal notes in a real browser (headless Chromium through
// playwright-core, SQLite; issue 22): the panel's Note toggle turns the
// composer yellow with the banner, the note is shown apart in the panel
// (marked and labelled, also after a reload), and the visitor's open page
// gets the answer sent after it but never the note. A screenshot of the
// panel goes to tests/js/screenshots/.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { loginAdmin } from './lib/http.mjs';
import { addClientCookies, contexts, sendText as send, useChromium, DESKTOP, WAIT } from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

/** Waits for a stored message with `text` in `#messages`; returns its classes. */
async function storedMessage(page, text) {
  const handle = await page.waitForFunction(
    (text) => [...document.querySelectorAll('#messages .message[data-id]')]
      .find((n) => n.querySelector('.message-text')?.textContent === text)?.className,
    text,
    { timeout: WAIT },
  );
  return handle.jsonValue();
}

/** The texts of the page's messages, in order. */
const texts = (page) => page.evaluate(() => [...document.querySelectorAll('#messages .message .message-text')]
  .map((n) => n.textContent));

describe('internal notes in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test('a note is shown apart in the panel and never on the visitor page', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, {
      viewport: DESKTOP, locale: 'en-US', watch: { dialogs: false },
    });

    // The visitor writes and keeps its page open.
    const vp = await (await context()).newPage();
    watch(vp, 'visitor');
    await vp.goto(`${server.baseUrl}/`);
    await send(vp, 'Where is my parcel?');
    await storedMessage(vp, 'Where is my parcel?');
    const threadId = await vp.evaluate(() => document.body.dataset.threadId);

    const adminHttp = await loginAdmin(server);
    const adminCtx = await context();
    await addClientCookies(adminCtx, adminHttp);
    const ap = await adminCtx.newPage();
    watch(ap, 'admin');
    await ap.goto(`${server.baseUrl}/admin`);
    await ap.locator(`.thread-item[data-thread-id="${threadId}"]`).click();
    await storedMessage(ap, 'Where is my parcel?');

    // Note mode: pressed toggle, yellow composer, the banner.
    const toggle = ap.locator('#note-toggle');
    assert.equal(await toggle.textContent(), 'Note');
    assert.equal(await ap.locator('#note-banner').isVisible(), false);
    const plain = await ap.locator('#composer').evaluate((f) => getComputedStyle(f).backgroundColor);
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    assert.equal(
      (await ap.locator('#note-banner').textContent()).trim(),
      'Internal note — the visitor does not see this',
    );
    assert.equal(await ap.locator('#note-banner').isVisible(), true);
    const yellow = await ap.locator('#composer').evaluate((f) => getComputedStyle(f).backgroundColor);
    assert.notEqual(yellow, plain, 'the composer looks different in note mode');
    assert.equal(yellow, 'rgb(254, 243, 199)');

    await send(ap, 'Customer is a VIP, ship express');
    const noteClasses = await storedMessage(ap, 'Customer is a VIP, ship express');
    assert.match(noteClasses, /\bis-note\b/, 'the note is marked in the panel');
    const label = await ap.evaluate(() => [...document.querySelectorAll('#messages .message.is-note .message-sender')]
      .map((n) => n.textContent));
    assert.deepEqual(label, ['📝 Internal note · You']);
    const noteBg = await ap.locator('#messages .message.is-note .bubble').evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(noteBg, 'rgb(254, 243, 199)');

    // Back to answers: the next message is an ordinary answer.
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    assert.equal(await ap.locator('#note-banner').isVisible(), false);
    await send(ap, 'It ships today!');
    const answerClasses = await storedMessage(ap, 'It ships today!');
    assert.doesNotMatch(answerClasses, /\bis-note\b/);
    await ap.screenshot({ path: path.join(SHOTS, 'admin-note.png') });

    // The visitor's page got the answer (sent after the note) and not the note.
    await storedMessage(vp, 'It ships today!');
    assert.deepEqual(await texts(vp), ['Where is my parcel?', 'It ships today!']);
    // Nor after a reload (its history).
    await vp.reload();
    await storedMessage(vp, 'It ships today!');
    assert.deepEqual(await texts(vp), ['Where is my parcel?', 'It ships today!']);
    assert.equal(await vp.locator('#note-toggle').count(), 0, 'no note toggle on the visitor page');

    // The panel shows the note apart after a reload too (its history).
    await ap.reload();
    await ap.locator(`.thread-item[data-thread-id="${threadId}"]`).click();
    const reloaded = await storedMessage(ap, 'Customer is a VIP, ship express');
    assert.match(reloaded, /\bis-note\b/);
    assert.deepEqual(await texts(ap), ['Where is my parcel?', 'Customer is a VIP, ship express', 'It ships today!']);
    assert.deepEqual(problems, []);
  });
});
