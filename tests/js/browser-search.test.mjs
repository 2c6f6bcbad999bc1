// The admin panel's message search (issue 13) in headless Chromium, on
// SQLite and Postgres: the admin types in the sidebar's search box, sees
// the matching messages with the words marked (hostile text stays text),
// pages with "more", and opens with the keyboard a result that lies three
// pages back in its thread: the panel loads older pages until the message
// is there, scrolls it into view, marks it and focuses it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { newClient, loginAdmin } from './lib/http.mjs';
import { axe, contexts, loginOnPage, useChromium, DESKTOP } from './lib/browser.mjs';
import { SHOTS } from './lib/screenshots.mjs';

const WAIT = 15_000;
const FILLERS = 130; // the panel shows 50 a page: the needle is 3 pages back
const HOSTILE = '<img src=x onerror=alert(1)> iade <b>bold</b>';
async function send(client, body) {
  const r = await client.post('/api/messages/send', { type: 'text', ...body });
  assert.equal(r.status, 200, r.text);
  return r.body.message_id;
}

for (const [db, locale, colorScheme, strings] of [
  ['sqlite', 'tr-TR', 'light', { more: /^20 mesaj gösteriliyor/, all: '2 mesaj bulundu' }],
  ['postgres', 'en-US', 'dark', { more: /^Showing 20 messages/, all: '2 messages found' }],
]) {
  describe(`message search in the admin panel (${db})`, () => {
    const suite = useChromium({ db });

    test('search, highlighted snippets, paging, and a keyboard-opened result three pages back', async (t) => {
      const { server, browser } = suite;
      // ---- data: the needle, then many newer messages in its thread
      const ayse = await newClient(server);
      const needle = await send(ayse, { text: 'Merhaba, İADE talebim var: sipariş ŞK-4521 ılık geldi' });
      const admin = await loginAdmin(server);
      for (let i = 0; i < FILLERS; i += 1) {
        await send(admin, { thread_id: ayse.threadId, text: `Dolgu mesajı ${i}` });
      }
      const newest = await send(ayse, { text: 'Son mesajım bu' });
      const other = await newClient(server);
      const hostile = await send(other, { text: HOSTILE });

      // ---- the admin logs in on the page
      const { problems, context, watch } = contexts(t, browser, { timeout: WAIT });
      const ap = await (await context({ viewport: DESKTOP, locale, colorScheme })).newPage();
      watch(ap);
      await loginOnPage(ap, server);
      await ap.locator(`.thread-item[data-thread-id="${ayse.threadId}"]`).waitFor();

      // ---- paging: many results, "more" loads the next page
      await ap.locator('#thread-search').fill('dolgu');
      await ap.waitForFunction(() => document.querySelectorAll('#search-hits .search-hit-item').length === 20);
      assert.match(await ap.textContent('#search-status'), strings.more);
      await ap.locator('#search-more').click();
      await ap.waitForFunction(() => document.querySelectorAll('#search-hits .search-hit-item').length === 40);
      const ids = await ap.$$eval('#search-hits [data-message-id]', (n) => n.map((b) => Number(b.dataset.messageId)));
      assert.equal(new Set(ids).size, 40, 'no result twice');
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');

      // ---- Turkish words, case-folded (İADE found by "iade"), marked, as text
      await ap.locator('#thread-search').fill('iade');
      const needleHit = ap.locator(`#search-hits [data-message-id="${needle}"]`);
      await needleHit.waitFor();
      await ap.waitForFunction(() => document.querySelectorAll('#search-hits .search-hit-item').length === 2);
      assert.equal(await ap.textContent('#search-status'), strings.all);
      assert.deepEqual(await needleHit.locator('mark').allTextContents(), ['İADE']);
      assert.equal(
        await needleHit.locator('.search-hit-snippet').textContent(),
        'Merhaba, İADE talebim var: sipariş ŞK-4521 ılık geldi',
      );
      const hostileHit = ap.locator(`#search-hits [data-message-id="${hostile}"]`);
      assert.equal(await hostileHit.locator('.search-hit-snippet').textContent(), HOSTILE);
      assert.equal(await ap.locator('#search-hits img, #search-hits b, #search-hits [onerror]').count(), 0);
      assert.deepEqual(await hostileHit.locator('mark').allTextContents(), ['iade']);
      await ap.screenshot({ path: path.join(SHOTS, `admin-search-${db}.png`) });
      assert.deepEqual(await axe(ap), [], `axe (${colorScheme}) with results shown`);

      // ---- keyboard only: ↓ from the box to the results, Enter opens one
      await ap.locator('#thread-search').focus();
      await ap.keyboard.press('ArrowDown');
      const focusedId = () => ap.evaluate(() => document.activeElement?.dataset?.messageId || null);
      // The newest result (the hostile one) comes first; ↓ again to the needle.
      assert.equal(await focusedId(), String(hostile));
      await ap.keyboard.press('ArrowDown');
      assert.equal(await focusedId(), String(needle));
      await ap.keyboard.press('Enter');

      const shown = ap.locator(`#messages .message.search-hit[data-id="${needle}"]`);
      await shown.waitFor({ state: 'visible' });
      assert.equal(new URL(ap.url()).hash, `#${ayse.threadId}`);
      const state = await ap.evaluate((id) => {
        const node = document.querySelector(`#messages .message[data-id="${id}"]`);
        const box = document.getElementById('messages').getBoundingClientRect();
        const r = node.getBoundingClientRect();
        return {
          inView: r.top >= box.top && r.bottom <= box.bottom,
          focused: document.activeElement === node,
          marked: document.querySelectorAll('#messages .message.search-hit').length,
          count: document.querySelectorAll('#messages .message').length,
        };
      }, needle);
      assert.ok(state.inView, 'the chosen message is scrolled into view');
      assert.ok(state.focused, 'the chosen message has the focus');
      assert.equal(state.marked, 1, 'only the chosen message is marked');
      assert.ok(state.count >= FILLERS + 2, `the pages between it and the newest are loaded (${state.count})`);
      assert.equal(await ap.locator(`#messages .message[data-id="${newest}"]`).count(), 1, 'the newest message is there too');
      await ap.screenshot({ path: path.join(SHOTS, `admin-search-opened-${db}.png`) });
      assert.deepEqual(await axe(ap), [], `axe (${colorScheme}) with a result opened`);

      // ---- a visitor's browser cannot search
      const visitorPage = await (await browser.newContext()).newPage();
      await visitorPage.goto(`${server.baseUrl}/`);
      const status = await visitorPage.evaluate(async () => (await fetch('/api/search?q=iade')).status);
      assert.equal(status, 401);
      await visitorPage.context().close();

      assert.deepEqual(problems, [], 'no uncaught errors, console errors or dialogs');
    });
  });
}
