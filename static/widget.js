/*! sohbet widget loader. Install it with one script tag: src = https://<your sohbet host>/widget.js, defer (README, "Embedding").
 * Optional attributes: data-position="right|left", data-color="#4f46e5",
 * data-lang="tr|en", data-greeting="Hi! Questions?", data-open="true".
 * Host page API: sohbet('open'), sohbet('close'), sohbet('toggle'),
 * sohbet('identify', {name, email, user_id, user_hash}),
 * sohbet('on', 'message' | 'open' | 'close' | 'unread', fn).
 * Draws a launcher; the chat (an iframe of /embed) loads on first open only. */
(function () {
  'use strict';
  if (window.__sohbetLoaded) return;
  window.__sohbetLoaded = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!script) return;
  var base = new URL(script.src, location.href).origin;
  var ds = script.dataset;
  var left = ds.position === 'left';
  var color = /^#[0-9a-f]{3,8}$/i.test(ds.color || '') ? ds.color : '#4f46e5';
  var lang = ds.lang === 'tr' || ds.lang === 'en' ? ds.lang : '';
  var tr = (lang || navigator.language || '').slice(0, 2).toLowerCase() === 'tr';
  var KEY = 'sohbet_widget_started';
  // The visitor token, kept here too: the chat's own storage is denied
  // where third-party cookies are blocked (Chromium).
  var TKEY = 'sohbet_visitor_token';
  var PKEY = 'sohbet_prechat_done';
  var TOKEN = /^sv1\.[0-9a-f-]{36}\.[0-9a-f]{64}$/;

  var iframe = null;
  var ready = false;
  var isOpen = false;
  var unread = 0;
  var identity = null;
  var handlers = { message: [], open: [], close: [], unread: [] };

  function emit(name, arg) {
    handlers[name].forEach(function (fn) {
      try { fn(arg); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }

  function read(k) {
    try { return localStorage.getItem(k); } catch (e) { return null; }
  }
  function write(k, v) {
    try { localStorage.setItem(k, v); } catch (e) { /* storage off: a new conversation per page */ }
  }

  // ---------------------------------------------------------------- DOM ---
  var host = document.createElement('div');
  host.id = 'sohbet-widget';
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var side = left ? 'left' : 'right';
  root.innerHTML =
    '<style>' +
    ':host{all:initial}' +
    '.l{position:fixed;bottom:20px;' + side + ':20px;z-index:2147483000;width:60px;height:60px;border:0;border-radius:50%;' +
    'background:' + color + ';color:#fff;cursor:pointer;box-shadow:0 6px 24px rgba(0,0,0,.25);display:grid;place-items:center;padding:0}' +
    '.l:focus-visible{outline:3px solid ' + color + ';outline-offset:3px}' +
    '.l svg{width:28px;height:28px}' +
    '.b{position:absolute;top:-4px;' + (left ? 'left' : 'right') + ':-4px;min-width:20px;height:20px;padding:0 6px;box-sizing:border-box;border-radius:10px;' +
    'background:#e11d48;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center}' +
    '.g{position:fixed;bottom:32px;' + side + ':92px;z-index:2147483000;max-width:240px;padding:10px 14px;border-radius:14px;background:#fff;color:#111;' +
    'font:14px/1.4 system-ui,sans-serif;box-shadow:0 6px 24px rgba(0,0,0,.18);cursor:pointer}' +
    '.p{position:fixed;bottom:92px;' + side + ':20px;z-index:2147483001;width:380px;height:600px;max-height:calc(100vh - 112px);' +
    'border-radius:16px;overflow:hidden;box-shadow:0 12px 48px rgba(0,0,0,.3);background:#fff}' +
    '.p iframe{width:100%;height:100%;border:0;display:block}' +
    '[hidden]{display:none!important}' +
    '@media (max-width:480px){.p{inset:0;width:100%;height:100%;max-height:none;border-radius:0}}' +
    '</style>' +
    '<div class="g" part="greeting" hidden></div>' +
    '<div class="p" part="panel" hidden></div>' +
    '<button class="l" part="launcher" type="button" aria-expanded="false">' +
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 3C6.9 3 3 6.6 3 11c0 2.3 1.1 4.4 2.9 5.8-.1 1.3-.6 2.6-1.6 3.6 2 .1 3.8-.6 5-1.6.9.2 1.8.3 2.7.3 5.1 0 9-3.6 9-8.1S17.1 3 12 3Z"/></svg>' +
    '<span class="b" part="badge" hidden>0</span></button>';
  var launcher = root.querySelector('.l');
  var badge = root.querySelector('.b');
  var panel = root.querySelector('.p');
  var greeting = root.querySelector('.g');
  var label = tr ? ['Canlı desteği aç', 'Canlı desteği kapat', 'Canlı destek'] : ['Open live chat', 'Close live chat', 'Live chat'];
  launcher.setAttribute('aria-label', label[0]);

  function setBadge(n) {
    unread = n;
    badge.textContent = n > 99 ? '99+' : String(n);
    badge.hidden = n <= 0;
    launcher.setAttribute('aria-label', label[isOpen ? 1 : 0] + (n > 0 ? ' (' + n + ')' : ''));
  }

  // ------------------------------------------------------------ messages ---
  function post(msg) {
    if (iframe && ready) {
      msg.sohbet = 1;
      iframe.contentWindow.postMessage(msg, base);
    }
  }

  // The page's URL without what must stay on the page (issue 20): no
  // fragment (OAuth #access_token), secret-looking query values masked.
  // The server does the same (docs/security.md).
  var SECRET = /token|code|key|secret|pass|pwd|sig|auth|session|jwt|otp|ticket|credential|nonce|saml|hash/i;
  function clean(u) {
    var s = String(u || '').split('#')[0];
    var i = s.indexOf('?');
    if (i < 0) return s;
    return s.slice(0, i + 1) + s.slice(i + 1).split('&').map(function (p) {
      var n = p.split('=')[0];
      var d = n;
      try { d = decodeURIComponent(n); } catch (e) { /* keep it raw */ }
      return p !== n && SECRET.test(d) ? n + '=***' : p;
    }).join('&');
  }

  function pageInfo() {
    return {
      type: 'page',
      url: clean(location.href).slice(0, 2048),
      title: String(document.title || '').slice(0, 300),
      referrer: clean(document.referrer).slice(0, 2048),
    };
  }

  function load() {
    if (iframe) return;
    write(KEY, '1');
    var t = read(TKEY);
    iframe = document.createElement('iframe');
    iframe.title = label[2];
    iframe.setAttribute('allow', 'microphone; clipboard-write');
    iframe.src = base + '/embed?origin=' + encodeURIComponent(location.origin) + (lang ? '&lang=' + lang : '') +
      (t && TOKEN.test(t) ? '#t=' + encodeURIComponent(t) + (read(PKEY) ? '&p=1' : '') : '');
    panel.appendChild(iframe);
  }

  window.addEventListener('message', function (e) {
    if (!iframe || e.origin !== base || e.source !== iframe.contentWindow) return;
    var d = e.data;
    if (!d || d.sohbet !== 1) return;
    if ((d.type === 'ready' || d.type === 'token') && TOKEN.test(d.token || '')) write(TKEY, d.token);
    if (d.type === 'ready') {
      ready = true;
      post(pageInfo());
      if (identity) post({ type: 'identify', data: identity });
      post({ type: isOpen ? 'open' : 'close' });
    } else if (d.type === 'unread') {
      var n = Math.max(0, Math.min(9999, Number(d.count) || 0));
      setBadge(isOpen ? 0 : n);
      emit('unread', unread);
    } else if (d.type === 'prechat') {
      write(PKEY, '1');
    } else if (d.type === 'close') {
      close();
    } else if (d.type === 'message' && d.message) {
      emit('message', {
        id: d.message.id,
        sender_type: d.message.sender_type,
        content_type: d.message.content_type,
        created_at: d.message.created_at,
      });
    }
  });

  // --------------------------------------------------------- open/close ---
  function open() {
    load();
    if (isOpen) return;
    isOpen = true;
    panel.hidden = false;
    greeting.hidden = true;
    launcher.setAttribute('aria-expanded', 'true');
    setBadge(0);
    post({ type: 'open' });
    emit('open');
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    setBadge(unread);
    post({ type: 'close' });
    launcher.focus();
    emit('close');
  }

  launcher.addEventListener('click', function () {
    if (isOpen) close(); else open();
  });
  greeting.addEventListener('click', open);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && isOpen) close();
  });

  // Single-page sites: report navigation.
  function navigated() { setTimeout(function () { post(pageInfo()); }, 0); }
  ['pushState', 'replaceState'].forEach(function (k) {
    var orig = history[k];
    if (typeof orig !== 'function') return;
    history[k] = function () {
      var r = orig.apply(this, arguments);
      navigated();
      return r;
    };
  });
  window.addEventListener('popstate', navigated);
  window.addEventListener('hashchange', navigated);

  // ---------------------------------------------------------------- API ---
  function api(cmd, arg, fn) {
    if (cmd === 'open') open();
    else if (cmd === 'close') close();
    else if (cmd === 'toggle') { if (isOpen) close(); else open(); }
    else if (cmd === 'identify' && arg && typeof arg === 'object') {
      identity = {};
      ['name', 'email', 'user_id', 'user_hash'].forEach(function (k) {
        if (arg[k] !== undefined && arg[k] !== null) identity[k] = String(arg[k]).slice(0, 300);
      });
      post({ type: 'identify', data: identity });
    } else if (cmd === 'on' && handlers[arg] && typeof fn === 'function') handlers[arg].push(fn);
  }
  var queued = window.sohbet && window.sohbet.q;
  window.sohbet = function () { api.apply(null, arguments); };

  function start() {
    document.body.appendChild(host);
    if (queued) for (var i = 0; i < queued.length; i += 1) api.apply(null, queued[i]);
    if (ds.greeting && !isOpen) {
      greeting.textContent = ds.greeting;
      greeting.hidden = false;
    }
    // A continue link from an email (issue 26: /c/<token> redirects here
    // with the conversation's visitor token): adopt it and open the chat.
    var cont = /[#&]sohbet_continue=([^&]+)/.exec(location.hash);
    if (cont && TOKEN.test(decodeURIComponent(cont[1]))) {
      write(TKEY, decodeURIComponent(cont[1]));
      write(PKEY, '1');
      history.replaceState(null, '', location.pathname + location.search);
      open();
    } else if (ds.open === 'true') open();
    // A visitor who chatted before: load the chat hidden, so that replies
    // count on the badge.
    else if (read(KEY) === '1') load();
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
