// Visitor tokens on Socket.IO (issue 14), with the real socket.io-client and
// no cookies: a token's socket is its thread's visitor and nothing else
// (cannot join, write to or hear another thread), a forged token is refused
// with `auth_error`, and a token never makes a socket the admin.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer } from './lib/server.mjs';
import { connect, connectError, emitAck, nextEvent } from './lib/socket.mjs';

const ORIGIN = 'http://localhost:9';

async function freshToken(server) {
  const html = await (await fetch(`${server.baseUrl}/embed`)).text();
  return /data-fresh-token="([^"]+)"/.exec(html)[1];
}
const threadOf = (token) => token.split('.')[1];

for (const db of ['sqlite', 'postgres']) {
  describe(`visitor tokens on Socket.IO (${db})`, () => {
    let server;
    before(async () => {
      server = await startServer({ db, env: { EMBED_ORIGINS: ORIGIN } });
    });
    after(async () => {
      if (server) await server.stop();
    });

    test('a token socket reaches only its own thread; forged tokens are refused', async (t) => {
      const [a, b] = [await freshToken(server), await freshToken(server)];
      const sa = await connect(server, null, { auth: { visitor_token: a, role: 'visitor' }, origin: ORIGIN });
      const sb = await connect(server, null, { auth: { visitor_token: b, role: 'visitor' } });
      t.after(() => { sa.close(); sb.close(); });

      // Own thread: send works and comes back to the own room.
      const ack = await emitAck(sa, 'message_from_visitor', { text: 'hi from A', type: 'text', client_id: 'a-1' });
      assert.equal(ack.success, true, JSON.stringify(ack));
      assert.equal(ack.message.thread_id, threadOf(a));

      // B cannot join or write to A's thread, nor claim the admin role.
      const join = await emitAck(sb, 'join_thread', { thread_id: threadOf(a) });
      assert.deepEqual([join.success, join.code], [false, 'FORBIDDEN']);
      const write = await emitAck(sb, 'message_from_visitor', { thread_id: threadOf(a), text: 'intrusion', type: 'text' });
      assert.deepEqual([write.success, write.code], [false, 'FORBIDDEN']);
      const reply = await emitAck(sb, 'message_to_visitor', { thread_id: threadOf(a), text: 'fake admin', type: 'text' });
      assert.deepEqual([reply.success, reply.code], [false, 'FORBIDDEN']);
      // A's next message is not heard by B: B's own later message (events
      // go out in commit order) arrives, A's does not.
      await emitAck(sa, 'message_from_visitor', { text: 'private', type: 'text' });
      await nextEvent(sa, 'message_from_visitor', { since: 0, where: (m) => m.content_text === 'private' });
      await emitAck(sb, 'message_from_visitor', { text: 'B later', type: 'text' });
      await nextEvent(sb, 'message_from_visitor', { since: 0, where: (m) => m.content_text === 'B later' });
      assert.deepEqual(sb.log.filter((e) => e.name.startsWith('message_')).map((e) => e.data.content_text), ['B later']);

      // Forged or foreign tokens: auth_error; a token with role admin: auth_error.
      const mac = b.split('.')[2];
      for (const forged of [`sv1.${threadOf(a)}.${mac}`, `${a.slice(0, -1)}${a.endsWith('0') ? '1' : '0'}`, 'nonsense']) {
        assert.equal(await connectError(server, null, { auth: { visitor_token: forged } }), 'auth_error', forged);
      }
      assert.equal(await connectError(server, null, { auth: { visitor_token: a, role: 'admin' } }), 'auth_error');
      // A foreign Origin is refused even with a good token.
      assert.equal(await connectError(server, null, { auth: { visitor_token: a }, origin: 'https://evil.example' }), 'origin_error');
    });
  });
}
