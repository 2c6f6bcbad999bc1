// A tiny HTTP client with a cookie jar, one per simulated browser: it keeps
// the cookies the server sets (`sohbet_vid`, `sohbet_login`, `sohbet_admin`),
// sends them back, and adds the CSRF header to state-changing requests.

import { ADMIN_PASSWORD, ADMIN_USERNAME } from './server.mjs';

/** RFC 3339 UTC with `Z`, as the contract requires for every time. */
export const RFC3339_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export class Client {
  /** @param {{baseUrl: string}} server */
  constructor(server) {
    this.server = server;
    this.baseUrl = server.baseUrl;
    /** name -> value */
    this.cookies = new Map();
    this.csrf = null;
    this.threadId = null;
    this.displayName = null;
    this.role = null;
  }

  /** The `cookie` request header value ('' when empty). */
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Stores the `set-cookie` headers of a response. */
  store(res) {
    const list = typeof res.headers.getSetCookie === 'function'
      ? res.headers.getSetCookie()
      : (res.headers.get('set-cookie') ? [res.headers.get('set-cookie')] : []);
    for (const sc of list) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /**
   * One request. Returns {status, headers, body (parsed JSON or null), text}.
   * options: body (JSON-encoded unless a string), headers, csrf (override;
   * `false` omits the header), redirect.
   */
  async request(method, path, { body, headers = {}, csrf, redirect = 'manual' } = {}) {
    const h = { accept: 'application/json', ...headers };
    const cookie = this.header();
    if (cookie) h.cookie = cookie;
    let payload;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const token = csrf === undefined ? this.csrf : csrf;
      if (token !== false && token !== null && token !== undefined) h['X-CSRFToken'] = token;
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload, redirect });
    this.store(res);
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, body: json, text };
  }

  get(path, options) {
    return this.request('GET', path, options);
  }

  post(path, body, options = {}) {
    return this.request('POST', path, { ...options, body });
  }

  /** GET /api/session: stores csrf token, thread id, display name, role. */
  async session() {
    const r = await this.get('/api/session');
    if (r.status !== 200 || !r.body || r.body.success !== true) {
      throw new Error(`GET /api/session → ${r.status} ${r.text}`);
    }
    this.csrf = r.body.csrf_token;
    this.threadId = r.body.thread_id;
    this.displayName = r.body.display_name;
    this.role = r.body.role;
    return r.body;
  }

  /** GET /api/messages/<thread> → the messages array (asserts 200). */
  async messages(threadId = this.threadId, query = '') {
    const r = await this.get(`/api/messages/${encodeURIComponent(threadId)}${query ? `?${query}` : ''}`);
    if (r.status !== 200 || !r.body || r.body.success !== true || !Array.isArray(r.body.messages)) {
      throw new Error(`GET /api/messages/${threadId}?${query} → ${r.status} ${r.text}`);
    }
    return r.body.messages;
  }
}

/** A new browser (cookie jar) with its visitor cookie and CSRF token. */
export async function newClient(server) {
  const c = new Client(server);
  await c.session();
  return c;
}

/**
 * Logs `username` in the way the login page does: POST /admin/login, reads
 * the code from the server log, POST /admin/verify-otp, GET /api/session.
 * Returns the client (with the session cookie); throws on any refusal.
 */
export async function loginAs(server, username, password, client = null) {
  const c = client || (await newClient(server));
  if (!c.csrf) await c.session();
  const mark = server.logIndex();
  const login = await c.post('/admin/login', { username, password });
  if (login.status !== 200 || !login.body || login.body.success !== true) {
    throw new Error(`POST /admin/login → ${login.status} ${login.text}`);
  }
  const otp = await server.waitForOtp(mark);
  const verify = await c.post('/admin/verify-otp', { otp });
  if (verify.status !== 200 || !verify.body || verify.body.success !== true) {
    throw new Error(`POST /admin/verify-otp → ${verify.status} ${verify.text}`);
  }
  await c.session();
  return c;
}

/** {@link loginAs} the admin of the server's env; checks the session's role is `admin`. */
export async function loginAdmin(server, client = null) {
  const c = await loginAs(server, ADMIN_USERNAME, ADMIN_PASSWORD, client);
  if (c.role !== 'admin') throw new Error(`after login /api/session says role ${c.role}`);
  return c;
}
