// Overload loses nothing (issue #9 § 3), against the built binary:
//
// 1. An admin socket that stops reading is cut off: it receives a gap-free
//    prefix of the acknowledged messages and then a DISCONNECT, never a
//    stream with holes; after it, the REST catch-up the pages use
//    (`?after=`) returns every acknowledged message.
// 2. Overload is logged as one line per episode, not one per event.
//
// The slow admin is a raw Engine.IO long-polling client that simply stops
// polling (lib/polling.mjs).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { emitAck, socketScope, sleep } from './lib/socket.mjs';
import { PollingSocket, drain } from './lib/polling.mjs';

test('an admin socket that stops reading is disconnected after a gap-free prefix, and catch-up has everything', async (t) => {
  const server = await startServer({ db: 'sqlite' });
  t.after(() => server.stop());
  const scope = socketScope(t, server);

  const adminJar = await loginAdmin(server);
  const slow = new PollingSocket(server, adminJar);
  await slow.connect({ csrf_token: adminJar.csrf, role: 'admin' });

  // The slow admin stops polling now. Visitors send more messages than its
  // buffer holds, each acknowledged.
  const visitors = [];
  for (let i = 0; i < 4; i += 1) {
    const jar = await newClient(server);
    visitors.push({ jar, socket: await scope.connect(jar, { role: 'visitor' }) });
  }
  const PER_VISITOR = 350;
  const acked = [];
  await Promise.all(visitors.map(async ({ jar, socket }) => {
    for (let n = 0; n < PER_VISITOR; n += 1) {
      const ack = await emitAck(socket, 'message_from_visitor', {
        thread_id: jar.threadId, text: `m${n}`, type: 'text', client_id: `c${n}`,
      });
      assert.equal(ack?.success, true, JSON.stringify(ack));
      acked.push(ack.message.id);
    }
  }));
  acked.sort((a, b) => a - b);
  assert.equal(acked.length, 4 * PER_VISITOR);

  // Now drain what the server kept for the slow admin.
  const { received, disconnected } = await drain(slow);
  assert.ok(received.length < acked.length,
    `the test must overflow the admin's buffer (received ${received.length} of ${acked.length})`);
  assert.ok(disconnected, `the slow admin was not disconnected after missing ${acked.length - received.length} messages`);
  assert.deepEqual(received, acked.slice(0, received.length),
    'what the slow admin received is not a gap-free prefix of the acknowledged messages');

  // The pages reconnect and catch up over REST: every acknowledged message is there.
  const stored = [];
  for (const { jar } of visitors) {
    const msgs = await adminJar.messages(jar.threadId, 'after=0&limit=200');
    let more = await adminJar.messages(jar.threadId, `after=${msgs.at(-1).id}&limit=200`);
    stored.push(...msgs.map((m) => m.id), ...more.map((m) => m.id));
    assert.equal(msgs.length + more.length, PER_VISITOR);
  }
  assert.deepEqual(stored.sort((a, b) => a - b), acked);

  // One log line for the episode, not one per missed event.
  await sleep(200);
  const lines = server.lines.filter((l) => l.includes('overload:'));
  assert.ok(lines.length >= 1 && lines.length <= 2, `overload log lines: ${lines.length}\n${lines.join('\n')}`);
});
