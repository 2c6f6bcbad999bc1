// Socket.IO helpers around the real `socket.io-client` (the package the
// pages vendor). Every socket records every event it receives from the
// moment it is created (`socket.log`), so a test can wait for an event
// that arrived together with the connect packet without racing it.

import { io } from 'socket.io-client';

const DEFAULT_EVENT_TIMEOUT = 3000;

/**
 * Opens a socket as the browser of `jar` (a Client from http.mjs) would.
 * options: role ('visitor' | 'admin'), csrf (token; default the jar's; pass
 * `null` to omit it), auth (replaces the whole auth object), transports
 * (default ['websocket']), origin (sent as the `Origin` header), headers,
 * settle (default true, see settle()).
 * Resolves once connected; rejects with an Error whose message is the
 * `connect_error` message (e.g. `csrf_error`).
 */
export async function connect(server, jar, options = {}) {
  const socket = await handshake(server, jar, options);
  if (options.settle !== false) await settle(socket, options.role);
  return socket;
}

/**
 * Waits until the server has surely set the socket up. A visitor socket
 * receives `user_online` / `user_offline` for the admin on connect (part of
 * the contract; a missing one fails here). An admin socket gets no such
 * event, so it is given a short moment.
 *
 * Why: the server sends the CONNECT packet before its connect handler has
 * registered the event handlers, so an event emitted right at `connect` can
 * be dropped without an ack. The test "events emitted right at connect are
 * handled" covers that on purpose; the other tests should test their own
 * feature, hence this settle step (`settle: false` skips it).
 */
async function settle(socket, role) {
  if (role === 'admin') {
    await sleep(50);
    return;
  }
  try {
    await nextEvent(socket, ['user_online', 'user_offline'], {
      since: 0,
      timeout: 3000,
      where: (d) => d?.user_id === 'admin',
    });
  } catch {
    const got = socket.log.map((e) => e.name).join(', ') || 'nothing';
    socket.close();
    throw new Error(`a visitor socket got no user_online/user_offline for the admin on connect (received: ${got})`);
  }
}

function handshake(server, jar, options) {
  const socket = open(server, jar, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.close();
      reject(new Error('socket connect timed out'));
    }, options.timeout ?? 5000);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      socket.close();
      const e = new Error(err && err.message ? err.message : String(err));
      e.data = err && err.data;
      reject(e);
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}

/** Expects the handshake to be refused; resolves with the `connect_error` message. */
export async function connectError(server, jar, options = {}) {
  let socket;
  try {
    socket = await handshake(server, jar, options);
  } catch (e) {
    return e.message;
  }
  socket.close();
  throw new Error('the handshake was expected to be refused but it connected');
}

function open(server, jar, options) {
  const {
    role,
    csrf,
    auth,
    transports = ['websocket'],
    origin,
    headers = {},
  } = options;
  const extraHeaders = { ...headers };
  const cookie = jar ? jar.header() : '';
  if (cookie) extraHeaders.cookie = cookie;
  if (origin) extraHeaders.origin = origin;
  let a = auth;
  if (a === undefined) {
    a = {};
    const token = csrf === undefined ? jar?.csrf : csrf;
    if (token !== null && token !== undefined) a.csrf_token = token;
    if (role) a.role = role;
  }
  const socket = io(server.baseUrl, {
    transports,
    extraHeaders,
    auth: a,
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
  /** Every received event: {name, data (first argument), args, at}. */
  socket.log = [];
  socket.waiters = new Set();
  socket.onAny((name, ...args) => {
    socket.log.push({ name, data: args[0], args, at: Date.now() });
    for (const w of [...socket.waiters]) w();
  });
  return socket;
}

/** `socket.timeout(5000).emitWithAck(event, ...args)`: the ack's first argument. */
export function emitAck(socket, event, ...args) {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/**
 * Waits for an event `name` (or one of several names; whose first argument satisfies `where`) that
 * arrives after this call, or — with `since` — at or after that index of
 * `socket.log`. Resolves with the first argument.
 */
export function nextEvent(socket, name, timeoutOrOptions = {}) {
  const opts = typeof timeoutOrOptions === 'number' ? { timeout: timeoutOrOptions } : timeoutOrOptions;
  const { timeout = DEFAULT_EVENT_TIMEOUT, where = () => true, since = socket.log.length } = opts;
  const names = Array.isArray(name) ? name : [name];
  let pos = since;
  return new Promise((resolve, reject) => {
    const check = () => {
      for (; pos < socket.log.length; pos += 1) {
        const e = socket.log[pos];
        if (names.includes(e.name) && where(e.data)) {
          done();
          resolve(e.data);
          return;
        }
      }
    };
    const done = () => {
      clearTimeout(timer);
      socket.waiters.delete(check);
    };
    const timer = setTimeout(() => {
      done();
      const seen = socket.log.slice(since).map((e) => e.name).join(', ') || 'nothing';
      reject(new Error(`no "${name}" event within ${timeout} ms (received: ${seen})`));
    }, timeout);
    socket.waiters.add(check);
    check();
  });
}

/**
 * Asserts that no event `name` (matching `where`) arrives within `ms`
 * (counting from `since`, default now).
 */
export async function noEvent(socket, name, ms = 400, { where = () => true, since = socket.log.length } = {}) {
  await sleep(ms);
  const hits = socket.log.slice(since).filter((e) => e.name === name && where(e.data));
  if (hits.length) {
    throw new Error(`unexpected "${name}" event(s): ${JSON.stringify(hits.map((e) => e.data))}`);
  }
}

/** Events `name` received at or after index `since`. */
export function eventsOf(socket, name, since = 0) {
  return socket.log.slice(since).filter((e) => e.name === name).map((e) => e.data);
}

/** Resolves with the reason of the socket's next disconnect, or rejects after `ms`. */
export function disconnected(socket, ms) {
  return new Promise((resolve, reject) => {
    if (!socket.connected) {
      resolve('already disconnected');
      return;
    }
    const timer = setTimeout(() => reject(new Error(`still connected after ${ms} ms`)), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Tracks the sockets a test opens and closes them when the test ends
 * (`t.after`), so presence counts do not leak from one test into the next.
 */
export function socketScope(t, server) {
  const open = new Set();
  t.after(async () => {
    const list = [...open];
    for (const s of list) s.close();
    // Give the server a moment to process the close packets.
    if (list.length) await sleep(100);
  });
  return {
    async connect(jar, options) {
      const s = await connect(server, jar, options);
      open.add(s);
      return s;
    },
    /** Closes one socket now. */
    close(s) {
      s.close();
      open.delete(s);
    },
  };
}
