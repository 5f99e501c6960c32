/* The board's state, reduced from the hub's events by seq, as display/state.py does. No IO: no DOM,
 * no network, no timers, no clock of its own (the caller passes the time in), so node can test it
 * (tests/js/board_state.test.js).
 *
 *   var S = JiaohaoBoardState.initial(now);
 *   var r = JiaohaoBoardState.reduce(S, "call", data, {now: Date.now(), hubNow: Date.now() + skew});
 *   S = r.state;          // a new object; the old one is left as it was
 *   r.effects             // [["announce", call], ["resync", "gap 4 -> 6"], ...] for the caller to carry out
 *
 * Events: "state" (a snapshot, from the socket or GET /api/v1/state), "call", "queue", "counter" (by
 * seq), "announcements" (no seq: the whole active set), and the link's own "link_up", "link_down",
 * "link_error". Anything else is ignored.
 *
 * The seq rule: seq <= shown is ignored; shown + 1 is applied; a gap holds the event back and asks
 * for a snapshot ("resync"), then the held events newer than that snapshot are replayed. Before the
 * first snapshot, and from a lost link until the next snapshot, events are held the same way.
 */
(function (root) {
  "use strict";

  var RECENT_CALLS = 10;
  var MISSED_CALL_MAX_AGE_MS = 60000;  // a call a snapshot reveals as missed is still spoken if this fresh
  var MAX_PENDING = 500;

  function initial(now) {
    return {
      seq: null, announced: null, resyncing: false, pending: [],
      office: null, timezone: "Asia/Taipei",
      counters: [], services: [], recent: [], hero: null, heroAt: null, announcements: [],
      connected: false, offlineSince: now, linkError: null,
      hold: null  // the hub refusing changes for now (state.hub, the `hub` event): {status, message}
    };
  }

  function copy(s) {
    var out = {};
    for (var k in s) if (Object.prototype.hasOwnProperty.call(s, k)) out[k] = s[k];
    return out;
  }

  // -- the wire shapes (shared/CONTRACT.md), parsed leniently: a TV must not go blank on an extra field

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
      appointment: !!t.by_appointment,
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
  // An Announcement is {"id", "text": {"zh-TW", "en"}, "active", ...}; a bare text or string is taken too.
  function parseAnnouncements(list) {
    return (list || []).filter(function (a) { return !(a && typeof a === "object" && a.active === false); })
      .map(function (a) { return name(a && typeof a === "object" && a.text ? a.text : a); });
  }
  function dedupe(calls) {
    var seen = {}, out = [];
    calls.forEach(function (c) {
      var key = (c.ticketId || c.number) + "\u0000" + c.counterId;
      if (!seen[key]) { seen[key] = true; out.push(c); }
    });
    return out.slice(0, RECENT_CALLS);
  }

  // -- the reducer; S is the caller's copy, replaced field by field (arrays are never changed in place)

  function hold(hub) { return hub && typeof hub === "object" && hub.status && hub.status !== "ok" ? hub : null; }

  function snapshot(S, d, effects, clock) {
    var seq = d.seq;
    if (d.hub !== undefined) S.hold = hold(d.hub);
    if (S.seq !== null && !S.resyncing && seq < S.seq) return;  // a slow GET: keep the newer picture
    var all = (d.recent_calls || []).map(parseCall);
    var hubReset = S.seq !== null && seq < S.seq;
    var missed = [];
    if (S.announced === null || hubReset) {
      S.announced = seq;  // what the first picture shows was called before this board was on: not spoken
    } else {
      missed = all.filter(function (c) { return c.seq > S.announced && c.seq <= seq; })
        .sort(function (a, b) { return a.seq - b.seq; })
        .filter(function (c) { return isNaN(c.at) || clock.hubNow - c.at <= MISSED_CALL_MAX_AGE_MS; });
      missed.forEach(function (c) { effects.push(["announce", c]); });
      S.announced = Math.max(S.announced, seq);
    }
    var hero = all.length ? all[0] : null;
    if (missed.length) {
      hero = missed[missed.length - 1];
      S.heroAt = clock.now;
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
    S.announcements = parseAnnouncements(d.announcements);
    pending.slice().sort(function (a, b) { return a[1].seq - b[1].seq; }).forEach(function (p) {
      if (p[1].seq > seq) event(S, p[0], p[1], effects, clock);
    });
  }

  function event(S, ev, d, effects, clock) {
    var seq = d.seq;
    if (S.seq === null || S.resyncing) {
      var first = S.seq === null && !S.pending.length;
      S.pending = S.pending.concat([[ev, d]]);
      if (S.pending.length > MAX_PENDING) S.pending = S.pending.slice(1);
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
      apply(S, ev, d, effects, clock);
      S.seq = seq;
    } catch (e) {
      S.seq = seq;  // counted, but unusable: read the whole picture again
      S.resyncing = true;
      effects.push(["resync", "malformed " + ev]);
    }
  }

  function apply(S, ev, d, effects, clock) {
    if (ev === "queue") { S.services = d.services.map(parseService); return; }
    if (ev === "counter") {
      var view = parseCounter(d.counter), found = false;
      S.counters = S.counters.map(function (c) { if (c.id === view.id) { found = true; return view; } return c; });
      if (!found) S.counters.push(view);  // a new array from map: the caller's is untouched
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
    S.heroAt = clock.now;
    S.recent = dedupe([call].concat(S.recent));
  }

  /* One event in, the next state and what to do out. clock = {now: ms, hubNow: ms}: `now` stamps the
   * flash and the offline banner (compared with the page's own clock), `hubNow` judges a call's age
   * (compared with the hub's `at`). */
  function reduce(state, ev, d, clock) {
    var S = copy(state), effects = [];
    if (ev === "state") {
      if (!d || typeof d.seq !== "number") { effects.push(["resync", "malformed state"]); }
      else {
        try { snapshot(S, d, effects, clock); } catch (e) {
          S = copy(state);  // half a snapshot is worse than the old picture
          effects = [["resync", "malformed state"]];
        }
      }
    } else if (ev === "call" || ev === "queue" || ev === "counter") {
      if (d && typeof d.seq === "number") event(S, ev, d, effects, clock);
    } else if (ev === "announcements") {
      // No seq: it carries the whole active set, so it replaces the marquee whenever it comes.
      if (d && Array.isArray(d.announcements)) {
        S.announcements = parseAnnouncements(d.announcements);
      }
    } else if (ev === "link_up") {
      S.connected = true;
      S.linkError = null;
      effects.push(["resync", "reconnected"]);
    } else if (ev === "link_down") {
      if (S.connected || S.offlineSince === null) S.offlineSince = clock.now;
      S.connected = false;
      S.resyncing = true;
    } else if (ev === "link_error") {
      S.linkError = d || null;
    } else if (ev === "hub") {
      S.hold = hold(d);  // no seq: the hub's whole status, whenever it changes
    }
    return { state: S, effects: effects };
  }

  var api = { initial: initial, reduce: reduce, RECENT_CALLS: RECENT_CALLS,
              MISSED_CALL_MAX_AGE_MS: MISSED_CALL_MAX_AGE_MS };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.JiaohaoBoardState = api;
})(this);
