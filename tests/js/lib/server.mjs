// Starts the built `sohbet` binary on a free port with a fresh database
// (SQLite in a temporary folder, or a new Postgres database) and stops it
// with SIGTERM, asserting a clean exit (graceful shutdown is part of the
// contract). The server's log is collected line by line: the test reads the
// admin login code from it, and it is printed when something goes wrong.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// SOHBET_BIN points the tests at another build (e.g. a separate CARGO_TARGET_DIR).
export const BINARY = process.env.SOHBET_BIN
  ? path.resolve(process.env.SOHBET_BIN)
  : path.join(REPO_ROOT, 'target', 'debug', 'sohbet');

export const ADMIN_USERNAME = 'admin';
export const ADMIN_PASSWORD = 'admin123';

// Postgres used by the repository's tests (scripts/test): a superuser `postgres`
// without password on 127.0.0.1:5432 and a maintenance database `test`.
const PG_HOST = process.env.SOHBET_TEST_PG_HOST || '127.0.0.1';
const PG_PORT = process.env.SOHBET_TEST_PG_PORT || '5432';
const PG_USER = process.env.SOHBET_TEST_PG_USER || 'postgres';
const PG_ADMIN_DB = process.env.SOHBET_TEST_PG_DB || 'test';

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

const LISTEN_RE = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
const OTP_RE = /OTP for admin login \(Telegram not configured\): (\d{6})\b/;
// Strips ANSI colour codes, should the binary ever colour a non-TTY.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*m/g;

/** Servers still running, killed if the test process exits early. */
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

async function psql(sql) {
  const args = ['-h', PG_HOST, '-p', PG_PORT, '-U', PG_USER, '-d', PG_ADMIN_DB,
    '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-c', sql];
  try {
    await execFileP('psql', args, { env: { ...process.env, PGCONNECT_TIMEOUT: '5' }, timeout: 20_000 });
  } catch (e) {
    throw new Error(`psql ${JSON.stringify(sql)} failed: ${e.stderr || e.message}`);
  }
}

/**
 * Starts a server.
 * `sharedDb`: the `dbName` of a running Postgres server whose database this
 * one uses too (a second instance); it is neither created nor dropped here.
 * @param {{db?: 'sqlite'|'postgres', env?: Record<string,string>, sharedDb?: string}} options
 * @returns {Promise<Server>}
 */
