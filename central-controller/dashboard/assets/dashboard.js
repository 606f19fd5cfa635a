// promshard dashboard: live updates without reloading the page, relative times, copy buttons.
// Served as a file (the Content-Security-Policy allows no inline script). Everything that comes from
// the server as data is written with textContent; whole-page fragments come from the server's own
// renderer, which escapes every value, and are parsed inertly (DOMParser) before being swapped in.
'use strict';
(function () {
  var live = document.getElementById('live');
  var statusEl = document.getElementById('live-status');
  var timelineEl = document.getElementById('timeline');
  if (!live) return;

  // ------------------------------------------------------------------ relative times
  function human(s) {
    if (!isFinite(s) || s < 0) s = 0;
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 90) return (Math.round(s * 10) / 10).toString().replace(/\.0$/, '') + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 129600) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('time[data-ago]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime') || '');
      if (!isNaN(t)) el.textContent = human(Math.max(0, (now - t) / 1000)) + ' ago';
    });
    document.querySelectorAll('[data-since]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('data-since') || '');
      if (!isNaN(t)) el.textContent = human(Math.max(0, (now - t) / 1000));
    });
  }
  setInterval(tick, 1000);

  // ------------------------------------------------------------------ copy buttons
  document.addEventListener('click', function (ev) {
    var target = ev.target;
    var button = target && target.closest ? target.closest('button.copy') : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute('data-copy-target') || '');
    if (!source) return;
    var text = source.textContent || '';
    var done = function (ok) {
      button.textContent = ok ? 'Copied' : 'Select and copy';
      button.classList.toggle('copied', ok);
      setTimeout(function () {
        button.textContent = 'Copy';
        button.classList.remove('copied');
      }, 1500);
    };
    var fallback = function () {
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try {
        ok = document.execCommand('copy');
      } catch (e) {
        ok = false;
      }
      done(ok);
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    else fallback();
  });

  // ------------------------------------------------------------------ timeline
  var lastEventId = timelineEl ? Number(timelineEl.getAttribute('data-last-id')) || 0 : 0;
  var TONES = { 'rollout-done': 'ok', 'repository-valid': 'ok', 'wave-done': 'ok', 'agent-reachable': 'ok', 'rollout-failed': 'bad', 'repository-invalid': 'bad', 'sync-failed': 'bad', 'wave-halted': 'bad', 'agent-unreachable': 'warn' };
  function toneOf(e) {
    if (e.type === 'push') return e.result === 'applied' || e.result === 'unchanged' ? 'ok' : e.result === 'superseded' ? 'muted' : 'bad';
    return TONES[e.type] || 'info';
  }
  function addEvent(e) {
    if (!timelineEl || typeof e !== 'object' || e === null || typeof e.id !== 'number') return;
    if (e.id <= lastEventId) return;
    lastEventId = e.id;
    var tone = toneOf(e);
    var li = document.createElement('li');
    li.className = 'ev ' + tone + ' fresh';
    li.setAttribute('data-id', String(e.id));
    var time = document.createElement('time');
    time.setAttribute('datetime', String(e.at));
    time.setAttribute('data-ago', '');
    time.textContent = 'just now';
    var type = document.createElement('span');
    type.className = 'badge ' + tone;
    type.textContent = String(e.type);
    var msg = document.createElement('span');
    msg.className = 'msg';
    msg.textContent = String(e.message);
    li.append(time, ' ', type, ' ', msg);
    timelineEl.prepend(li);
    while (timelineEl.children.length > 60) timelineEl.lastElementChild.remove();
    timelineEl.setAttribute('data-last-id', String(lastEventId));
  }

  // ------------------------------------------------------------------ page refresh (no navigation)
  var refreshing = false;
  var again = false;
  var scheduled = null;
  function selectionInside() {
    var sel = window.getSelection();
    return sel && !sel.isCollapsed && sel.anchorNode && live.contains(sel.anchorNode);
  }
  function schedule(delay) {
    if (scheduled) return;
    scheduled = setTimeout(function () {
      scheduled = null;
      refresh();
    }, delay === undefined ? 100 : delay);
  }
  function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    if (selectionInside()) return schedule(2000); // do not pull text from under a reader's selection
    refreshing = true;
    fetch(location.pathname + location.search, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'text/html' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var fresh = doc.getElementById('live');
        if (!fresh) return;
        fresh.querySelectorAll('script').forEach(function (s) { s.remove(); });
        var open = {};
        live.querySelectorAll('details').forEach(function (d) {
          open[(d.querySelector('summary') || d).textContent] = d.open;
        });
        fresh.querySelectorAll('details').forEach(function (d) {
          var key = (d.querySelector('summary') || d).textContent;
          if (key in open) d.open = open[key];
        });
        live.replaceChildren.apply(live, Array.prototype.map.call(fresh.childNodes, function (n) { return document.importNode(n, true); }));
        var freshTimeline = doc.getElementById('timeline');
        if (freshTimeline && timelineEl) {
          Array.prototype.slice.call(freshTimeline.querySelectorAll('li[data-id]')).reverse().forEach(function (li) {
            var id = Number(li.getAttribute('data-id'));
            if (id > lastEventId) {
              lastEventId = id;
              timelineEl.prepend(document.importNode(li, true));
            }
          });
        }
        if (doc.title) document.title = doc.title;
        document.body.setAttribute('data-refreshed', new Date().toISOString());
        tick();
      })
      .catch(function () {
        setStatus('offline', 'bad');
      })
      .then(function () {
        refreshing = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  // ------------------------------------------------------------------ live feed (SSE), polling as fallback
  function setStatus(text, tone) {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = 'live-status ' + (tone || '');
  }
  var connected = false;
  var pollTimer = null;
  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () { refresh(); }, 3000);
  }
  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }
  if (window.EventSource) {
    var es = new EventSource('/dashboard/events?since=' + lastEventId);
    es.addEventListener('hello', function () {
      var wasConnected = connected;
      connected = true;
      setStatus('live', 'ok');
      stopPolling();
      if (wasConnected === false) schedule(); // catch up on what changed while disconnected
    });
    es.addEventListener('timeline', function (m) {
      try {
        addEvent(JSON.parse(m.data));
      } catch (e) {
        /* ignore a malformed event */
      }
    });
    es.addEventListener('change', function () { schedule(); });
    es.onerror = function () {
      connected = false;
      setStatus('reconnecting', 'warn');
      startPolling();
    };
  } else {
    setStatus('polling', 'warn');
    startPolling();
  }
  // A slow full refresh keeps "measured"/"last contact" columns honest even when nothing fires.
  setInterval(function () { if (connected) refresh(); }, 15000);
})();
