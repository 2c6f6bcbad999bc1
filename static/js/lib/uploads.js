// sohbet: uploads (`POST /api/upload/{image,audio}`) over XMLHttpRequest
// with progress and abort. Loaded by the sender when a file is first sent
// (`import()`), not with the page: most visitors never send one.
import { authHeaders, ApiError, errorText } from './api.js';
import { S, fill, lang } from './config.js';
import { safeUrl } from './dom.js';

// -------------------------------------------------------------- uploads ---

/**
 * An upload that made no progress for this long is given up (above the
 * server's own 60 s wait for Cloudinary, so its 502 arrives first).
 */
const UPLOAD_STALL_MS = 90000;

/** A localised text for a failed upload (ApiError) of `kind` ('image' | 'audio'). */
export function uploadErrorText(e, kind) {
  let code = String((e && e.code) || '').toUpperCase();
  if (code.startsWith('HTTP_')) {
    code = {
      408: 'REQUEST_TIMEOUT', 413: 'FILE_TOO_LARGE', 415: 'UNSUPPORTED_TYPE', 429: 'RATE_LIMITED',
      502: 'UPSTREAM_ERROR', 503: 'SERVER_BUSY', 504: 'UPSTREAM_ERROR', 507: 'INSUFFICIENT_STORAGE',
    }[e.status] || code;
  }
  if (code === 'RATE_LIMITED') {
    return e.retryAfter ? fill(S.errUploadRateLimited, { n: e.retryAfter }) : S.errRateLimited;
  }
  if (code === 'VALIDATION_ERROR' && kind === 'image') return S.errImageDimensions;
  if (code === 'VALIDATION_ERROR' || code === 'BAD_REQUEST') {
    return lang === 'en' && e.message ? e.message : S.errGeneric;
  }
  return errorText(code, e && e.message);
}

/**
 * Uploads `blob` as multipart field `file` to `POST /api/upload/{kind}`
 * (kind: 'image' | 'audio') with the CSRF header. onProgress(fraction)
 * gets 0..1 while the bytes go out and null while the server works (or
 * when the size is unknown). Returns {promise, abort}: the promise gives
 * the answer `{success, file_path, file_url, message}` or rejects with an
 * ApiError (status 0 + NETWORK / TIMEOUT when the server was not reached)
 * or, after abort(), with an Error whose `aborted` is true.
 */
export function uploadFile(kind, blob, name, { onProgress } = {}) {
  const xhr = new XMLHttpRequest();
  let stallTimer = null;
  let timedOut = false;
  let settled = false;
  const promise = new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(stallTimer);
      if (settled) return;
      settled = true;
      fn(v);
    };
    const watch = () => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => {
        timedOut = true;
        xhr.abort();
      }, UPLOAD_STALL_MS);
    };
    const progress = (f) => {
      if (onProgress && !settled) onProgress(f);
    };
    xhr.open('POST', `/api/upload/${kind === 'audio' ? 'audio' : 'image'}`);
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      watch();
      progress(e.lengthComputable && e.total > 0 ? Math.min(1, e.loaded / e.total) : null);
    };
    xhr.upload.onload = () => {
      watch();
      progress(null);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      const ok = xhr.status >= 200 && xhr.status < 300 && data && data.success !== false;
      if (ok && safeUrl(data.file_url)) {
        done(resolve, data);
        return;
      }
      const retry = Number(xhr.getResponseHeader('Retry-After')) || null;
      done(reject, new ApiError(xhr.status, (data && data.code) || `HTTP_${xhr.status}`,
        (data && data.error) || S.errGeneric, retry));
    };
    xhr.onerror = () => done(reject, new ApiError(0, 'NETWORK', S.errNetwork, null));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      if (timedOut) {
        done(reject, new ApiError(0, 'TIMEOUT', S.errNetwork, null));
      } else {
        const e = new Error('aborted');
        e.aborted = true;
        done(reject, e);
      }
    };
    const form = new FormData();
    form.append('file', blob, name || (kind === 'audio' ? 'audio' : 'image'));
    watch();
    xhr.send(form);
  });
  return {
    promise,
    abort() {
      if (!settled) xhr.abort();
    },
  };
}
