// Times in the viewer's own time zone (issue 22 item 8) and the thread
// events in the panel (issue 22 item 7), in headless Chromium (SQLite).
// APP_TIMEZONE is set to a third zone (America/Sao_Paulo): the same
// message shows, on the visitor page and in the panel, the clock time of
// the browser's zone (Europe/Berlin in one context, Asia/Tokyo in the
// other), never APP_TIMEZONE's. In the panel, the admin's close is a
// centred line "admin closed the thread · HH:MM" between the messages, by
// time, and a visitor's page shows no such line.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ADMIN_USERNAME } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { addClientCookies, contexts, useChromium, DESKTOP } from './lib/browser.mjs';

const APP_TZ = 'America/Sao_Paulo';
const ZONES = ['Europe/Berlin', 'Asia/Tokyo'];

/** "14:05" of `iso` in `zone`, as the pages write a clock (en-GB, 24 h). */
function clockIn(zone, iso) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(iso));
}

describe('times in the browser time zone, events in the panel (headless Chromium)', () => {
  const suite = useChromium({ env: { APP_TIMEZONE: APP_TZ } });

  test('the same message shows each zone\'s clock; the admin\'s close is a line between the messages', async (t) => {
    const { server, browser } = suite;
    const { problems, context, watch } = contexts(t, browser, {
      locale: 'en-US', viewport: DESKTOP, watch: { console: false, dialogs: false },
    });
    async function pageIn(zone, jar) {
      const c = await context({ timezoneId: zone });
      await addClientCookies(c, jar);
      const page = await c.newPage();
      watch(page, zone);
      return page;
    }

    // A visitor writes, the admin closes, the visitor writes again.
    const visitor = await newClient(server);
    const admin = await loginAdmin(server);
    const first = await visitor.post('/api/messages/send', { text: 'first question', type: 'text' });
    assert.equal(first.status, 200, first.text);
    const tid = visitor.threadId;
    const closed = await admin.post(`/api/threads/${tid}/close`, {});
    assert.equal(closed.status, 200, closed.text);
    const second = await visitor.post('/api/messages/send', { text: 'second question', type: 'text' });
    assert.equal(second.status, 200, second.text);
    const events = await admin.get(`/api/threads/${tid}/events`);
    assert.equal(events.status, 200, events.text);
    assert.equal(events.body.events.length, 1);
    const closedAt = events.body.events[0].created_at;
    const sentAt = first.body.message.created_at;

    const seen = {};
    for (const zone of ZONES) {
      const want = clockIn(zone, sentAt);
      assert.notEqual(want, clockIn(APP_TZ, sentAt));

      // The visitor's page (same visitor cookie in this browser).
      const vp = await pageIn(zone, visitor);
      await vp.goto(`${server.baseUrl}/`);
      const vTime = vp.locator(`#messages .message[data-id="${first.body.message_id}"] .message-meta time`);
      await vTime.waitFor();
      const shown = await vTime.textContent();
      assert.ok(shown.endsWith(want), `${zone}: visitor page shows ${shown}, want ${want}`);
      assert.equal(await vTime.getAttribute('datetime'), new Date(sentAt).toISOString());
      assert.equal(await vp.locator('.thread-event').count(), 0, 'no agent line on the visitor page');
      assert.ok(!(await vp.content()).includes(APP_TZ), 'the page carries no APP_TIMEZONE');

      // The panel.
      const ap = await pageIn(zone, admin);
      await ap.goto(`${server.baseUrl}/admin`);
      await ap.locator(`.thread-item[data-thread-id="${tid}"]`).click();
      const aTime = ap.locator(`#messages .message[data-id="${first.body.message_id}"] .message-meta time`);
      await aTime.waitFor();
      assert.ok((await aTime.textContent()).endsWith(want), `${zone}: panel shows ${await aTime.textContent()}`);
      const line = ap.locator('#messages .thread-event');
      await line.waitFor();
      assert.equal(await line.textContent(), `${ADMIN_USERNAME} closed the thread · ${clockIn(zone, closedAt)}`);
      // Between the two messages, by time; centred.
      const order = await ap.evaluate(() => [...document.querySelectorAll('#messages .message[data-id], #messages .thread-event')]
        .map((n) => (n.classList.contains('thread-event') ? 'event' : n.querySelector('.message-text')?.textContent)));
      assert.deepEqual(order, ['first question', 'event', 'second question']);
      assert.equal(await line.evaluate((n) => getComputedStyle(n).justifyContent), 'center');
      seen[zone] = shown;
    }
    assert.notEqual(seen[ZONES[0]], seen[ZONES[1]], 'the same message, two zones, two clocks');
    assert.deepEqual(problems, []);
  });
});
