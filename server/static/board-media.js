/* The office's media in rotation on the web board (issue 9, docs/display.md "Media"): the browser twin
 * of display/media.py and display/video.py. A video's sound is heard only while `sound(true)`: board.js
 * says so once the page may make sound (someone tapped it) and no call is waiting or being spoken, so a
 * video is muted from the moment a call arrives until it has been said.
 *
 *   var media = JiaohaoBoardMedia({token: T, box: element, onChange: fn, volume: 0.5});
 *   media.start();     // reads GET /api/v1/media now and every 60 s
 *   media.tick(ms);    // every second: shows the item due at the hub's time ms
 *   media.sound(on);   // whether a video may be heard now
 *
 * Each file is fetched with the board's token (an <img src> cannot send it), refused beyond MAX_BYTES,
 * and shown only if the browser decodes it as an image (or can play it as a video): anything else is
 * skipped with one console line. The file becomes a blob: URL; nothing is inserted as HTML.
 */
(function (root) {
  "use strict";

  var MAX_BYTES = 10 * 1024 * 1024;
  var MAX_VIDEO_BYTES = 64 * 1024 * 1024;  // the hub's own limit for a video (server/media.py)
  var REFRESH_MS = 60000, DEFAULT_S = 8, MIN_S = 3, MAX_S = 300, MAX_ITEMS = 20;

  function parse(body) {
    var list = body && Array.isArray(body.media) ? body.media : [];
    var out = [];
    list.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var id = m.id, kind = m.kind, url = m.url;
      if ((typeof id !== "string" && typeof id !== "number") || typeof url !== "string" || !url) return;
      if (kind !== "image" && kind !== "video") return;
      var given = typeof m.duration_s === "number" && isFinite(m.duration_s);
      var d = given ? m.duration_s : DEFAULT_S;
      // Without duration_s, a video is on screen for its own length once it is known (as display/media.py).
      out.push({ id: String(id), kind: kind, url: url, duration_s: clamp(d), given: given });
    });
    return out.slice(0, MAX_ITEMS);
  }

  function clamp(s) { return Math.min(MAX_S, Math.max(MIN_S, s)); }

  function slot(items, ms) {  // as display/media.py: each for its time, in turn, by the clock
    var total = items.reduce(function (a, i) { return a + i.duration_s; }, 0);
    var t = (ms / 1000) % total;
    for (var n = 0; n < items.length; n++) {
      if (t < items[n].duration_s) return n;
      t -= items[n].duration_s;
    }
    return items.length - 1;
  }

  function JiaohaoBoardMedia(opts) {
    var token = opts.token, box = opts.box, onChange = opts.onChange || function () {};
    var listed = [];   // what the hub lists, in order
    var ready = {};    // id -> {item, el}: decoded and ready to show
    var failed = {};   // id:url -> true: its reason is said once
    var shown = null;
    var timer = null;
    var soundOn = false;  // muted until board.js says the page may make sound and no call is spoken
    var volume = typeof opts.volume === "number" ? Math.max(0, Math.min(1, opts.volume)) : 0.5;

    function applySound() {
      if (!shown || shown.item.kind !== "video") return;
      var el = shown.el;
      el.volume = volume;
      el.muted = !soundOn || volume === 0;
      if (!el.muted && el.paused) {
        // A browser may refuse sound it was not given a tap for: then the video goes on muted.
        var p = el.play();
        if (p && p.catch) p.catch(function () { el.muted = true; el.play(); });
      }
    }

    function warn(item, why) {
      var key = item.id + ":" + item.url;
      if (failed[key]) return;
      failed[key] = true;
      if (root.console) root.console.warn("media " + item.id + " (" + item.kind + ", " + item.url + ") is not shown: " + why);
    }

    function element(item, blob) {
      return new Promise(function (resolve, reject) {
        var url = URL.createObjectURL(blob);
        var el;
        if (item.kind === "image") {
          el = new Image();
          el.onload = function () { resolve(el); };
        } else {
          el = document.createElement("video");
          el.muted = true;  // until sound(true): a call is never covered by a film
          el.defaultMuted = true;
          el.loop = true;
          el.playsInline = true;
          el.preload = "auto";
          el.oncanplay = function () {
            el.oncanplay = null;
            if (!item.given && isFinite(el.duration) && el.duration > 0) item.duration_s = clamp(el.duration);
            resolve(el);
          };
        }
        el.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not a" + (item.kind === "image" ? "n image" : " video") + " this browser can show")); };
        el.alt = "";
        el.className = "media-item";
        el.src = url;
      });
    }

    function load(item) {
      var limit = item.kind === "image" ? MAX_BYTES : MAX_VIDEO_BYTES;
      return fetch(item.url, { headers: { Authorization: "Bearer " + token }, cache: "no-store" })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          var declared = Number(r.headers.get("Content-Length"));
          if (declared > limit) throw new Error(declared + " bytes, more than " + limit);
          return r.blob();
        })
        .then(function (blob) {
          if (blob.size > limit) throw new Error(blob.size + " bytes, more than " + limit);
          return element(item, blob);
        })
        .then(function (el) { ready[item.id] = { item: item, el: el }; onChange(); })
        .catch(function (e) { warn(item, e && e.message ? e.message : String(e)); });
    }

    function refresh() {
      return fetch("/api/v1/media", { headers: { Authorization: "Bearer " + token }, cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : { media: [] }; })
        .then(function (body) {
          listed = parse(body);
          var ids = {};
          listed.forEach(function (i) {
            ids[i.id] = true;
            // A video already loaded keeps the length it was found to have (the hub sends none).
            if (!i.given && ready[i.id] && ready[i.id].item.kind === "video") i.duration_s = ready[i.id].item.duration_s;
          });
          Object.keys(ready).forEach(function (id) {
            if (!ids[id]) {  // gone from the list: off the screen, its memory freed
              if (shown === ready[id]) { box.removeChild(shown.el); shown = null; }
              URL.revokeObjectURL(ready[id].el.src);
              delete ready[id];
            }
          });
          onChange();
          // Ones that failed are tried again at the next read (a file still uploading), said once only.
          return Promise.all(listed.filter(function (i) { return !ready[i.id]; }).map(load));
        })
        .catch(function () { /* a hub without media, or away: the board goes on without */ });
    }

    function showable() { return listed.filter(function (i) { return ready[i.id]; }); }

    function tick(ms) {
      var items = showable();
      box.hidden = items.length === 0;
      if (!items.length) return;
      var next = ready[items[slot(items, ms)].id];
      if (next === shown) return;
      if (shown) {
        if (shown.el.pause) shown.el.pause();
        box.removeChild(shown.el);
      }
      shown = next;
      box.appendChild(next.el);
      if (next.item.kind === "video") {
        var el = next.el;
        el.muted = !soundOn || volume === 0;
        el.volume = volume;
        el.currentTime = 0;
        var p = el.play();
        if (p && p.catch) p.catch(function () {
          if (el.muted) return;  /* autoplay refused: the first frame stays */
          el.muted = true;  // refused with sound: muted then (a browser allows that without a tap)
          el.play().catch(function () { /* the first frame stays */ });
        });
      }
    }

    function sound(on) {
      on = !!on;
      if (on === soundOn) return;
      soundOn = on;
      applySound();
    }

    return {
      start: function () { refresh(); timer = setInterval(refresh, REFRESH_MS); return this; },
      stop: function () { if (timer) clearInterval(timer); },
      refresh: refresh, tick: tick, showable: showable, sound: sound,
      shown: function () { return shown ? shown.item.id : null; },
      muted: function () { return shown && shown.item.kind === "video" ? shown.el.muted : null; }
    };
  }

  root.JiaohaoBoardMedia = JiaohaoBoardMedia;
  root.JiaohaoBoardMedia.parse = parse;
  root.JiaohaoBoardMedia.slot = slot;
})(typeof window !== "undefined" ? window : globalThis);