export async function startServer({ db = 'sqlite', env = {}, sharedDb = null } = {}) {
  if (!existsSync(BINARY)) {
    throw new Error(`${BINARY} is missing: run \`cargo build --bins\` in ${REPO_ROOT} first`);
  }
  const tmp = await mkdtemp(path.join(tmpdir(), 'sohbet-js-'));
  let dbName = null;
  const serverEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || tmp,
    HOST: '127.0.0.1',
    PORT: '0',
    RUST_LOG: 'info,tower_http=warn',
    APP_ENV: 'development',
    SQLITE_PATH: path.join(tmp, 'chat.db'),
    UPLOAD_DIR: path.join(tmp, 'uploads'),
    STATIC_DIR: path.join(REPO_ROOT, 'static'),
    // Explicitly empty so that a developer's `.env` in the repository root
    // (read by the binary, never overriding the real environment) cannot
    // point the tests at another database or at a real Telegram bot.
    DATABASE_URL: '',
    TELEGRAM_BOT_TOKEN: '',
    TELEGRAM_CHAT_ID: '',
    TELEGRAM_WEBHOOK_URL: '',
    CLOUDINARY_URL: '',
    CLOUDINARY_CLOUD_NAME: '',
    CLOUDINARY_API_KEY: '',
    CLOUDINARY_API_SECRET: '',
    REDIS_URL: '',
    ALLOWED_ORIGINS: '',
    TRUST_PROXY: 'false',
    TRUSTED_PROXIES: '',
    LOG_FORMAT: '',
    METRICS_TOKEN: '',
    METRICS_ADDR: '',
    ADMIN_USERNAME: ADMIN_USERNAME,
    ADMIN_PASSWORD: ADMIN_PASSWORD,
    SECRET_KEY: randomBytes(48).toString('hex'),
    // Contract tests send fast from one address; rate-limit tests set their own.
    RATE_LIMIT_MESSAGES_PER_MINUTE: '100000',
    RATE_LIMIT_MESSAGES_PER_IP_PER_MINUTE: '100000',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '100000',
    RATE_LIMIT_UPLOADS_PER_IP_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_IP_PER_MINUTE: '100000',
    RATE_LIMIT_EVENTS_PER_IP_PER_MINUTE: '100000',
    MAX_SOCKETS_PER_IP: '1000',
    SOCKET_HANDSHAKES_PER_IP_PER_MINUTE: '100000',
    MAX_PENDING_SOCKETS_PER_IP: '1000',
    MAX_CONNECTIONS_PER_IP: '100000',
    LOGIN_FREE_FAILURES_PER_IP: '100000',
  };
  if (db === 'postgres' && sharedDb) {
    serverEnv.DATABASE_URL = `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${sharedDb}`;
  } else if (db === 'postgres') {
    dbName = `sohbet_js_${randomBytes(6).toString('hex')}`;
    await psql(`CREATE DATABASE ${dbName}`);
    serverEnv.DATABASE_URL = `postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${dbName}`;
  } else if (db !== 'sqlite') {
    throw new Error(`unknown db ${db}`);
  }
  Object.assign(serverEnv, env);

  const child = spawn(BINARY, [], {
    cwd: REPO_ROOT,
    env: serverEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  /** Every log line (stdout and stderr), in arrival order. */
  const lines = [];
  const lineWaiters = new Set();
  const onLine = (line) => {
    const clean = line.replace(ANSI_RE, '');
    lines.push(clean);
    for (const w of [...lineWaiters]) w();
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (buf) onLine(buf);
      buf = '';
    });
  }

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      for (const w of [...lineWaiters]) w();
      resolve(exitInfo);
    });
  });

  const logs = () => lines.join('\n');

  /** Resolves with the first match of `re` in a line at index >= from. */
  function waitForLine(re, { from = 0, timeout = 5000, what = String(re) } = {}) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const check = () => {
        for (let i = lines.length - 1; i >= from; i -= 1) {
          const m = re.exec(lines[i]);
          if (m) {
            done();
            resolve({ match: m, index: i });
            return;
          }
        }
        if (exitInfo) {
          done();
          reject(new Error(`server exited (${JSON.stringify(exitInfo)}) before logging ${what}\n--- server log ---\n${logs()}`));
        }
      };
      const done = () => {
        clearTimeout(timer);
        lineWaiters.delete(check);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} in the server log within ${timeout} ms\n--- server log ---\n${logs()}`));
      }, timeout);
      lineWaiters.add(check);
      check();
    });
  }

  const cleanup = async () => {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    if (dbName) await psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  };

  let port;
  try {
    const { match } = await waitForLine(LISTEN_RE, { timeout: START_TIMEOUT_MS, what: '"listening on http://127.0.0.1:<port>"' });
    port = Number(match[1]);
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw e;
  }

  const baseUrl = `http://127.0.0.1:${port}`;
  let stopped = false;

  return {
    db,
    dbName,
    port,
    baseUrl,
    origin: baseUrl,
    tmp,
    lines,
    logs,
    /** Index of the next log line (pass to waitForOtp to skip older codes). */
    logIndex: () => lines.length,
    /** The newest admin login code logged at or after line `afterIndex`. */
    async waitForOtp(afterIndex = 0, timeout = 5000) {
      const { match } = await waitForLine(OTP_RE, { from: afterIndex, timeout, what: 'admin OTP line' });
      return match[1];
    },
    waitForLine,
    /** Has the process exited (crash)? */
    exitInfo: () => exitInfo,
    /**
     * SIGTERM, then waits for the exit; throws unless the exit code is 0
     * within 10 s. Always removes the temporary folder and database.
     */
    async stop() {
      if (stopped) return;
      stopped = true;
      let failure = null;
      if (exitInfo) {
        failure = new Error(`server had already exited (${JSON.stringify(exitInfo)})\n--- server log ---\n${logs()}`);
      } else {
        child.kill('SIGTERM');
        let timer;
        const timedOut = new Promise((resolve) => {
          timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
        });
        const info = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (!info) {
          child.kill('SIGKILL');
          await exited;
          failure = new Error(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n--- server log (tail) ---\n${lines.slice(-40).join('\n')}`);
        } else if (info.code !== 0) {
          failure = new Error(`server exited with ${JSON.stringify(info)} after SIGTERM, expected code 0\n--- server log (tail) ---\n${lines.slice(-40).join('\n')}`);
        }
      }
      await cleanup();
      if (process.env.SOHBET_TEST_LOG) process.stderr.write(`--- server log (${db}) ---\n${logs()}\n`);
      if (failure) throw failure;
    },
  };
}

/** The Redis of the repository's tests (SOHBET_TEST_REDIS_URL overrides). */
export const TEST_REDIS_URL = process.env.SOHBET_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/**
 * Two instances behind the Redis adapter (their own channel prefix) that
 * share one new Postgres database and SECRET_KEY, so a cookie of one works
 * on the other. Stop B first: A drops the shared database when it stops.
 * @returns {Promise<[Server, Server]>} A and B
 */
export async function startRedisPair() {
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: `sohbet-test-${randomBytes(6).toString('hex')}`,
    SECRET_KEY: randomBytes(48).toString('hex'),
  };
  const a = await startServer({ db: 'postgres', env });
  try {
    return [a, await startServer({ db: 'postgres', env, sharedDb: a.dbName })];
  } catch (e) {
    await a.stop().catch(() => {});
    throw e;
  }
}
