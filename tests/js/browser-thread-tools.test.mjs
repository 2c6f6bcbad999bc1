// The admin's thread tools in a real browser (headless Chromium through
// playwright-core, SQLite; issue 13): the panel's Close / Reopen button and
// the open / closed filter with counts, a visitor's message bringing a
// closed thread back, the unread badge counting open threads only, and the
// Block button: the blocked visitor's page says so politely; Unblock
// restores sending. A screenshot of the panel goes to tests/js/screenshots/.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { loginAdmin } from './lib/http.mjs';
import {
  addClientCookies, contexts, sendText as send, useChromium, waitForMessage, DESKTOP, WAIT,
} from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

/** Waits until the filter's counts read `{open, closed}`. */
async function waitCounts(page, open, closed) {
  await page.waitForFunction(
    ({ open, closed }) => document.querySelector('[data-count="open"]')?.textContent === String(open)
      && document.querySelector('[data-count="closed"]')?.textContent === String(closed),
    { open, closed },
    { timeout: WAIT },
  );
}

describe('thread tools in headless Chromium (sqlite)', () => {
  const suite = useChromium();

  test('Close / Reopen, the filter with counts, open-only unread badge, Block with the visitor told', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, {
      viewport: DESKTOP,
      locale: 'en-US',
      // The refused send is a 403 answer, which Chromium logs as a failed resource.
      watch: { dialogs: false, expected: (m) => /status of 403/.test(m.text()) },
    });

    // Two visitors write.
    const visitors = [];
    for (const text of ['I need help with my order', 'A second visitor']) {
      const page = await (await context()).newPage();
      watch(page, `visitor ${visitors.length}`);
      await page.goto(`${server.baseUrl}/`);
      await send(page, text);
      await waitForMessage(page, 'visitor', text);
      visitors.push({ page, id: await page.evaluate(() => document.body.dataset.threadId) });
    }
    const [a, b] = visitors;

    // The admin's panel (logged in over HTTP, its cookies in the browser).
    const adminHttp = await loginAdmin(server);
    const adminCtx = await context();
    await addClientCookies(adminCtx, adminHttp);
    const ap = await adminCtx.newPage();
    watch(ap, 'admin page');
    ap.on('dialog', (d) => d.accept());
    await ap.goto(`${server.baseUrl}/admin`);
    const itemA = ap.locator(`.thread-item[data-thread-id="${a.id}"]`);
    const itemB = ap.locator(`.thread-item[data-thread-id="${b.id}"]`);
    await itemA.waitFor({ state: 'visible' });
    await waitCounts(ap, 2, 0);
    assert.equal(await ap.locator('[data-filter="open"]').getAttribute('aria-pressed'), 'true');
    await ap.waitForFunction(() => document.title.startsWith('(2)'), null, { timeout: WAIT });

    // ---- Close thread A from its view: it leaves the open list.
    await itemA.click();
    await waitForMessage(ap, 'visitor', 'I need help with my order');
    const statusButton = ap.locator('#status-button');
    assert.equal(await statusButton.textContent(), 'Close');
    await statusButton.click();
    await ap.waitForFunction(() => document.querySelector('#status-button').textContent === 'Reopen');
    await waitCounts(ap, 1, 1);
    await itemA.waitFor({ state: 'detached' });
    assert.equal((await ap.locator('#conv-flags').textContent()).trim(), 'Closed');

    // The closed filter shows it; open again hides it.
    await ap.click('[data-filter="closed"]');
    await itemA.waitFor({ state: 'visible' });
    assert.equal(await itemB.count(), 0, 'the closed filter lists closed threads only');
    await ap.screenshot({ path: path.join(SHOTS, 'admin-thread-tools.png') });
    await ap.click('[data-filter="open"]');
    await itemA.waitFor({ state: 'detached' });

    // ---- The unread badge counts open threads only: B (unread) is closed over the API.
    await ap.waitForFunction(() => document.title.startsWith('(1)'), null, { timeout: WAIT });
    const r = await adminHttp.post(`/api/threads/${b.id}/close`, {});
    assert.equal(r.status, 200, r.text);
    await waitCounts(ap, 0, 2);
    await ap.waitForFunction(() => !document.title.startsWith('('), null, { timeout: WAIT });

    // ---- The visitor of A writes again: A is open again.
    await send(a.page, 'Are you there?');
    await itemA.waitFor({ state: 'visible' });
    await waitCounts(ap, 1, 1);
    await ap.waitForFunction(() => document.querySelector('#status-button').textContent === 'Close');

    // ---- Block A (confirmed): the visitor is told politely, nothing is lost.
    await ap.click('#block-button');
    await ap.waitForFunction(() => document.querySelector('#block-button').textContent === 'Unblock');
    await send(a.page, 'let me in');
    const notice = a.page.locator('#blocked-notice');
    await notice.waitFor({ state: 'visible' });
    const said = await notice.textContent();
    assert.match(said, /^Sorry, you can no longer send messages/);
    assert.equal(await notice.getAttribute('role'), 'alert');
    const blocked = await adminHttp.get('/api/blocks');
    assert.deepEqual(blocked.body.blocks.map((x) => x.id), [a.id]);
    assert.equal((await adminHttp.messages(a.id)).length, 2, 'nothing stored, nothing deleted');

    // ---- The blocked list: A only; unblock from there, sending works again.
    await ap.waitForFunction(() => document.querySelector('[data-count="blocked"]')?.textContent === '1');
    await ap.click('[data-filter="blocked"]');
    await itemA.waitFor({ state: 'visible' });
    assert.equal(await ap.locator('.thread-item').count(), 1, 'only the blocked visitor is listed');
    await itemA.click();
    await ap.click('#block-button');
    await ap.waitForFunction(() => document.querySelector('#block-button').textContent === 'Block');
    await send(a.page, 'thank you');
    await waitForMessage(a.page, 'visitor', 'thank you');
    await waitForMessage(ap, 'visitor', 'thank you');

    assert.deepEqual(problems, []);
  });
});
