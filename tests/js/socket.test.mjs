// The Socket.IO contract of sohbet (docs/api.md, shared/DESIGN.md §
// Socket.IO contract) exercised with the real `socket.io-client` against
// the built binary, once with SQLite and once with Postgres.
//
// One server per backend; every test uses its own browsers (cookie jars)
// and closes its sockets when it ends.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { startServer } from './lib/server.mjs';
import { Client, newClient, loginAdmin } from './lib/http.mjs';
import {
  connectError, emitAck, nextEvent, noEvent, eventsOf, sleep, socketScope,
} from './lib/socket.mjs';
import {
  assertMessage, assertAckError, assertHttpError, assertPresence, assertRecentTime,
} from './lib/assertions.mjs';

// How user_online / user_offline name the admin (ADMIN_DISPLAY_NAME, default).
const ADMIN_LABEL = 'Support';

const ALLOWED_EXTRA_ORIGIN = 'http://allowed.example';
const HOSTILE = '<img src=x onerror=alert(1)> & "quotes" ✓ 🎉';

for (const db of ['sqlite', 'postgres']) {
  describe(`Socket.IO contract (${db})`, () => {
    let server;

    before(async () => {
      server = await startServer({ db, env: { ALLOWED_ORIGINS: ALLOWED_EXTRA_ORIGIN } });
    });

    after(async () => {
      if (server) await server.stop();
    });

    /** A new visitor browser with a connected visitor socket. */
    async function visitor(scope, options = {}) {
      const client = await newClient(server);
      const socket = await scope.connect(client, { role: 'visitor', ...options });
      return { client, socket };
    }

    /** A logged-in admin browser with a connected admin socket. */
    async function admin(scope, options = {}) {
      const client = await loginAdmin(server);
      const socket = await scope.connect(client, { role: 'admin', ...options });
      return { client, socket };
    }

    /** A visitor message over Socket.IO; asserts the ack succeeded. */
    async function say(socket, text, extra = {}) {
      const ack = await emitAck(socket, 'message_from_visitor', { text, type: 'text', ...extra });
      assert.equal(ack?.success, true, `visitor send failed: ${JSON.stringify(ack)}`);
      return ack.message;
    }

    /** An admin reply over Socket.IO; asserts the ack succeeded. */
    async function reply(socket, threadId, text, extra = {}) {
      const ack = await emitAck(socket, 'message_to_visitor', { thread_id: threadId, text, type: 'text', ...extra });
      assert.equal(ack?.success, true, `admin send failed: ${JSON.stringify(ack)}`);
      return ack.message;
    }

    // ------------------------------------------------------------ handshake

    describe('handshake', () => {
      test('a missing or wrong csrf_token is refused with csrf_error', async () => {
        const v = await newClient(server);
        const other = await newClient(server);
        assert.equal(await connectError(server, v, { csrf: null }), 'csrf_error', 'no token');
        assert.equal(await connectError(server, v, { csrf: '' }), 'csrf_error', 'empty token');
        assert.equal(await connectError(server, v, { csrf: 'ab'.repeat(32) }), 'csrf_error', 'made-up token');
        assert.equal(await connectError(server, v, { csrf: other.csrf }), 'csrf_error', "another browser's token");
        assert.equal(await connectError(server, v, { auth: {} }), 'csrf_error', 'empty auth');
        // A token without the cookie it belongs to.
        const cookieless = new Client(server);
        assert.equal(await connectError(server, cookieless, { csrf: v.csrf }), 'csrf_error', 'no cookie');
        // Over long-polling too.
        assert.equal(await connectError(server, v, { csrf: null, transports: ['polling'] }), 'csrf_error', 'polling');
      });

      test('a foreign Origin is refused with origin_error; same origin and ALLOWED_ORIGINS are accepted', async (t) => {
        const scope = socketScope(t, server);
        const v = await newClient(server);
        for (const origin of [
          'http://evil.example',
          'null',
          `http://127.0.0.1:${server.port}.evil.example`,
          `http://127.0.0.1:${server.port + 1}`,
        ]) {
          assert.equal(await connectError(server, v, { role: 'visitor', origin }), 'origin_error', origin);
        }
        assert.equal(
          await connectError(server, v, { role: 'visitor', origin: 'http://evil.example', transports: ['polling'] }),
          'origin_error',
          'foreign origin over polling',
        );
        const same = await scope.connect(v, { role: 'visitor', origin: server.origin });
        assert.equal(same.connected, true);
        const extra = await scope.connect(v, { role: 'visitor', origin: ALLOWED_EXTRA_ORIGIN });
        assert.equal(extra.connected, true);
        // A connected socket really works.
        const m = await say(same, 'same-origin socket works');
        assertMessage(m, { thread_id: v.threadId, sender_type: 'visitor' });
      });

      test("role 'admin' needs a live admin session (auth_error otherwise)", async (t) => {
        const scope = socketScope(t, server);
        const v = await newClient(server);
        assert.equal(await connectError(server, v, { role: 'admin' }), 'auth_error', 'visitor asking for admin');

        const a = await loginAdmin(server);
        const as = await scope.connect(a, { role: 'admin' });
        // An admin socket may not speak as a visitor…
        assertAckError(await emitAck(as, 'message_from_visitor', { text: 'x', type: 'text' }), 'FORBIDDEN');
        // …but a socket of the admin's browser with role 'visitor' is a visitor of its own thread.
        const asVisitor = await scope.connect(a, { role: 'visitor' });
        const own = await say(asVisitor, 'the admin browser as a visitor');
        assertMessage(own, { thread_id: a.threadId, sender_type: 'visitor' });
        assertAckError(
          await emitAck(asVisitor, 'message_to_visitor', { thread_id: a.threadId, text: 'x', type: 'text' }),
          'FORBIDDEN',
        );

        // After logout the same cookies no longer open an admin socket.
        const out = await a.post('/admin/logout', {});
        assert.equal(out.status, 200);
        assert.equal(out.body.success, true);
        assert.equal(await connectError(server, a, { role: 'admin' }), 'auth_error', 'after logout');
      });
    });

    test('events emitted right at connect are handled (the pages send their queue on connect)', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const target = await newClient(server);
      await say(await scope.connect(target, { role: 'visitor' }), 'a thread to join');
      // Like createSender().flush() in static/js/common.js: emit as soon as
      // the socket is connected, without waiting for anything else. The
      // server drops such events now and then, so try many times, both in a
      // burst and one after the other.
      const visitorAttempt = async (i) => {
        const c = await newClient(server);
        const s = await scope.connect(c, { role: 'visitor', settle: false });
        const text = `sent at connect #${i}`;
        try {
          const ack = await s.timeout(1000).emitWithAck('message_from_visitor', { text, type: 'text', client_id: `c${i}` });
          if (ack?.success === true) return null;
          return `${text}: ${JSON.stringify(ack)}`;
        } catch (e) {
          const stored = (await c.messages()).length;
          return `${text}: ${e.message} (messages stored: ${stored})`;
        }
      };
      const adminAttempt = async (i) => {
        const s = await scope.connect(A.client, { role: 'admin', settle: false });
        try {
          const ack = await s.timeout(1000).emitWithAck('join_thread', { thread_id: target.threadId });
          return ack?.success === true ? null : `admin join_thread #${i}: ${JSON.stringify(ack)}`;
        } catch (e) {
          return `admin join_thread #${i}: ${e.message}`;
        }
      };
      const failures = [];
      failures.push(...await Promise.all(Array.from({ length: 15 }, (_, i) => visitorAttempt(i))));
      for (let i = 15; i < 40; i += 1) failures.push(await visitorAttempt(i));
      for (let i = 0; i < 15; i += 1) failures.push(await adminAttempt(i));
      const lost = failures.filter(Boolean);
      assert.deepEqual(lost, [], `${lost.length} of 55 events emitted right at connect were not answered`);
    });

    // ------------------------------------------------------- visitor → admin

    test('message_from_visitor: ack with the stored Message, broadcast to admins and thread_created', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const tid = V.client.threadId;

      const created = nextEvent(A.socket, 'thread_created', { where: (d) => d?.id === tid });
      const toAdmin = nextEvent(A.socket, 'message_from_visitor', { where: (d) => d?.thread_id === tid });
      const toSelf = nextEvent(V.socket, 'message_from_visitor');
      const cid = randomUUID();
      const ack = await emitAck(V.socket, 'message_from_visitor', {
        text: 'Merhaba, is anyone there?', type: 'text', client_id: cid,
      });
      assert.equal(ack.success, true);
      assertMessage(ack.message, {
        thread_id: tid,
        content_text: 'Merhaba, is anyone there?',
        content_type: 'text',
        sender_type: 'visitor',
        file_url: null,
        client_id: cid,
      });

      const thread = await created;
      assert.equal(thread.id, tid);
      assert.equal(thread.display_name, V.client.displayName);
      assert.equal(thread.status, 'open');
      assertRecentTime(thread.created_at, 'thread_created.created_at');
      assert.deepEqual(await toAdmin, ack.message, 'admins receive the very Message of the ack');
      assert.deepEqual(await toSelf, ack.message, 'the thread room (the sender too) receives it');

      // The alias, and no second thread_created for the same thread.
      const since = A.socket.log.length;
      const ack2 = await emitAck(V.socket, 'message_to_admin', { text: 'second, via the alias', type: 'text' });
      assert.equal(ack2.success, true);
      assertMessage(ack2.message, {
        thread_id: tid, content_text: 'second, via the alias', sender_type: 'visitor', file_url: null, client_id: null,
      });
      assert.ok(ack2.message.id > ack.message.id, 'ids grow with time');
      assert.deepEqual(
        await nextEvent(A.socket, 'message_from_visitor', { since, where: (d) => d?.id === ack2.message.id }),
        ack2.message,
      );
      await noEvent(A.socket, 'thread_created', 200, { since, where: (d) => d?.id === tid });

      // The same messages over HTTP, for the visitor and the admin.
      assert.deepEqual(await V.client.messages(), [ack.message, ack2.message]);
      const list = await A.client.get('/api/threads');
      assert.equal(list.status, 200);
      const row = list.body.threads.find((x) => x.id === tid);
      assert.ok(row, 'the new thread is listed for the admin');
      assert.equal(row.display_name, V.client.displayName);
      assert.equal(row.message_count, 2);
      assert.equal(row.unread_count, 2);
      assert.equal(row.online, true);
      assert.deepEqual(row.last_message, ack2.message);
      assert.equal(list.body.threads[0].id, tid, 'the most recently active thread comes first');
      assert.deepEqual(await A.client.messages(tid), [ack.message, ack2.message]);
      const after = await A.client.get('/api/threads');
      assert.equal(after.body.threads.find((x) => x.id === tid).unread_count, 0, 'reading marks the thread read');
    });

    test('the same client_id twice yields the same message and one broadcast', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const cid = `retry-${randomUUID()}`;
      const since = A.socket.log.length;

      const first = await say(V.socket, 'sent twice', { client_id: cid });
      const second = await say(V.socket, 'sent twice', { client_id: cid });
      assert.deepEqual(second, first, 'the retry answers with the stored message');
      // A retry over a new connection (after a reconnect) and over HTTP.
      const again = await scope.connect(V.client, { role: 'visitor' });
      assert.deepEqual(await say(again, 'sent twice', { client_id: cid }), first);
      const rest = await V.client.post('/api/messages/send', { text: 'sent twice', type: 'text', client_id: cid });
      assert.equal(rest.status, 200, rest.text);
      assert.equal(rest.body.message_id, first.id);

      await sleep(300);
      const broadcasts = eventsOf(A.socket, 'message_from_visitor', since).filter((m) => m.client_id === cid);
      assert.equal(broadcasts.length, 1, `admins got ${broadcasts.length} broadcasts`);
      assert.deepEqual(broadcasts[0], first);
      assert.deepEqual(await V.client.messages(), [first]);

      // Another visitor using the same client_id gets its own, new message.
      const W = await visitor(scope);
      const w = await say(W.socket, 'another visitor, same client_id', { client_id: cid });
      assert.notEqual(w.id, first.id);
      assertMessage(w, { thread_id: W.client.threadId, content_text: 'another visitor, same client_id' });
    });

    // ------------------------------------------------------- admin → visitor

    test('message_to_visitor reaches its visitor only', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const W = await visitor(scope);
      await say(V.socket, 'hello from V');
      await say(W.socket, 'hello from W');
      const wSince = W.socket.log.length;

      const toV = nextEvent(V.socket, 'message_to_visitor');
      const toAdmins = nextEvent(A.socket, 'message_to_visitor');
      const cid = randomUUID();
      const ack = await emitAck(A.socket, 'message_to_visitor', {
        thread_id: V.client.threadId, text: 'Hi V, how can I help?', type: 'text', client_id: cid,
      });
      assert.equal(ack.success, true);
      assertMessage(ack.message, {
        thread_id: V.client.threadId,
        content_text: 'Hi V, how can I help?',
        content_type: 'text',
        sender_type: 'admin',
        file_url: null,
        client_id: cid,
      });
      assert.deepEqual(await toV, ack.message);
      assert.deepEqual(await toAdmins, ack.message, 'other admin tabs see the reply too');
      await noEvent(W.socket, 'message_to_visitor', 400, { since: wSince });
      const aboutV = W.socket.log.slice(wSince).filter((e) => JSON.stringify(e.args).includes(V.client.threadId));
      assert.deepEqual(aboutV, [], 'no event about V reaches W');

      // The admin must name an existing thread.
      assertAckError(await emitAck(A.socket, 'message_to_visitor', { text: 'no thread', type: 'text' }), 'VALIDATION_ERROR');
      assertAckError(
        await emitAck(A.socket, 'message_to_visitor', { thread_id: randomUUID(), text: 'nobody', type: 'text' }),
        'NOT_FOUND',
      );
      const vm = await V.client.messages();
      assert.deepEqual(vm.map((m) => [m.sender_type, m.content_text]), [
        ['visitor', 'hello from V'], ['admin', 'Hi V, how can I help?'],
      ]);
      assert.deepEqual((await W.client.messages()).map((m) => m.content_text), ['hello from W']);
    });

    // ---------------------------------------------------- visitor isolation

    test("a visitor can neither join, write to, read nor overhear another visitor's thread", async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const B = await visitor(scope);
      const victim = V.client.threadId;
      await say(V.socket, 'secret of V #1');
      await say(B.socket, 'B is here too');
      const bSince = B.socket.log.length;

      assertAckError(await emitAck(B.socket, 'join_thread', { thread_id: victim }), 'FORBIDDEN');
      assertAckError(await emitAck(B.socket, 'leave_thread', { thread_id: victim }), 'FORBIDDEN');
      assertAckError(
        await emitAck(B.socket, 'message_from_visitor', { thread_id: victim, text: 'injected', type: 'text' }),
        'FORBIDDEN',
      );
      assertAckError(
        await emitAck(B.socket, 'message_to_admin', { thread_id: victim, text: 'injected', type: 'text' }),
        'FORBIDDEN',
      );
      assertAckError(await emitAck(B.socket, 'typing', { thread_id: victim }), 'FORBIDDEN');
      // Its own thread is fine.
      const own = await emitAck(B.socket, 'join_thread', { thread_id: B.client.threadId });
      assert.equal(own.success, true, JSON.stringify(own));

      // HTTP: read and write refused with 403.
      assertHttpError(await B.client.get(`/api/messages/${victim}`), 403, 'FORBIDDEN');
      assertHttpError(
        await B.client.post('/api/messages/send', { thread_id: victim, text: 'injected', type: 'text' }),
        403,
        'FORBIDDEN',
      );
      assertHttpError(await B.client.get('/api/threads'), 401, 'UNAUTHORIZED');
      assertHttpError(await B.client.post('/api/messages/clear', { thread_id: victim }), 401, 'UNAUTHORIZED');

      // V keeps talking with the admin; B hears nothing of it.
      await say(V.socket, 'secret of V #2');
      await reply(A.socket, victim, 'answer for V only');
      await emitAck(A.socket, 'typing', { thread_id: victim });
      await sleep(400);
      const leaked = B.socket.log.slice(bSince).filter((e) => JSON.stringify(e.args).includes(victim)
        || JSON.stringify(e.args).includes('secret of V') || JSON.stringify(e.args).includes('answer for V'));
      assert.deepEqual(leaked, [], 'no event about V reaches B');

      const texts = (await V.client.messages()).map((m) => m.content_text);
      assert.deepEqual(texts, ['secret of V #1', 'secret of V #2', 'answer for V only'], 'nothing injected');
    });

    test('events of the other role are refused with FORBIDDEN (ack or message_error)', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      await say(V.socket, 'only message');

      assertAckError(
        await emitAck(V.socket, 'message_to_visitor', { thread_id: V.client.threadId, text: 'fake admin', type: 'text' }),
        'FORBIDDEN',
      );
      assertAckError(
        await emitAck(A.socket, 'message_from_visitor', { thread_id: V.client.threadId, text: 'fake visitor', type: 'text' }),
        'FORBIDDEN',
      );
      assertAckError(
        await emitAck(A.socket, 'message_to_admin', { thread_id: V.client.threadId, text: 'fake visitor', type: 'text' }),
        'FORBIDDEN',
      );
      // Without an ack the refusal comes back as message_error.
      const err = nextEvent(V.socket, 'message_error');
      V.socket.emit('message_to_visitor', { thread_id: V.client.threadId, text: 'fake admin', type: 'text' });
      const e = await err;
      assert.equal(e.type, 'auth_error');
      assert.equal(e.code, 'FORBIDDEN');
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);

      const texts = (await V.client.messages()).map((m) => [m.sender_type, m.content_text]);
      assert.deepEqual(texts, [['visitor', 'only message']], 'nothing stored');
    });

    // ------------------------------------------------------------ validation

    test('invalid payloads are refused with VALIDATION_ERROR and nothing is stored', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const first = await say(V.socket, 'the only valid message');
      const aSince = A.socket.log.length;

      const cases = [
        ['empty text', [{ text: '', type: 'text' }]],
        ['whitespace text', [{ text: ' \n\t  ', type: 'text' }]],
        ['missing text', [{ type: 'text' }]],
        ['4001 characters', [{ text: 'x'.repeat(4001), type: 'text' }]],
        ['4001 characters after trimming', [{ text: `  ${'y'.repeat(4001)}  `, type: 'text' }]],
        ['unknown type', [{ text: 'hi', type: 'video' }]],
        ['text as a number', [{ text: 123, type: 'text' }]],
        ['text message with a file_url', [{ text: 'hi', type: 'text', file_url: '/uploads/images/a.png' }]],
        ['image without file_url', [{ text: '', type: 'image' }]],
        ['image with a foreign file_url', [{ text: '', type: 'image', file_url: 'https://evil.example/x.png' }]],
        ['client_id too long', [{ text: 'hi', type: 'text', client_id: 'c'.repeat(65) }]],
        ['a string payload', ['just a string']],
        ['a number payload', [42]],
        ['a null payload', [null]],
        ['an array payload', [[{ text: 'hi', type: 'text' }]]],
        ['no payload', []],
      ];
      for (const [what, args] of cases) {
        for (const event of ['message_from_visitor', 'message_to_admin']) {
          let ack;
          try {
            ack = await emitAck(V.socket, event, ...args);
          } catch (e) {
            assert.fail(`${event} with ${what}: no ack (${e.message})`);
          }
          assert.equal(ack?.success, false, `${event} with ${what} must fail: ${JSON.stringify(ack)}`);
          assert.equal(ack.code, 'VALIDATION_ERROR', `${event} with ${what}: ${JSON.stringify(ack)}`);
          assert.equal(typeof ack.error, 'string');
        }
      }
      // join_thread / typing validate their payload too.
      assertAckError(await emitAck(V.socket, 'join_thread', 'nope'), 'VALIDATION_ERROR');
      assertAckError(await emitAck(V.socket, 'typing', 7), 'VALIDATION_ERROR');

      // Admin side: the same rules.
      assertAckError(
        await emitAck(A.socket, 'message_to_visitor', { thread_id: V.client.threadId, text: '   ', type: 'text' }),
        'VALIDATION_ERROR',
      );
      assertAckError(
        await emitAck(A.socket, 'message_to_visitor', { thread_id: V.client.threadId, text: 'z'.repeat(4001), type: 'text' }),
        'VALIDATION_ERROR',
      );
      assertAckError(await emitAck(A.socket, 'message_to_visitor', 'a string'), 'VALIDATION_ERROR');

      // Without an ack: message_error {type: 'validation_error', message, code}.
      const errEvent = nextEvent(V.socket, 'message_error');
      V.socket.emit('message_from_visitor', { text: '   ', type: 'text' });
      const e = await errEvent;
      assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'type']);
      assert.equal(e.type, 'validation_error');
      assert.equal(e.code, 'VALIDATION_ERROR');
      assert.ok(typeof e.message === 'string' && e.message.length > 0);
      const errEvent2 = nextEvent(V.socket, 'message_error');
      V.socket.emit('message_from_visitor', 'not an object');
      assert.equal((await errEvent2).code, 'VALIDATION_ERROR');

      await sleep(200);
      assert.deepEqual(await V.client.messages(), [first], 'nothing but the valid message is stored');
      assert.deepEqual(
        eventsOf(A.socket, 'message_from_visitor', aSince).filter((m) => m.id !== first.id),
        [],
        'nothing but the valid message was broadcast',
      );
    });

    test('exactly 4000 characters are accepted (counted as characters, not bytes)', async (t) => {
      const scope = socketScope(t, server);
      const V = await visitor(scope);
      const ascii = 'a'.repeat(4000);
      const m1 = await say(V.socket, ascii);
      assert.equal(m1.content_text, ascii);
      const turkish = 'ğ'.repeat(4000); // 2 bytes each in UTF-8
      const m2 = await say(V.socket, turkish);
      assert.equal(m2.content_text, turkish);
      const emoji = '🎉'.repeat(4000); // 4 bytes in UTF-8, 2 UTF-16 units each
      const m3 = await say(V.socket, emoji);
      assert.equal(m3.content_text, emoji);
      assertAckError(
        await emitAck(V.socket, 'message_from_visitor', { text: `${emoji}🎉`, type: 'text' }),
        'VALIDATION_ERROR',
      );
      assert.deepEqual((await V.client.messages()).map((m) => m.content_text), [ascii, turkish, emoji]);
    });

    test('a visitor whose only attempts are invalid creates no thread', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const since = A.socket.log.length;
      assertAckError(await emitAck(V.socket, 'message_from_visitor', { text: '', type: 'text' }), 'VALIDATION_ERROR');
      await noEvent(A.socket, 'thread_created', 300, { since });
      assert.deepEqual(await V.client.messages(), []);
      const list = await A.client.get('/api/threads');
      assert.equal(list.body.threads.some((x) => x.id === V.client.threadId), false);
    });

    // ----------------------------------------------------------------- typing

    test('typing and stop_typing are relayed to the other side only', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const W = await visitor(scope);
      const tid = V.client.threadId;
      await say(V.socket, 'about to type');

      // Visitor → admins (thread id taken from the session).
      let vSince = V.socket.log.length;
      let wSince = W.socket.log.length;
      let got = nextEvent(A.socket, 'typing', { where: (d) => d?.thread_id === tid });
      const ack = await emitAck(V.socket, 'typing', {});
      assert.equal(ack.success, true, JSON.stringify(ack));
      assert.deepEqual(await got, { thread_id: tid, sender_type: 'visitor' });
      got = nextEvent(A.socket, 'stop_typing', { where: (d) => d?.thread_id === tid });
      assert.equal((await emitAck(V.socket, 'stop_typing', { thread_id: tid })).success, true);
      assert.deepEqual(await got, { thread_id: tid, sender_type: 'visitor' });
      await noEvent(V.socket, 'typing', 200, { since: vSince });
      assert.deepEqual(eventsOf(V.socket, 'stop_typing', vSince), [], 'the sender does not get its own stop_typing');
      assert.deepEqual(eventsOf(W.socket, 'typing', wSince), [], "other visitors do not see V's typing");

      // Admin → the visitor of that thread.
      const join = await emitAck(A.socket, 'join_thread', { thread_id: tid });
      assert.equal(join.success, true, JSON.stringify(join));
      const aSince = A.socket.log.length;
      vSince = V.socket.log.length;
      wSince = W.socket.log.length;
      got = nextEvent(V.socket, 'typing');
      assert.equal((await emitAck(A.socket, 'typing', { thread_id: tid })).success, true);
      assert.deepEqual(await got, { thread_id: tid, sender_type: 'admin' });
      got = nextEvent(V.socket, 'stop_typing');
      assert.equal((await emitAck(A.socket, 'stop_typing', { thread_id: tid })).success, true);
      assert.deepEqual(await got, { thread_id: tid, sender_type: 'admin' });
      await noEvent(A.socket, 'typing', 200, { since: aSince });
      assert.deepEqual(eventsOf(A.socket, 'stop_typing', aSince), [], 'the admin does not get its own stop_typing');
      assert.deepEqual(eventsOf(W.socket, 'typing', wSince), [], "other visitors do not see the admin typing to V");
      assert.deepEqual(eventsOf(W.socket, 'stop_typing', wSince), []);

      // The admin must name the thread.
      assertAckError(await emitAck(A.socket, 'typing', {}), 'VALIDATION_ERROR');
      const left = await emitAck(A.socket, 'leave_thread', { thread_id: tid });
      assert.equal(left.success, true);
    });

    // --------------------------------------------------------------- presence

    test('presence: user_online / user_offline both ways and online in /api/threads', async (t) => {
      const scope = socketScope(t, server);
      // A visitor connecting while no admin is connected hears it at once.
      const V = await visitor(scope);
      const initial = await nextEvent(V.socket, 'user_offline', { since: 0, where: (d) => d?.user_id === 'admin' });
      // The admin is named by ADMIN_DISPLAY_NAME (default "Support"), never by its login name.
      assertPresence(initial, 'admin', ADMIN_LABEL, { lastSeenNullable: true });
      assert.deepEqual(eventsOf(V.socket, 'user_online', 0), [], 'no admin is online yet');
      const tid = V.client.threadId;
      await say(V.socket, 'presence test');

      // The admin connects: the connected visitor is told.
      const adminClient = await loginAdmin(server);
      const online = nextEvent(V.socket, 'user_online', { where: (d) => d?.user_id === 'admin' });
      const as = await scope.connect(adminClient, { role: 'admin' });
      assertPresence(await online, 'admin', ADMIN_LABEL);

      // A visitor connecting now hears user_online for the admin at once,
      // and the admin hears user_online for it.
      const W = await newClient(server);
      const wOnline = nextEvent(as, 'user_online', { where: (d) => d?.user_id === W.threadId });
      const ws = await scope.connect(W, { role: 'visitor' });
      assertPresence(
        await nextEvent(ws, 'user_online', { since: 0, where: (d) => d?.user_id === 'admin' }),
        'admin',
        ADMIN_LABEL,
      );
      assertPresence(await wOnline, W.threadId, W.displayName);

      let threads = (await adminClient.get('/api/threads')).body.threads;
      assert.equal(threads.find((x) => x.id === tid)?.online, true, 'V is online');

      // A second tab of V: closing one tab is not going offline.
      const v2 = await scope.connect(V.client, { role: 'visitor' });
      const since = as.log.length;
      scope.close(v2);
      await noEvent(as, 'user_offline', 400, { since, where: (d) => d?.user_id === tid });
      threads = (await adminClient.get('/api/threads')).body.threads;
      assert.equal(threads.find((x) => x.id === tid)?.online, true, 'V is still online in its other tab');

      // V leaves: the admin is told, with a last_seen.
      const off = nextEvent(as, 'user_offline', { where: (d) => d?.user_id === tid });
      scope.close(V.socket);
      assertPresence(await off, tid, V.client.displayName);
      threads = (await adminClient.get('/api/threads')).body.threads;
      assert.equal(threads.find((x) => x.id === tid)?.online, false, 'V is offline');

      // The admin leaves: connected visitors are told.
      const adminOff = nextEvent(ws, 'user_offline', { where: (d) => d?.user_id === 'admin' });
      scope.close(as);
      assertPresence(await adminOff, 'admin', ADMIN_LABEL);
    });

    // ------------------------------------------------------ REST broadcasts

    test('POST /api/messages/send and /api/messages/clear are broadcast', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const tid = V.client.threadId;

      // Visitor over HTTP, thread_id omitted.
      const toAdmin = nextEvent(A.socket, 'message_from_visitor', { where: (d) => d?.thread_id === tid });
      const toSelf = nextEvent(V.socket, 'message_from_visitor');
      const created = nextEvent(A.socket, 'thread_created', { where: (d) => d?.id === tid });
      const sent = await V.client.post('/api/messages/send', { text: 'sent over HTTP', type: 'text' });
      assert.equal(sent.status, 200, sent.text);
      assert.equal(sent.body.success, true);
      assert.equal(sent.body.thread_id, tid);
      assert.ok(Number.isInteger(sent.body.message_id));
      const m = await toAdmin;
      assertMessage(m, { id: sent.body.message_id, thread_id: tid, content_text: 'sent over HTTP', sender_type: 'visitor' });
      assert.deepEqual(await toSelf, m);
      assert.equal((await created).id, tid);

      // Admin over HTTP.
      const toVisitor = nextEvent(V.socket, 'message_to_visitor');
      const r = await A.client.post('/api/messages/send', { thread_id: tid, text: 'reply over HTTP', type: 'text' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.thread_id, tid);
      const reply1 = await toVisitor;
      assertMessage(reply1, { id: r.body.message_id, thread_id: tid, content_text: 'reply over HTTP', sender_type: 'admin' });

      // HTTP refusals: no CSRF header, a wrong one, a visitor clearing.
      assertHttpError(await V.client.post('/api/messages/send', { text: 'no csrf' }, { csrf: false }), 403, 'CSRF_FAILED');
      assertHttpError(
        await V.client.post('/api/messages/send', { text: 'bad csrf' }, { csrf: 'ab'.repeat(32) }),
        403,
        'CSRF_FAILED',
      );
      assertHttpError(await V.client.post('/api/messages/send', { text: '  ', type: 'text' }), 400, 'VALIDATION_ERROR');
      assertHttpError(await V.client.post('/api/messages/clear', { thread_id: tid }), 401, 'UNAUTHORIZED');
      assert.equal((await V.client.messages()).length, 2);

      // Admin clears: both sides hear messages_cleared {thread_id}.
      const clearedV = nextEvent(V.socket, 'messages_cleared');
      const clearedA = nextEvent(A.socket, 'messages_cleared', { where: (d) => d?.thread_id === tid });
      const c = await A.client.post('/api/messages/clear', { thread_id: tid });
      assert.equal(c.status, 200, c.text);
      assert.deepEqual(c.body, { success: true, message: 'Messages cleared' });
      assert.deepEqual(await clearedV, { thread_id: tid });
      assert.deepEqual(await clearedA, { thread_id: tid });
      assert.deepEqual(await V.client.messages(), []);
      assert.deepEqual(await A.client.messages(tid), []);
      assertHttpError(await A.client.post('/api/messages/clear', { thread_id: randomUUID() }), 404, 'NOT_FOUND');

      // The thread keeps working after a clear.
      const after = await say(V.socket, 'after the clear');
      assert.deepEqual(await V.client.messages(), [after]);
    });

    // ------------------------------------------------------------ round trip

    test('a hostile text round-trips byte-exact', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const tid = V.client.threadId;
      const texts = [
        HOSTILE,
        '<script>alert("x")</script>\nsecond line\ttab',
        "Türkçe: çğıöşü İI — 'single' `back` \\ backslash ${x} {{x}} %s",
        '\u202Eright-to-left override and zero\u200Bwidth',
      ];
      const got = [];
      for (const text of texts) {
        const seen = nextEvent(A.socket, 'message_from_visitor', { where: (d) => d?.thread_id === tid });
        const m = await say(V.socket, text);
        assert.equal(m.content_text, text, 'ack');
        assert.equal((await seen).content_text, text, 'broadcast');
        got.push(m);
      }
      const back = nextEvent(V.socket, 'message_to_visitor');
      await reply(A.socket, tid, HOSTILE);
      assert.equal((await back).content_text, HOSTILE, 'admin → visitor');
      const rest = await V.client.post('/api/messages/send', { text: HOSTILE, type: 'text' });
      assert.equal(rest.body.message.content_text, HOSTILE, 'HTTP send');
      const stored = (await V.client.messages()).map((m) => m.content_text);
      assert.deepEqual(stored, [...texts, HOSTILE, HOSTILE]);
      assert.deepEqual((await A.client.messages(tid)).map((m) => m.content_text), stored);
    });

    // --------------------------------------------------------------- polling

    test('the long-polling transport works both ways', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const v = await newClient(server);
      const ps = await scope.connect(v, { role: 'visitor', transports: ['polling'] });
      assert.equal(ps.io.engine.transport.name, 'polling');
      const seen = nextEvent(A.socket, 'message_from_visitor', { where: (d) => d?.thread_id === v.threadId });
      const m = await say(ps, 'sent over long-polling');
      assertMessage(m, { thread_id: v.threadId, content_text: 'sent over long-polling', sender_type: 'visitor' });
      assert.deepEqual(await seen, m);
      const back = nextEvent(ps, 'message_to_visitor');
      const r = await reply(A.socket, v.threadId, 'received over long-polling');
      assert.deepEqual(await back, r);
      // An admin socket over polling as well.
      const aps = await scope.connect(A.client, { role: 'admin', transports: ['polling'] });
      const seen2 = nextEvent(aps, 'message_from_visitor', { where: (d) => d?.thread_id === v.threadId });
      const m2 = await say(ps, 'second');
      assert.deepEqual(await seen2, m2);
    });

    // --------------------------------------------------- reconnect catch-up

    test('after a reconnect GET ?after=<last id> returns exactly what was missed', async (t) => {
      const scope = socketScope(t, server);
      const A = await admin(scope);
      const V = await visitor(scope);
      const tid = V.client.threadId;
      await say(V.socket, 'before the disconnect 1');
      await say(V.socket, 'before the disconnect 2');
      const known = await V.client.messages();
      assert.equal(known.length, 2);
      const lastId = known[known.length - 1].id;

      scope.close(V.socket);
      const missed = [];
      for (const text of ['missed 1', 'missed 2', 'missed 3']) missed.push(await reply(A.socket, tid, text));

      const caught = await V.client.messages(tid, `after=${lastId}`);
      assert.deepEqual(caught, missed, 'exactly the three missed messages, oldest first');
      assert.deepEqual(caught.map((m) => m.content_text), ['missed 1', 'missed 2', 'missed 3']);
      assert.ok(caught[0].id < caught[1].id && caught[1].id < caught[2].id);
      assert.deepEqual([...known, ...caught], await V.client.messages(), 'merged list = fresh history');
      assert.deepEqual(await V.client.messages(tid, `after=${caught[2].id}`), [], 'nothing after the newest');
      assert.deepEqual(await V.client.messages(tid, `after=${lastId}&limit=2`), missed.slice(0, 2), 'after + limit');

      // Paging: limit / before.
      const all = await V.client.messages();
      assert.deepEqual(await V.client.messages(tid, 'limit=2'), all.slice(-2), 'newest page, oldest first');
      assert.deepEqual(await V.client.messages(tid, `limit=2&before=${all[3].id}`), all.slice(1, 3));

      // The new socket is live again.
      const vs = await scope.connect(V.client, { role: 'visitor' });
      assertPresence(
        await nextEvent(vs, 'user_online', { since: 0, where: (d) => d?.user_id === 'admin' }),
        'admin',
        ADMIN_LABEL,
      );
      const live = nextEvent(vs, 'message_to_visitor');
      const m = await reply(A.socket, tid, 'live again');
      assert.deepEqual(await live, m);
    });
  });
}
