// Who did what to a thread (issue 22 item 7) on the wire, against the built
// binary, once with SQLite and once with Postgres: `thread_updated` carries
// `by: {id, name}` naming the agent (HTTP and socket changes alike) to
// every admin socket; a visitor socket (its own thread's room) never gets
// `thread_updated` nor an agent's name; `messages_cleared` to the visitor
// stays `{thread_id}`. The stored events and who may read them:
// tests/it/thread_events.rs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, ADMIN_USERNAME } from './lib/server.mjs';
import { newClient, loginAdmin } from './lib/http.mjs';
import { emitAck, nextEvent, noEvent, eventsOf, socketScope } from './lib/socket.mjs';

for (const db of ['sqlite', 'postgres']) {
  describe(`thread events on Socket.IO (${db})`, () => {
    let server;

    before(async () => {
      server = await startServer({ db });
    });

    after(async () => {
      if (server) await server.stop();
    });

    test('thread_updated names the agent to admins; the visitor gets neither it nor the name', async (t) => {
      const scope = socketScope(t, server);
      const adminClient = await loginAdmin(server);
      const a = await scope.connect(adminClient, { role: 'admin' });
      const other = await scope.connect(await loginAdmin(server), { role: 'admin' });
      const vClient = await newClient(server);
      const v = await scope.connect(vClient, { role: 'visitor' });
      const tid = vClient.threadId;
      const sent = await emitAck(v, 'message_from_visitor', { text: 'hello', type: 'text' });
      assert.equal(sent?.success, true, JSON.stringify(sent));
      const since = v.log.length;
      const me = await adminClient.get('/api/agents/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(typeof me.body.agent.id, 'number', me.text);
      const by = { id: me.body.agent.id, name: ADMIN_USERNAME };

      // Over Socket.IO.
      let seen = nextEvent(other, 'thread_updated', { timeout: 5000, where: (p) => p?.id === tid });
      const closed = await emitAck(a, 'close_thread', { thread_id: tid });
      assert.equal(closed.success, true, JSON.stringify(closed));
      assert.deepEqual((await seen).by, by);
      assert.equal(closed.thread.by.name, ADMIN_USERNAME);

      // Over HTTP, every action.
      for (const action of ['reopen', 'block', 'unblock']) {
        seen = nextEvent(other, 'thread_updated', { timeout: 5000, where: (p) => p?.id === tid && p.change === action });
        const r = await adminClient.post(`/api/threads/${tid}/${action}`, {});
        assert.equal(r.status, 200, r.text);
        assert.deepEqual((await seen).by, by, action);
      }

      // A visitor's message reopening a thread names no agent.
      await emitAck(a, 'close_thread', { thread_id: tid });
      seen = nextEvent(a, 'thread_updated', { timeout: 5000, where: (p) => p?.id === tid && p.change === 'visitor' });
      await emitAck(v, 'message_from_visitor', { text: 'back', type: 'text' });
      assert.equal('by' in (await seen), false);

      // Clearing: the visitor is told `{thread_id}` only.
      const cleared = nextEvent(v, 'messages_cleared', { since, timeout: 5000 });
      const r = await adminClient.post('/api/messages/clear', { thread_id: tid });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(await cleared, { thread_id: tid });

      await noEvent(v, 'thread_updated', 300, { since });
      const toVisitor = JSON.stringify(v.log.slice(since));
      assert.equal(eventsOf(v, 'thread_updated', since).length, 0);
      // (`user_id: "admin"` of presence is the contract's; no `by`, no agent.)
      assert.ok(!toVisitor.includes('"by"'), `an agent reached the visitor: ${toVisitor}`);
    });
  });
}
