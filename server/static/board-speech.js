/* Speech for the board: one queue, one call at a time, in order, never overlapping, none dropped.
 * The clip list of a call comes from the hub (/board/speech: display.announcer.sequence), the clips
 * from /board/clips/NAME.wav, played back to back with the Web Audio API.
 *
 *   var speech = JiaohaoBoardSpeech({sound: true, volume: 0.8, languages: "zh,en", zhPhrase: "qing",
 *                                    button: element});   // the one-time "tap to enable sound" button
 *   speech.enqueue(call);   // a call of JiaohaoBoardState
 *   speech.spoken           // the log: every call started, ended or kept silent (window.jiaohaoSpoken)
 *   speech.busy(), speech.state()
 */
(function (root) {
  "use strict";

  function JiaohaoBoardSpeech(opts) {
    var spoken = [];  // {type: start|end|silent, seq, number, counter, clips, ...}
    var AC = root.AudioContext || root.webkitAudioContext;
    var ctx = null, out = null, queue = [], busy = false, buffers = {}, warned = {};
    if (opts.sound && AC) {
      try {
        ctx = new AC();
        out = ctx.createGain();
        out.gain.value = opts.volume;
        out.connect(ctx.destination);
      } catch (e) { ctx = null; }
    }
    function enabled() { return !!ctx && ctx.state === "running"; }
    function updateButton() {
      var b = opts.button, hide = !ctx || ctx.state === "running";
      if (b.hidden === hide) return;
      b.hidden = hide;
      if (!hide) b.focus();  // the OK key of a TV remote presses it
    }
    if (ctx) {
      ctx.onstatechange = updateButton;
      updateButton();
      opts.button.addEventListener("click", function () {
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
      if (root.console) root.console.warn(msg);
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
                 encodeURIComponent(call.counterId) + "&languages=" + encodeURIComponent(opts.languages) +
                 "&zh_phrase=" + encodeURIComponent(opts.zhPhrase), "json")
        .then(function (d) { return d ? d.tokens : []; });
    }
    function clip(n) {
      if (!buffers[n]) {
        buffers[n] = get("/board/clips/" + encodeURIComponent(n) + ".wav", "binary").then(function (raw) {
          if (!raw) {
            warnOnce(n, "clip " + n + ".wav missing: that word is left out (scripts/make_clips.py)");
            return null;
          }
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
        if (!opts.sound || !ctx) { record("silent", item, { reason: "sound off" }); return; }
        item.tokens = tokensFor(call);  // asked for now, in parallel; played strictly in queue order
        queue.push(item);
        next();
      },
      spoken: spoken,
      busy: function () { return busy || queue.length > 0; },
      state: function () { return ctx ? ctx.state : "off"; }
    };
  }

  root.JiaohaoBoardSpeech = JiaohaoBoardSpeech;
})(window);
