/* The TV board in a browser (issue #4): the pygame board's twin, docs/display.md. This file only wires
 * the parts together; each has its own file, loaded before this one by board.html:
 *
 *   socketio-lite.js  the link to the hub (Socket.IO over a plain WebSocket)
 *   hub-time.js       the hub's time, carried on by the monotonic clock (the page's own is never shown)
 *   board-state.js    the reducer over the hub's events, by seq (no IO; tested under node)
 *   board-render.js   the picture (DOM only)
 *   board-speech.js   the spoken-call queue (Web Audio)
 *   board-media.js    the office's images and videos in rotation (a video silent while a call is spoken)
 *
 * Here: every event goes through the reducer, its effects are carried out (a call is spoken, a gap or
 * a reconnect reads GET /api/v1/state), and the new state is drawn.
 */
(function () {
  "use strict";

  var CONFIG = JSON.parse(document.getElementById("board-config").textContent);
  var TOKEN = CONFIG.token;
  var RETRY_MS = 2000;

  // The hub's time (hub-time.js): a TV's own clock may be off, so the board shows the hub's, carried on by
  // the monotonic clock. Date.now() only starts the time line until the hub has said; it is never shown.
  function mono() { return window.performance.now(); }
  var hubTime = window.JiaohaoHubTime(Date.now(), mono());
  function hubNow() { return hubTime.timeline(mono()); }  // a call's age, the media's schedule
  function clock() { return { now: Date.now(), hubNow: hubNow() }; }

  var S = window.JiaohaoBoardState.initial(Date.now());
  var view = window.JiaohaoBoardRender({ hubNow: function () { return hubTime.now(mono()); } });
  var speech = window.JiaohaoBoardSpeech({
    sound: CONFIG.sound, volume: CONFIG.volume, languages: CONFIG.languages, zhPhrase: CONFIG.zhPhrase,
    button: document.getElementById("sound")
  });
  var resyncs = [];

  function dispatch(ev, d) {
    if (ev === "state" || ev === "hub") hubTime.take(d, mono());
    var r = window.JiaohaoBoardState.reduce(S, ev, d, clock());
    S = r.state;
    var resynced = false;
    r.effects.forEach(function (e) {
      if (e[0] === "announce") {
        speech.enqueue(e[1]);
        videoSound();  // muted from the moment the call is queued, before its chime
      }
      else if (e[0] === "resync" && !resynced) {
        resynced = true;
        resyncs.push(e[1]);
        if (resyncs.length > 50) resyncs.shift();
        // A snapshot that cannot be read is not asked for again at once: that would be a request storm.
        if (e[1] === "malformed state") setTimeout(resync, RETRY_MS);
        else resync();
      }
    });
    view.render(S);
  }

  // -- the snapshot over HTTP -----------------------------------------------------------------------

  var fetching = false, fetchAgain = false;
  function resync() {
    if (fetching) { fetchAgain = true; return; }
    fetching = true;
    fetch("/api/v1/state", { headers: { Authorization: "Bearer " + TOKEN }, cache: "no-store" })
      .then(function (r) {
        hubTime.header(Date.parse(r.headers.get("Date") || ""), mono());  // a hub without server_time
        if (r.status === 401 || r.status === 403) throw new Error("token refused 權杖無效");
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (d) { dispatch("state", d); }, function (e) {
        if (String(e && e.message).indexOf("token") >= 0) dispatch("link_error", e.message);
        if (S.connected && (S.resyncing || S.seq === null)) setTimeout(resync, RETRY_MS);
      })
      .then(function () {
        fetching = false;
        if (fetchAgain) { fetchAgain = false; resync(); }
      });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(view.resized, 150);
  });
  setInterval(view.tick, 1000);

  // The office's images and videos, in their own region (board-media.js); the calls never wait for them.
  var mediaBox = document.getElementById("media");
  var media = window.JiaohaoBoardMedia({
    token: TOKEN, box: mediaBox, volume: CONFIG.sound ? CONFIG.videoVolume : 0,
    onChange: function () {
      var had = document.body.classList.contains("has-media");
      media.tick(hubNow());
      var has = !mediaBox.hidden;
      if (had !== has) {
        document.body.classList.toggle("has-media", has);
        view.resized();  // the side column's rows changed height: fit the texts again
      }
    }
  });
  setInterval(function () { media.tick(hubNow()); }, 1000);
  // A video is heard once the page may make sound and while no call waits or is spoken (board-media.js).
  // Left out beside too long a waiting list (body.media-crowded, board-render.js): not heard either.
  function videoSound() {
    if (media) media.sound(speech.state() === "running" && !speech.busy() &&
                           !document.body.classList.contains("media-crowded"));
  }
  setInterval(videoSound, 200);
  media.start();
  window.jiaohaoBoardMediaRefresh = media.refresh;  // tests: read the list now instead of within 60 s

  // For tests and the curious: the reduced state (read-only by convention), why it re-read the
  // snapshot, and a way to lose the next n events on purpose, as a flaky network would.
  var dropping = 0;
  window.jiaohaoSpoken = speech.spoken;
  window.jiaohaoBoard = {
    resyncs: resyncs, speechBusy: function () { return speech.busy(); },
    sound: function () { return speech.state(); },  // "running" once sound may play; "off" with sound=off
    dropEvents: function (n) { dropping = n; },
    media: function () { return media.shown(); },  // the id of the media item on screen, or null
    videoMuted: function () { return media.muted(); },  // the video on screen muted (null: no video)
    mediaItems: function () { return media.showable(); }  // what rotates, with each one's duration_s
  };
  // The reducer hands back a new state after every event: `state` is always the current one.
  Object.defineProperty(window.jiaohaoBoard, "state", { get: function () { return S; }, enumerable: true });
  function fromHub(ev) {
    return function (d) {
      if (ev !== "state" && dropping > 0) { dropping--; return; }
      dispatch(ev, d);
    };
  }

  view.render(S);
  window.JiaohaoSocket({
    auth: function () { return { token: TOKEN }; },
    on: { state: fromHub("state"), call: fromHub("call"), queue: fromHub("queue"), counter: fromHub("counter"),
          announcements: fromHub("announcements"), hub: function (d) { dispatch("hub", d); } },
    onConnect: function () { dispatch("link_up"); },
    onDisconnect: function () { dispatch("link_down"); },
    onError: function (msg) { dispatch("link_error", String(msg)); }
  });
})();
