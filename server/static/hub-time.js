/* The hub's time as the web board keeps it, as server/wire/hubtime.py does for the pygame board and the
 * kiosk. A TV's or a Pi's own clock may be off; the board shows the hub's `server_time` (in `state` and
 * every `hub` event) plus the monotonic time since it arrived (performance.now(), which a step of the
 * page's clock does not move), never the page's own clock. No IO, no clock of its own: the caller
 * passes the monotonic time in, so node can test it (tests/js/hub_time.test.js).
 *
 *   var H = JiaohaoHubTime(Date.now(), performance.now());
 *   H.take(data, performance.now());     // a state or a hub event: takes its server_time, if it has one
 *   H.now(performance.now())             // ms of the hub's time, or null while unknown: show "--:--"
 *   H.timeline(performance.now())        // ms for timers and a call's age (never null; never shown)
 *
 * `server_time` null means the hub's own clock is behind (clock_behind): then no time is shown. A hub
 * from before server_time sends none: its HTTP Date header (whole seconds) stands in, via H.header().
 */
(function (root) {
  "use strict";

  function JiaohaoHubTime(startMs, startMono) {
    var epoch = startMs, at = startMono, known = false, saysTime = false;

    function set(ms, mono) {
      if (isNaN(ms)) { known = false; return; }
      epoch = ms;
      at = mono;
      known = true;
    }
    function since(mono) { return epoch + Math.max(0, mono - at); }

    return {
      take: function (d, mono) {
        if (!d || typeof d !== "object" || !("server_time" in d)) return;
        saysTime = true;
        set(typeof d.server_time === "string" ? Date.parse(d.server_time) : NaN, mono);
      },
      header: function (ms, mono) {  // the Date header of GET /state: only from a hub that sends no server_time
        if (!saysTime && !isNaN(ms)) set(ms + 500, mono);  // whole seconds: the middle of the second
      },
      known: function () { return known; },
      now: function (mono) { return known ? since(mono) : null; },
      timeline: function (mono) { return since(mono); }
    };
  }

  if (typeof module === "object" && module.exports) module.exports = JiaohaoHubTime;
  else root.JiaohaoHubTime = JiaohaoHubTime;
})(this);
