// Reference peer for sohbet-bench: the obvious Node alternative to sohbet,
// socket.io 4 + better-sqlite3 (WAL, synchronous=NORMAL), doing the same work
// per visitor message: validate, one transaction (thread upsert + message
// insert, idempotent on client_id), emit `message_from_visitor` to the
// `admins` room and the thread room, then ack `{success, message}`.
// It serves only the HTTP flow the bench uses: GET / (visitor cookie + CSRF
// meta), POST /admin/login (code logged like sohbet without Telegram) and
// POST /admin/verify-otp (admin cookie). Env: PORT (0 = any), HOST,
// SQLITE_PATH, ADMIN_USERNAME, ADMIN_PASSWORD, SECRET_KEY.

import http from 'node:http';
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';
import { Server } from 'socket.io';

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number(process.env.PORT || 0);
const SECRET = process.env.SECRET_KEY || randomBytes(32).toString('hex');
const ADMIN_USERNAME = process.env.ADMIN_USERNAME || 'admin';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'admin123';

const db = new Database(process.env.SQLITE_PATH || 'node-ref.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.exec(`
  CREATE TABLE IF NOT EXISTS threads (
    id TEXT PRIMARY KEY, display_name TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, thread_id TEXT NOT NULL REFERENCES threads(id),
    sender TEXT NOT NULL, type TEXT NOT NULL, content_text TEXT NOT NULL,
    file_url TEXT, created_at TEXT NOT NULL, client_id TEXT);
  CREATE UNIQUE INDEX IF NOT EXISTS messages_client ON messages(thread_id, client_id);
  CREATE INDEX IF NOT EXISTS messages_thread ON messages(thread_id, id);
`);
const upsertThread = db.prepare(`INSERT INTO threads (id, display_name, created_at, updated_at)
  VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at`);
const insertMessage = db.prepare(`INSERT INTO messages
  (thread_id, sender, type, content_text, file_url, created_at, client_id)
  VALUES (?, 'visitor', 'text', ?, NULL, ?, ?) ON CONFLICT(thread_id, client_id) DO NOTHING
  RETURNING id`);
const byClientId = db.prepare('SELECT id, created_at FROM messages WHERE thread_id = ? AND client_id = ?');
const post = db.transaction((threadId, text, clientId) => {
  const now = new Date().toISOString();
  upsertThread.run(threadId, `Visitor ${threadId.slice(0, 4)}`, now, now);
  const row = insertMessage.get(threadId, text, now, clientId);
  if (row) return { id: row.id, created_at: now };
  return byClientId.get(threadId, clientId);
});

const csrfFor = (vid) => createHmac('sha256', SECRET).update(`csrf:${vid}`).digest('hex');
const sessions = new Set();
const logins = new Map();

function cookies(header = '') {
  const out = {};
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function sameToken(a, b) {
  const x = Buffer.from(String(a || ''));
  const y = Buffer.from(String(b || ''));
  return x.length === y.length && timingSafeEqual(x, y);
}

function readJson(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
    req.on('end', () => { try { resolve(JSON.parse(body)); } catch { resolve(null); } });
  });
}

function send(res, status, body, setCookies = []) {
  const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (setCookies.length) headers['set-cookie'] = setCookies;
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

const httpServer = http.createServer(async (req, res) => {
  const jar = cookies(req.headers.cookie);
  let vid = jar.sohbet_vid;
  const set = [];
  if (!vid) {
    vid = randomUUID();
    set.push(`sohbet_vid=${vid}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000`);
  }
  if (req.method === 'GET' && req.url === '/') {
    const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
    if (set.length) headers['set-cookie'] = set;
    res.writeHead(200, headers);
    res.end(`<!doctype html><html><head><meta name="csrf-token" content="${csrfFor(vid)}"></head><body>chat</body></html>`);
    return;
  }
  if (req.method === 'POST' && !sameToken(req.headers['x-csrftoken'], csrfFor(vid))) {
    send(res, 403, { success: false, error: 'CSRF token missing or invalid', code: 'CSRF_FAILED' });
    return;
  }
  if (req.method === 'POST' && req.url === '/admin/login') {
    const body = await readJson(req);
    if (!body || body.username !== ADMIN_USERNAME || !sameToken(body.password, ADMIN_PASSWORD)) {
      send(res, 401, { success: false, error: 'Invalid credentials', code: 'INVALID_CREDENTIALS' });
      return;
    }
    const loginId = randomBytes(16).toString('hex');
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    logins.set(loginId, code);
    console.error(`OTP for admin login (Telegram not configured): ${code}`);
    send(res, 200, { success: true, message: 'OTP sent to Telegram', otp_sent: true },
      [...set, `sohbet_login=${loginId}; Path=/; HttpOnly; SameSite=Lax; Max-Age=300`]);
    return;
  }
  if (req.method === 'POST' && req.url === '/admin/verify-otp') {
    const body = await readJson(req);
    const code = logins.get(jar.sohbet_login);
    if (!body || !code || !sameToken(body.otp, code)) {
      send(res, 401, { success: false, error: 'Invalid code', code: 'INVALID_OTP' });
      return;
    }
    logins.delete(jar.sohbet_login);
    const token = randomBytes(32).toString('hex');
    sessions.add(token);
    send(res, 200, { success: true, message: 'Login successful' },
      [...set, `sohbet_admin=${token}; Path=/; HttpOnly; SameSite=Lax`]);
    return;
  }
  send(res, 404, { success: false, error: 'Not found', code: 'NOT_FOUND' });
});

const io = new Server(httpServer, { serveClient: false, transports: ['websocket', 'polling'] });
const online = new Map();

io.use((socket, next) => {
  const jar = cookies(socket.handshake.headers.cookie);
  const auth = socket.handshake.auth || {};
  const vid = jar.sohbet_vid;
  if (!vid || !sameToken(auth.csrf_token, csrfFor(vid))) return next(new Error('csrf_error'));
  const isAdmin = sessions.has(jar.sohbet_admin);
  if (auth.role === 'admin' && !isAdmin) return next(new Error('auth_error'));
  socket.data.role = auth.role === 'visitor' || !isAdmin ? 'visitor' : 'admin';
  socket.data.vid = vid;
  next();
});

io.on('connection', (socket) => {
  const { role, vid } = socket.data;
  if (role === 'admin') {
    socket.join('admins');
  } else {
    socket.join([`thread:${vid}`, 'visitors']);
    const n = (online.get(vid) || 0) + 1;
    online.set(vid, n);
    if (n === 1) {
      io.to('admins').emit('user_online', { user_id: vid, username: `Visitor ${vid.slice(0, 4)}`, last_seen: new Date().toISOString() });
    }
    socket.on('disconnect', () => {
      const left = (online.get(vid) || 1) - 1;
      if (left <= 0) online.delete(vid); else online.set(vid, left);
    });
  }
  socket.on('message_from_visitor', (data, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    if (role !== 'visitor') {
      reply({ success: false, error: 'Only visitors send message_from_visitor', code: 'FORBIDDEN' });
      return;
    }
    const text = data && typeof data.text === 'string' ? data.text.trim() : '';
    if (!text || text.length > 4000) {
      reply({ success: false, error: 'text must be 1..4000 characters', code: 'VALIDATION_ERROR' });
      return;
    }
    const clientId = typeof data.client_id === 'string' ? data.client_id.slice(0, 64) : null;
    let stored;
    try {
      stored = post(vid, text, clientId);
    } catch (e) {
      console.error(`insert failed: ${e.message}`);
      reply({ success: false, error: 'server error', code: 'SERVER_ERROR' });
      return;
    }
    const message = {
      id: stored.id, thread_id: vid, content_text: text, content_type: 'text',
      sender_type: 'visitor', file_url: null, created_at: stored.created_at, client_id: clientId,
    };
    io.to(['admins', `thread:${vid}`]).emit('message_from_visitor', message);
    reply({ success: true, message });
  });
});

httpServer.listen(PORT, HOST, () => {
  console.log(`listening on http://${HOST}:${httpServer.address().port}`);
});

function shutdown() {
  io.close();
  httpServer.close(() => {
    db.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
