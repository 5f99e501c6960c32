/* The TV board in a browser (issue #4): the pygame board's twin, docs/display.md.
 *
 * 1. A reducer over the hub's `state`, `call`, `queue` and `counter` events, by seq, as display/state.py:
 *    seq <= shown is ignored; shown + 1 is applied; a gap holds the event back and reads GET /api/v1/state,
 *    then replays the held events newer than that snapshot; every reconnect reads the snapshot too.
 * 2. Rendering into board.html's boxes (every text shrinks to fit, then is cut with …).
 * 3. Speech: one queue, one call at a time, in order, never overlapping. The clip list of a call comes
 *    from the hub (/board/speech: display.announcer.sequence), the clips from /board/clips/NAME.wav,
 *    played back to back with the Web Audio API. window.jiaohaoSpoken logs what was started and ended.
 */
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("board-config").textContent);
  var TOKEN = CONFIG.token;
  var RECENT_CALLS = 10, RECENT_SHOWN = 5;
  var MISSED_CALL_MAX_AGE_MS = 60000;
  var FLASH_MS = 6000, INTERRUPT_MS = 15000, OFFLINE_BANNER_MS = 10000;
  var MARQUEE_SPEED = 0.11;  // screen widths per second
  var WEEKDAYS_ZH = "一二三四五六日", WEEKDAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var $ = function (id) { return document.getElementById(id); };
  var skewMs = 0;  // the hub's clock minus ours (from the Date header): a TV's clock may be off
  function hubNow() { return Date.now() + skewMs; }

  // -- the reducer (display/state.py) ---------------------------------------------------------------

  var S = {
    seq: null, announced: null, resyncing: false, pending: [],
    office: null, timezone: "Asia/Taipei",
    counters: [], services: [], recent: [], hero: null, heroAt: null, announcements: [],
    connected: false, offlineSince: Date.now(), linkError: null
  };

  function name(v) {
    if (v && typeof v === "object") {
      var zh = String(v["zh-TW"] || v.zh || v.en || "");
      return { zh: zh, en: String(v.en || zh) };
    }
    if (typeof v === "string") return { zh: v, en: v };
    return { zh: "", en: "" };
  }
  function parseCall(d) {
    var t = d.ticket, c = d.counter;
    var priv = !!t["private"], prio = !!t.priority;
    return {
      seq: Number(d.seq) || 0, number: String(t.number || ""), ticketId: String(t.id || ""),
      counterId: String(c.id), counterName: name(c.name), recall: !!d.recall, priority: prio, "private": priv,
      serviceName: priv || !t.service_name ? null : name(t.service_name),
      laneName: prio && !priv && t.lane_name ? name(t.lane_name) : null,
      at: d.at ? Date.parse(d.at) : NaN
    };
  }
  function parseCounter(c) {
    var t = c.ticket;
    var number = t && typeof t === "object" ? String(t.number || "") : "";
    return { id: String(c.id), name: name(c.name), open: c.open !== false, number: number || null,
             priority: !!(t && typeof t === "object" && t.priority) };
  }
  function parseService(s) {
    var w = s.estimated_wait_s;
    return { id: String(s.id), name: name(s.name), waiting: Number(s.waiting) || 0,
             wait: typeof w === "number" ? w : null, open: s.open !== false };
  }
  function dedupe(calls) {
    var seen = {}, out = [];
    calls.forEach(function (c) {
      var key = (c.ticketId || c.number) + "\u0000" + c.counterId;
      if (!seen[key]) { seen[key] = true; out.push(c); }
    });
    return out.slice(0, RECENT_CALLS);
  }

  function snapshot(d, effects) {
    var seq = d.seq;
    if (S.seq !== null && !S.resyncing && seq < S.seq) return;  // a slow GET: keep the newer picture
    var all = (d.recent_calls || []).map(parseCall);
    var hubReset = S.seq !== null && seq < S.seq;
    var missed = [];
    if (S.announced === null || hubReset) {
      S.announced = seq;  // what the first picture shows was called before this board was on: not spoken
    } else {
      var now = hubNow();
      missed = all.filter(function (c) { return c.seq > S.announced && c.seq <= seq; })
        .sort(function (a, b) { return a.seq - b.seq; })
        .filter(function (c) { return isNaN(c.at) || now - c.at <= MISSED_CALL_MAX_AGE_MS; });
      missed.forEach(function (c) { effects.push(["announce", c]); });
      S.announced = Math.max(S.announced, seq);
    }
    var hero = all.length ? all[0] : null;
    if (missed.length) {
      hero = missed[missed.length - 1];
      S.heroAt = Date.now();
    } else if (!(hero && S.hero && hero.seq === S.hero.seq && hero.ticketId === S.hero.ticketId)) {
      S.heroAt = null;  // the same call seen again keeps flashing; another one from a snapshot does not
    }
    var office = d.office || {};
    var pending = S.pending;
    S.seq = seq;
    S.resyncing = false;
    S.pending = [];
    if (office.name) S.office = name(office.name);
    if (office.timezone) S.timezone = String(office.timezone);
    S.counters = (d.counters || []).map(parseCounter);
    S.services = (d.services || []).map(parseService);
    S.recent = dedupe(all);
    S.hero = hero;
    S.announcements = (d.announcements || []).map(function (a) {
      return name(a && typeof a === "object" && a.text ? a.text : a);
    });
    pending.sort(function (a, b) { return a[1].seq - b[1].seq; }).forEach(function (p) {
      if (p[1].seq > seq) event(p[0], p[1], effects);
    });
  }

  function event(ev, d, effects) {
    var seq = d.seq;
    if (S.seq === null || S.resyncing) {
      var first = S.seq === null && !S.pending.length;
      S.pending.push([ev, d]);
      if (S.pending.length > 500) S.pending.shift();
      if (first) effects.push(["resync", "event before snapshot"]);
      return;
    }
    if (seq <= S.seq) return;  // already in the picture
    if (seq > S.seq + 1) {
      S.resyncing = true;
      S.pending = [[ev, d]];
      effects.push(["resync", "gap " + S.seq + " -> " + seq]);
      return;
    }
    try {
      apply(ev, d, effects);
      S.seq = seq;
    } catch (e) {
      S.seq = seq;  // counted, but unusable: read the whole picture again
      S.resyncing = true;
      effects.push(["resync", "malformed " + ev]);
    }
  }

  function apply(ev, d, effects) {
    if (ev === "queue") { S.services = d.services.map(parseService); return; }
    if (ev === "counter") {
      var view = parseCounter(d.counter), found = false;
      S.counters = S.counters.map(function (c) { if (c.id === view.id) { found = true; return view; } return c; });
      if (!found) S.counters.push(view);
      return;
    }
    var call = parseCall(d);
    S.counters = S.counters.map(function (c) {
      if (c.id !== call.counterId) return c;
      return { id: c.id, name: c.name, open: c.open, number: call.number, priority: call.priority };
    });
    if (S.announced === null || call.seq > S.announced) {
      effects.push(["announce", call]);
      S.announced = call.seq;
    }
    S.hero = call;
    S.heroAt = Date.now();
    S.recent = dedupe([call].concat(S.recent));
  }

  function dispatch(ev, d) {
    var effects = [];
    if (ev === "state") {
      if (!d || typeof d.seq !== "number") { effects.push(["resync", "malformed state"]); }
      else {
        try { snapshot(d, effects); } catch (e) { effects.push(["resync", "malformed state"]); }
      }
    } else if (ev === "call" || ev === "queue" || ev === "counter") {
      if (!d || typeof d.seq !== "number") return;
      event(ev, d, effects);
    } else if (ev === "link_up") {
      S.connected = true;
      S.linkError = null;
      effects.push(["resync", "reconnected"]);
    } else if (ev === "link_down") {
      if (S.connected || S.offlineSince === null) S.offlineSince = Date.now();
      S.connected = false;
      S.resyncing = true;
    } else if (ev === "link_error") {
      S.linkError = d || null;
    }
    var resynced = false;
    effects.forEach(function (e) {
      if (e[0] === "announce") speech.enqueue(e[1]);
      else if (!resynced) {
        resynced = true;
        resyncs.push(e[1]);
        if (resyncs.length > 50) resyncs.shift();
        resync();
      }
    });
    render();
  }

  // -- the snapshot over HTTP -----------------------------------------------------------------------

  var fetching = false, fetchAgain = false, resyncs = [];
  function resync() {
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    fetch("/api/v1/state", { headers: { Authorization: "Bearer " + TOKEN }, cache: "no-store" })
      .then(function (r) {
        var date = Date.parse(r.headers.get("Date") || "");
        if (!isNaN(date)) skewMs = date + 500 - Date.now();  // the header has whole seconds
        if (r.status === 401 || r.status === 403) throw new Error("token refused 權杖無效");
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (d) { dispatch("state", d); }, function (e) {
        if (String(e && e.message).indexOf("token") >= 0) dispatch("link_error", e.message);
        if (S.connected && (S.resyncing || S.seq === null)) setTimeout(resync, 2000);
      })
      .then(function () {
        fetching = false;
        if (fetchAgain) { fetchAgain = false; resync(); }
      });
  }

  // -- speech ---------------------------------------------------------------------------------------

  var speech = (function () {
    var spoken = window.jiaohaoSpoken = [];  // {type: start|end|silent, seq, number, counter, clips, ...}
    var AC = window.AudioContext || window.webkitAudioContext;
    var ctx = null, out = null, queue = [], busy = false, buffers = {}, warned = {};
    if (CONFIG.sound && AC) {
      try {
        ctx = new AC();
        out = ctx.createGain();
        out.gain.value = CONFIG.volume;
        out.connect(ctx.destination);
      } catch (e) { ctx = null; }
    }
    function enabled() { return !!ctx && ctx.state === "running"; }
    function updateButton() {
      var b = $("sound"), hide = !ctx || ctx.state === "running";
      if (b.hidden === hide) return;
      b.hidden = hide;
      if (!hide) b.focus();  // the OK key of a TV remote presses it
    }
    if (ctx) {
      ctx.onstatechange = updateButton;
      updateButton();
      $("sound").addEventListener("click", function () {
        // A tap is what lets a browser make sound; a silent buffer unlocks the older ones too.
        var b = ctx.createBuffer(1, 1, 22050), src = ctx.createBufferSource();
        src.buffer = b;
        src.connect(out);
        src.start(0);
        var resumed = ctx.resume();
        if (resumed && resumed.then) resumed.then(updateButton, updateButton);
        else updateButton();
      });
    }
    function warnOnce(key, msg) {
      if (warned[key]) return;
      warned[key] = true;
      if (window.console) window.console.warn(msg);
    }
    function get(url, kind) {
      var tries = 0;
      function attempt() {
        return fetch(url).then(function (r) {
          if (r.status === 404) return null;  // a clip not recorded: that word is left out
          if (!r.ok) throw new Error("HTTP " + r.status);
          return kind === "json" ? r.json() : r.arrayBuffer();
        }).catch(function (e) {
          if (++tries >= 3) throw e;
          return new Promise(function (res) { setTimeout(res, 500 * tries); }).then(attempt);
        });
      }
      return attempt();
    }
    function tokensFor(call) {
      return get("/board/speech?number=" + encodeURIComponent(call.number) + "&counter=" +
                 encodeURIComponent(call.counterId) + "&languages=" + encodeURIComponent(CONFIG.languages) +
                 "&zh_phrase=" + encodeURIComponent(CONFIG.zhPhrase), "json")
        .then(function (d) { return d ? d.tokens : []; });
    }
    function clip(n) {
      if (!buffers[n]) {
        buffers[n] = get("/board/clips/" + encodeURIComponent(n) + ".wav", "binary").then(function (raw) {
          if (!raw) { warnOnce(n, "clip " + n + ".wav missing: that word is left out (scripts/make_clips.py)"); return null; }
          return new Promise(function (res) {
            // the callback form: older TVs have no promise-returning decodeAudioData
            ctx.decodeAudioData(raw, res, function () { warnOnce(n, "clip " + n + ".wav unreadable"); res(null); });
          });
        }, function () { delete buffers[n]; return null; });
      }
      return buffers[n];
    }
    function record(type, item, extra) {
      var entry = { type: type, seq: item.seq, number: item.number, counter: item.counter, recall: item.recall,
                    t: Date.now() };
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) entry[k] = extra[k];
      spoken.push(entry);
    }
    function play(item) {
      return item.tokens.then(function (tokens) {
        var names = tokens.filter(function (t) { return typeof t === "string"; });
        return Promise.all(names.map(clip)).then(function (bufs) {
          var byName = {};
          names.forEach(function (n, i) { byName[n] = bufs[i]; });
          var missing = names.filter(function (n) { return !byName[n]; });
          if (!names.length || missing.length === names.length) {
            record("silent", item, { clips: names, reason: names.length ? "no clips" : "no languages" });
            return null;
          }
          if (!enabled()) { record("silent", item, { clips: names, reason: "sound not enabled" }); return null; }
          var t0 = ctx.currentTime + 0.05, t = t0, sources = [];
          tokens.forEach(function (tok) {
            if (typeof tok === "number") { t += tok; return; }
            var buf = byName[tok];
            if (!buf) return;
            var src = ctx.createBufferSource();
            src.buffer = buf;
            src.connect(out);
            src.start(t);
            sources.push(src);
            t += buf.duration;
          });
          record("start", item, { clips: names, missing: missing, audioStart: t0, audioEnd: t });
          return new Promise(function (res) {
            var done = false;
            function finish(how) {
              if (done) return;
              done = true;
              // a stalled audio clock must not let this call overlap the next one
              if (how !== "ended") sources.forEach(function (s) { try { s.stop(); } catch (e) { /* ended */ } });
              record("end", item, { how: how, audioTime: ctx.currentTime });
              res(null);
            }
            sources[sources.length - 1].onended = function () { finish("ended"); };
            setTimeout(function () { finish("timeout"); }, (t - ctx.currentTime) * 1000 + 5000);
          });
        });
      }).catch(function (e) {
        record("silent", item, { reason: "clip list unavailable: " + (e && e.message) });
      });
    }
    function next() {
      if (busy || !queue.length) return;
      busy = true;
      play(queue.shift()).then(function () { busy = false; next(); });
    }
    return {
      enqueue: function (call) {
        var item = { seq: call.seq, number: call.number, counter: call.counterId, recall: call.recall };
        if (!CONFIG.sound || !ctx) { record("silent", item, { reason: "sound off" }); return; }
        item.tokens = tokensFor(call);  // asked for now, in parallel; played strictly in queue order
        queue.push(item);
        next();
      },
      busy: function () { return busy || queue.length > 0; },
      state: function () { return ctx ? ctx.state : "off"; }
    };
  })();

  // -- rendering ------------------------------------------------------------------------------------

  function el(tag, cls, text, lang) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    if (lang) e.lang = lang;
    return e;
  }
  function setText(id, text) {
    var e = $(id);
    if (e.textContent !== text) e.textContent = text;
  }
  // Shrink a one-line box's text until it fits, down to data-min (default 60 %) of its size; then CSS cuts it with ….
  function fit(e) {
    e.style.fontSize = "";
    if (!e.textContent || e.clientWidth === 0 || e.scrollWidth <= e.clientWidth) return;
    var base = parseFloat(window.getComputedStyle(e).fontSize), min = base * parseFloat(e.getAttribute("data-min") || "0.6");
    var size = base * Math.max(e.clientWidth / e.scrollWidth, 0.15) * 0.99;
    if (size < min) size = min;
    e.style.fontSize = size + "px";
    while (e.scrollWidth > e.clientWidth && size > min) {
      size = Math.max(min, size * 0.94);
      e.style.fontSize = size + "px";
    }
  }
  function fitAll(root) {
    var els = (root || document).querySelectorAll(".fit");
    for (var i = 0; i < els.length; i++) fit(els[i]);
  }
  function minutesText(s) {
    if (!s.open) return ["暫停", "Closed"];
    if (s.waiting === 0) return ["免等候", "No wait"];
    if (s.wait === null) return ["—", "—"];
    var m = Math.max(1, Math.ceil(s.wait / 60));
    return ["約 " + m + " 分", "~" + m + " min"];
  }
  function callSentence(c) {
    return [c.number + " 號來賓，請到 " + c.counterName.zh, "Number " + c.number + ", please proceed to " + c.counterName.en];
  }

  var shownHeroAt = null, flashTimer = null;
  function renderHero() {
    var c = S.hero, hero = $("hero");
    var label = $("hero-label");
    var connecting = S.seq === null;
    if (label.getAttribute("data-state") !== String(connecting)) {
      label.setAttribute("data-state", String(connecting));
      label.textContent = connecting ? "連線中… " : "現在叫號 ";
      label.appendChild(el("span", null, connecting ? "Connecting" : "Now calling", "en"));
    }
    var badge = $("badge");
    if (!c) {
      setText("hero-number", "—");
      ["hero-counter", "hero-counter-en", "hero-service"].forEach(function (id) { setText(id, ""); });
      badge.hidden = true;
    } else {
      setText("hero-number", c.number);
      setText("hero-counter", "請到 " + c.counterName.zh);
      setText("hero-counter-en", "Please proceed to " + c.counterName.en);
      // sensitive services (疼您): the number and the counter only
      setText("hero-service", c.serviceName && !c["private"] ? c.serviceName.zh + "  " + c.serviceName.en : "");
      var text = "", cls = "";
      if (c.recall) { text = "再次叫號 Recall"; cls = "recall"; }
      if (c.priority && !c["private"]) {
        text = (text ? text + "　" : "") + "優先 Priority" + (c.laneName ? "・" + c.laneName.zh + " " + c.laneName.en : "");
        cls = "";
      }
      badge.textContent = text;
      badge.className = "line fit " + cls;
      badge.hidden = !text;
    }
    hero.setAttribute("data-number", c ? c.number : "");
    hero.setAttribute("data-counter", c ? c.counterId : "");
    if (S.heroAt !== shownHeroAt) {
      shownHeroAt = S.heroAt;
      hero.classList.remove("flash");
      hero.classList.remove("fresh");
      clearTimeout(flashTimer);
      var left = S.heroAt === null ? 0 : FLASH_MS - (Date.now() - S.heroAt);
      if (left > 500) {
        void hero.offsetWidth;  // restart the animation
        hero.classList.add("flash");
        hero.classList.add("fresh");
        flashTimer = setTimeout(function () { hero.classList.remove("flash"); hero.classList.remove("fresh"); renderCounters(); }, left);
      }
    }
  }

  function gridFor(list, n, aspect) {
    var w = list.clientWidth, h = list.clientHeight, gap = parseFloat(window.getComputedStyle(list).rowGap) || 0;
    if (!n || !w || !h) return;
    var best = 1, bestErr = Infinity;
    for (var cols = 1; cols <= n; cols++) {
      var rows = Math.ceil(n / cols);
      var cw = (w - gap * (cols - 1)) / cols, ch = (h - gap * (rows - 1)) / rows;
      var err = Math.abs(Math.log(cw / ch / aspect));
      if (err < bestErr) { bestErr = err; best = cols; }
    }
    var r = Math.ceil(n / best);
    list.style.gridTemplateColumns = "repeat(" + best + ", minmax(0, 1fr))";
    list.style.gridTemplateRows = "repeat(" + r + ", minmax(0, 1fr))";
    var cellH = (h - gap * (r - 1)) / r, cellW = (w - gap * (best - 1)) / best;
    list.style.setProperty("--cell-h", Math.min(cellH, cellW / 1.6) + "px");
  }

  function renderCounters() {
    var list = $("counters");
    var hot = S.hero && S.heroAt !== null && Date.now() - S.heroAt < FLASH_MS ? S.hero.counterId : null;
    list.textContent = "";
    S.counters.forEach(function (c) {
      var li = el("li", c.open ? "" : "closed");
      if (!c.number && c.open) li.classList.add("empty");
      if (c.priority && c.number) li.classList.add("priority");
      if (c.id === hot) li.classList.add("hot");
      li.setAttribute("data-counter", c.id);
      li.appendChild(el("span", "cname line fit", c.name.zh));
      var num = el("span", "cnum line fit", !c.open && !c.number ? "暫停 Closed" : (c.number || "—"));
      num.setAttribute("data-min", "0.3");
      li.appendChild(num);
      list.appendChild(li);
    });
    gridFor(list, S.counters.length, 2.4);
    fitAll(list);
  }

  // Rows share their list's height (at most `max` px each), and their type follows the row (--row-h).
  var probe = null;
  function unit() {  // the CSS --u in px (it differs between landscape and portrait)
    if (!probe) {
      probe = el("div");
      probe.setAttribute("aria-hidden", "true");
      probe.style.cssText = "position:absolute;visibility:hidden;height:0;width:calc(var(--u) * 100)";
      document.body.appendChild(probe);
    }
    return probe.offsetWidth / 100 || 10;
  }
  function rows(list, n, max) {
    var gap = parseFloat(window.getComputedStyle(list).rowGap) || 0, h = list.clientHeight;
    if (!h) return;
    var slots = Math.max(n, 1);
    list.style.setProperty("--row-h", Math.min(max, (h - gap * (slots - 1)) / slots) + "px");
  }

  function renderRecent() {
    var list = $("recent");
    list.textContent = "";
    S.recent.slice(0, RECENT_SHOWN).forEach(function (c) {
      var li = el("li");
      li.setAttribute("data-seq", String(c.seq));
      var num = el("span", "rnum line fit", c.number);
      num.setAttribute("data-min", "0.3");
      li.appendChild(num);
      var names = el("span", "line");
      names.appendChild(el("span", "rname line fit", c.counterName.zh));
      names.appendChild(el("span", "rname-en line fit", c.counterName.en, "en"));
      li.appendChild(names);
      list.appendChild(li);
    });
    rows(list, RECENT_SHOWN, unit() * 9);
    fitAll(list);
  }

  function renderServices() {
    var list = $("services");
    list.textContent = "";
    S.services.forEach(function (s) {
      var li = el("li", s.open ? "" : "closed");
      li.setAttribute("data-service", s.id);
      var names = el("span", "line");
      names.appendChild(el("span", "sname line fit", s.name.zh));
      names.appendChild(el("span", "sname-en line fit", s.name.en, "en"));
      li.appendChild(names);
      li.appendChild(el("span", "swaiting", s.waiting + " 人"));
      var m = minutesText(s), wait = el("span", "line");
      wait.appendChild(el("span", "swait line fit", m[0]));
      wait.appendChild(el("span", "swait-en line fit", m[1], "en"));
      li.appendChild(wait);
      list.appendChild(li);
    });
    rows(list, S.services.length, unit() * 8);
    fitAll(list);
  }

  var marqueeKey = null, marqueeAnim = null;
  function renderMarquee() {
    var interrupted = S.hero && S.heroAt !== null && Date.now() - S.heroAt < INTERRUPT_MS;
    $("marquee-call").hidden = !interrupted;
    $("marquee-track").hidden = !!interrupted;
    if (interrupted) {
      var s = callSentence(S.hero), t = $("marquee-call-text");
      if (t.getAttribute("data-seq") !== String(S.hero.seq)) {
        t.setAttribute("data-seq", String(S.hero.seq));
        t.textContent = s[0] + "　";
        t.appendChild(el("span", null, s[1], "en"));
        fit(t);
      }
      return;
    }
    var key = JSON.stringify(S.announcements) + "|" + window.innerWidth;
    if (key === marqueeKey) return;
    marqueeKey = key;
    var text = $("marquee-text");
    text.textContent = "";
    S.announcements.forEach(function (a, i) {
      if (i) text.appendChild(document.createTextNode("　　◆　　"));
      text.appendChild(document.createTextNode(a.zh + "　"));
      text.appendChild(el("span", null, a.en, "en"));
    });
    if (marqueeAnim) { marqueeAnim.cancel(); marqueeAnim = null; }
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (!S.announcements.length || reduce || !text.animate) return;
    var w = $("marquee-track").clientWidth, tw = text.scrollWidth;
    var ms = (w + tw) / (MARQUEE_SPEED * window.innerWidth) * 1000;
    marqueeAnim = text.animate([{ transform: "translate(" + w + "px, -50%)" }, { transform: "translate(" + (-tw) + "px, -50%)" }],
                               { duration: ms, iterations: Infinity });
  }

  function renderHeader() {
    if (S.office) {
      setText("office", S.office.zh || "叫號系統");
      setText("office-en", S.office.en || "Queue board");
    }
  }

  var formatters = {};
  function formatter(tz) {
    if (!(tz in formatters)) {
      try {
        formatters[tz] = new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "numeric", day: "numeric",
          weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false });
      } catch (e) {
        formatters[tz] = tz === "Asia/Taipei" ? null : formatter("Asia/Taipei");  // an unknown zone: Taiwan's
      }
    }
    return formatters[tz];
  }
  function parts(tz) {
    var f = formatter(tz), now = new Date(hubNow()), out = {};
    if (!f || !f.formatToParts) {
      return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate(), wd: (now.getDay() + 6) % 7,
               hour: now.getHours(), minute: now.getMinutes() };
    }
    f.formatToParts(now).forEach(function (p) { out[p.type] = p.value; });
    return { year: +out.year, month: +out.month, day: +out.day, wd: WEEKDAYS_EN.indexOf(out.weekday),
             hour: +out.hour % 24, minute: +out.minute };
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    var p = parts(S.timezone), y = p.year - 1911;
    var roc = (y > 0 ? "民國" + y + "年" : "民國前" + (1 - y) + "年") + p.month + "月" + p.day + "日";
    setText("date", roc + "（星期" + (WEEKDAYS_ZH.charAt(p.wd) || "") + "）");
    setText("date-en", (WEEKDAYS_EN[p.wd] || "") + " " + p.day + " " + MONTHS_EN[p.month - 1] + " " + p.year);
    setText("time", pad(p.hour) + ":" + pad(p.minute));
    var offline = !(S.connected && S.seq !== null) && Date.now() - S.offlineSince >= OFFLINE_BANNER_MS;
    $("banner").hidden = !offline;
    document.body.classList.toggle("offline", offline);
    setText("banner-detail", offline && S.linkError ? "  (" + S.linkError + ")" : "");
    document.body.classList.toggle("connecting", S.seq === null);
    renderMarquee();
  }

  function render() {
    renderHeader();
    renderHero();
    renderCounters();
    renderRecent();
    renderServices();
    tick();
    fitAll($("top"));
    fitAll($("hero"));
    document.body.setAttribute("data-seq", S.seq === null ? "" : String(S.seq));
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { marqueeKey = null; render(); }, 150);
  });
  setInterval(tick, 1000);

  // For tests and the curious: the reduced state (read-only by convention), why it re-read the
  // snapshot, and a way to lose the next n events on purpose, as a flaky network would.
  var dropping = 0;
  window.jiaohaoBoard = {
    state: S, resyncs: resyncs, speechBusy: function () { return speech.busy(); },
    sound: function () { return speech.state(); },  // "running" once sound may play; "off" with sound=off
    dropEvents: function (n) { dropping = n; }
  };
  function fromHub(ev) {
    return function (d) {
      if (ev !== "state" && dropping > 0) { dropping--; return; }
      dispatch(ev, d);
    };
  }

  render();
  window.JiaohaoSocket({
    auth: function () { return { token: TOKEN }; },
    on: { state: fromHub("state"), call: fromHub("call"), queue: fromHub("queue"), counter: fromHub("counter") },
    onConnect: function () { dispatch("link_up"); },
    onDisconnect: function () { dispatch("link_down"); },
    onError: function (msg) { dispatch("link_error", String(msg)); }
  });
})();
