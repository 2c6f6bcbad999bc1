// Canned replies (issue 13) on the wire: every change made over HTTP by one
// admin reaches another admin's socket as `canned_updated` (SQLite and
// Postgres), never a visitor's; and with two instances behind Redis, a
// change on instance A reaches an admin socket on instance B.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, startRedisPair } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { connect, emitAck, nextEvent, eventsOf, socketScope } from './lib/socket.mjs';
import { assertHttpError } from './lib/assertions.mjs';


for (const db of ['sqlite', 'postgres']) {
  describe(`canned_updated (${db})`, () => {
    let server;

    before(async () => {
      server = await startServer({ db });
    });

    after(async () => {
      if (server) await server.stop();
    });

    test('create, update and delete reach a second admin socket; a visitor gets none', async (t) => {
      const scope = socketScope(t, server);
      const editor = await loginAdmin(server);
      const watcher = await loginAdmin(server);
      const watcherSocket = await scope.connect(watcher, { role: 'admin' });
      const visitor = await newClient(server);
      const visitorSocket = await scope.connect(visitor, { role: 'visitor' });
      const sinceVisitor = visitorSocket.log.length;

      let since = watcherSocket.log.length;
      const created = await editor.post('/api/canned', { name: 'Kargo', body: 'Siparişiniz yarın kargoda.' });
      assert.equal(created.status, 200, created.text);
      const reply = created.body.reply;
      let ev = await nextEvent(watcherSocket, 'canned_updated', { since, timeout: 5000 });
      assert.deepEqual(ev, { action: 'created', id: reply.id, reply });

      since = watcherSocket.log.length;
      const updated = await editor.request('PUT', `/api/canned/${reply.id}`, { body: { name: 'kargo', body: 'Bugün kargoda.' } });
      assert.equal(updated.status, 200, updated.text);
      ev = await nextEvent(watcherSocket, 'canned_updated', { since, timeout: 5000 });
      assert.deepEqual(ev, { action: 'updated', id: reply.id, reply: updated.body.reply });
      assert.equal(ev.reply.body, 'Bugün kargoda.');

      // A refused change sends nothing: the next event is the delete's.
      since = watcherSocket.log.length;
      const dup = await editor.post('/api/canned', { name: 'KARGO', body: 'x' });
      assertHttpError(dup, 409, 'CONFLICT');
      const deleted = await editor.request('DELETE', `/api/canned/${reply.id}`);
      assert.equal(deleted.status, 200, deleted.text);
      ev = await nextEvent(watcherSocket, 'canned_updated', { since, timeout: 5000 });
      assert.deepEqual(ev, { action: 'deleted', id: reply.id, reply: null });
      assert.equal(eventsOf(watcherSocket, 'canned_updated', since).length, 1);

      // The visitor's socket: a later message reaches it, no canned_updated before it.
      const vack = await emitAck(visitorSocket, 'message_from_visitor', { text: 'hi', type: 'text' });
      assert.equal(vack?.success, true, JSON.stringify(vack));
      const rack = await emitAck(watcherSocket, 'message_to_visitor', { thread_id: visitor.threadId, text: 'later', type: 'text' });
      assert.equal(rack?.success, true, JSON.stringify(rack));
      await nextEvent(visitorSocket, 'message_to_visitor', { since: sinceVisitor, where: (m) => m?.content_text === 'later' });
      assert.deepEqual(eventsOf(visitorSocket, 'canned_updated', sinceVisitor), []);
    });
  });
}

describe('canned_updated across two instances behind Redis (postgres)', () => {
  let a;
  let b;
  const sockets = [];

  before(async () => {
    [a, b] = await startRedisPair();
  });

  after(async () => {
    for (const s of sockets) s.close();
    if (b) await b.stop();
    if (a) await a.stop();
  });

  test('a reply created on A reaches the admin socket on B, and B lists it', async () => {
    const onB = await loginAdmin(b);
    const socket = await connect(b, onB, { role: 'admin' });
    sockets.push(socket);
    const onA = await loginAdmin(a);
    const since = socket.log.length;
    const created = await onA.post('/api/canned', { name: 'hours', body: 'We answer from 9 to 17.' });
    assert.equal(created.status, 200, created.text);
    const ev = await nextEvent(socket, 'canned_updated', { since, timeout: 5000 });
    assert.deepEqual(ev, { action: 'created', id: created.body.reply.id, reply: created.body.reply });
    const listed = await onB.get('/api/canned');
    assert.deepEqual(listed.body.replies, [created.body.reply]);
  });
});
