// The web board's reducer (server/static/board-state.js) under node's own test runner: no browser,
// no npm packages. tests/test_board_js.py runs this file, so pytest (and CI) runs it too.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const B = require(path.join(__dirname, "..", "..", "server", "static", "board-state.js"));

const T0 = Date.parse("2026-11-23T01:00:00Z");
const clock = (t = T0) => ({ now: t, hubNow: t });

function ticket(number, { priv = false, priority = false, byAppointment = false } = {}) {
  return {
    ...(byAppointment ? { by_appointment: true } : {}),
    id: "id-" + number, number, service: priv ? "private" : "general", lane: priority ? "elderly" : "normal",
    status: "called", called_at: new Date(T0).toISOString(), counter: "3", ahead: null, estimated_wait_s: null,
    service_name: priv ? { "zh-TW": "專屬服務", en: "Personal service" }
                       : { "zh-TW": "綜合業務", en: "General registration" },
    lane_name: priority ? { "zh-TW": "樂齡", en: "Seniors 65+" } : { "zh-TW": "一般", en: "Normal" },
    priority, private: priv,
  };
}
function call(seq, number, counter = "3", { recall = false, at = T0, ...kw } = {}) {
  return { seq, counter: { id: counter, name: { "zh-TW": counter + "號櫃台", en: "Counter " + counter } },
           ticket: ticket(number, kw), recall, at: new Date(at).toISOString() };
}
function counterView(id, number) {
  return { id, name: { "zh-TW": id + "號櫃台", en: "Counter " + id }, open: true,
           ticket: number ? ticket(number) : null };
}
function queue(seq, waiting) {
  return { seq, services: [{ id: "general", name: { "zh-TW": "綜合業務", en: "General" }, waiting,
                             estimated_wait_s: 300, open: true }] };
}
function snapshot(seq, recent = [], extra = {}) {
  return {
    seq, counters: [counterView("3", null), counterView("4", null)],
    recent_calls: recent.slice().sort((a, b) => b.seq - a.seq), services: queue(0, 2).services,
    office: { name: { "zh-TW": "南屯戶政", en: "Nantun" }, timezone: "Asia/Taipei" },
    announcements: [{ id: "a1", text: { "zh-TW": "防詐騙", en: "Beware of scams" }, active: true }],
    ...extra,
  };
}

// Feed events in order; return the last state and every effect, in order.
function run(events, state = B.initial(T0)) {
  const effects = [];
  for (const [ev, d, c] of events) {
    const r = B.reduce(state, ev, d, c || clock());
    state = r.state;
    effects.push(...r.effects);
  }
  return { state, effects };
}
const announced = (effects) => effects.filter((e) => e[0] === "announce").map((e) => e[1].number);
const resyncs = (effects) => effects.filter((e) => e[0] === "resync").map((e) => e[1]);

test("a snapshot is the whole picture, and what it shows was called before the board was on", () => {
  const { state, effects } = run([["state", snapshot(7, [call(6, "A001", "3"), call(7, "A002", "4")])]]);
  assert.equal(state.seq, 7);
  assert.deepEqual(effects, []);  // nothing spoken: those calls were made before this board existed
  assert.equal(state.hero.number, "A002");
  assert.equal(state.heroAt, null);  // a snapshot does not flash
  assert.deepEqual(state.recent.map((c) => c.number), ["A002", "A001"]);
  assert.deepEqual(state.counters.map((c) => c.id), ["3", "4"]);
  assert.deepEqual(state.services[0], { id: "general", name: { zh: "綜合業務", en: "General" }, waiting: 2, wait: 300,
                                        open: true });
  assert.deepEqual(state.office, { zh: "南屯戶政", en: "Nantun" });
  assert.deepEqual(state.announcements, [{ zh: "防詐騙", en: "Beware of scams" }]);
});

test("the next call is applied, shown, flashed and announced once", () => {
  const { state, effects } = run([["state", snapshot(7)], ["call", call(8, "A003", "4"), clock(T0 + 1000)],
                                  ["call", call(8, "A003", "4")]]);
  assert.equal(state.seq, 8);
  assert.deepEqual(announced(effects), ["A003"]);
  assert.equal(state.hero.number, "A003");
  assert.equal(state.hero.counterId, "4");
  assert.equal(state.heroAt, T0 + 1000);
  assert.equal(state.counters.find((c) => c.id === "4").number, "A003");
  assert.deepEqual(resyncs(effects), []);
});

test("a recall is announced again and marked as a recall, but listed once", () => {
  const { state, effects } = run([["state", snapshot(7)], ["call", call(8, "A003")],
                                  ["call", call(9, "A003", "3", { recall: true })]]);
  assert.deepEqual(announced(effects), ["A003", "A003"]);
  assert.equal(effects[1][1].recall, true);
  assert.equal(state.hero.recall, true);
  assert.deepEqual(state.recent.map((c) => c.number), ["A003"]);  // the same ticket at the same counter
});

test("a private call carries the number and counter only; a priority call its lane", () => {
  const { state } = run([["state", snapshot(7)], ["call", call(8, "P001", "16", { priv: true, priority: true })]]);
  assert.equal(state.hero.serviceName, null);
  assert.equal(state.hero.laneName, null);
  const r = run([["state", snapshot(7)], ["call", call(8, "A004", "3", { priority: true })]]);
  assert.deepEqual(r.state.hero.laneName, { zh: "樂齡", en: "Seniors 65+" });
  assert.deepEqual(r.state.hero.serviceName, { zh: "綜合業務", en: "General registration" });
});

test("an appointment's call is marked as one, without any booking code", () => {
  const { state } = run([["state", snapshot(7)], ["call", call(8, "A007", "3", { byAppointment: true })]]);
  assert.equal(state.hero.appointment, true);
  const plain = run([["state", snapshot(7)], ["call", call(8, "A008", "3")]]);
  assert.equal(plain.state.hero.appointment, false);
});

test("an old or repeated seq changes nothing", () => {
  const before = run([["state", snapshot(7)], ["queue", queue(8, 5)]]).state;
  const { state, effects } = run([["queue", queue(8, 9)], ["call", call(6, "Z999")]], before);
  assert.equal(state.seq, 8);
  assert.equal(state.services[0].waiting, 5);
  assert.equal(state.hero, null);
  assert.deepEqual(effects, []);
});

test("a gap holds the event, asks for a snapshot once, and replays what is newer than it", () => {
  let { state, effects } = run([["state", snapshot(7)], ["queue", queue(9, 4)], ["call", call(10, "A005")]]);
  assert.deepEqual(resyncs(effects), ["gap 7 -> 9"]);  // asked once, though two events wait
  assert.equal(state.seq, 7);
  assert.equal(state.resyncing, true);
  assert.deepEqual(announced(effects), []);  // held, not yet applied
  assert.equal(state.pending.length, 2);
  // The snapshot knows seq 8 and 9 (the missed call was seconds ago: still spoken); 10 is replayed on top.
  ({ state, effects } = run([["state", snapshot(9, [call(8, "A004", "3", { at: T0 - 5000 })])]], state));
  assert.equal(state.seq, 10);
  assert.equal(state.resyncing, false);
  assert.deepEqual(state.pending, []);
  assert.deepEqual(announced(effects), ["A004", "A005"]);
  assert.equal(state.hero.number, "A005");
  assert.deepEqual(resyncs(effects), []);
});

test("a call missed for longer than a minute is shown but not spoken", () => {
  let { state } = run([["state", snapshot(7)], ["call", call(9, "A009")]]);
  const old = call(8, "A008", "3", { at: T0 - B.MISSED_CALL_MAX_AGE_MS - 1000 });
  const r = run([["state", snapshot(9, [old, call(9, "A009", "4")])]], state);
  assert.deepEqual(announced(r.effects), ["A009"]);
  assert.equal(r.state.hero.number, "A009");
});

test("events before the first snapshot are held, and one snapshot is asked for", () => {
  const { state, effects } = run([["call", call(3, "A001")], ["queue", queue(4, 1)]]);
  assert.equal(state.seq, null);
  assert.deepEqual(resyncs(effects), ["event before snapshot"]);
  const r = run([["state", snapshot(3)]], state);
  assert.equal(r.state.seq, 4);  // the queue event after the snapshot is replayed
  assert.equal(r.state.services[0].waiting, 1);
  assert.deepEqual(announced(r.effects), []);  // seq 3 was in the first picture
});

test("a lost link holds events until the snapshot after the reconnect", () => {
  let { state, effects } = run([["state", snapshot(7)], ["link_up"], ["link_down", null, clock(T0 + 5)]]);
  assert.equal(state.connected, false);
  assert.equal(state.offlineSince, T0 + 5);
  ({ state, effects } = run([["link_up"], ["call", call(9, "A009")]], state));
  assert.equal(state.connected, true);
  assert.deepEqual(resyncs(effects), ["reconnected"]);
  assert.equal(state.seq, 7);  // held: the snapshot decides
  ({ state, effects } = run([["state", snapshot(8)]], state));
  assert.equal(state.seq, 9);
  assert.deepEqual(announced(effects), ["A009"]);
});

test("a hub that restarted with a lower seq is believed after a lost link, and its calls are not spoken", () => {
  let { state } = run([["state", snapshot(50)], ["link_down"]]);
  const r = run([["state", snapshot(3, [call(3, "A001")])]], state);
  assert.equal(r.state.seq, 3);
  assert.deepEqual(announced(r.effects), []);
  assert.equal(r.state.announced, 3);
});

test("a slow snapshot older than the picture is ignored", () => {
  const { state } = run([["state", snapshot(7)], ["queue", queue(8, 5)], ["state", snapshot(6)]]);
  assert.equal(state.seq, 8);
  assert.equal(state.services[0].waiting, 5);
});

test("announcements replace the marquee whenever they come, inactive ones left out", () => {
  const { state, effects } = run([["state", snapshot(7)], ["announcements", { announcements: [
    { id: "a2", text: { "zh-TW": "今日提早休息", en: "Closing early today" }, active: true },
    { id: "a3", text: { "zh-TW": "明天", en: "Tomorrow" }, active: false }] }]]);
  assert.deepEqual(state.announcements, [{ zh: "今日提早休息", en: "Closing early today" }]);
  assert.equal(state.seq, 7);  // no seq: the count of events is not touched
  assert.deepEqual(effects, []);
  assert.deepEqual(run([["announcements", { announcements: [] }]], state).state.announcements, []);
  assert.equal(run([["announcements", { nope: 1 }]], state).state.announcements.length, 1);  // malformed: kept
});

test("unknown and malformed events are ignored; a malformed snapshot asks again and keeps the picture", () => {
  const before = run([["state", snapshot(7, [call(7, "A007")])]]).state;
  let r = run([["device", { seq: 8, id: "kiosk-1" }], ["speech", {}], ["call", null], ["queue", { seq: "8" }]], before);
  assert.deepEqual(r.effects, []);
  assert.equal(r.state.seq, 7);
  assert.deepEqual(r.state, before);
  r = run([["state", { seq: 9, counters: [null] }]], before);  // throws half-way through the snapshot
  assert.deepEqual(resyncs(r.effects), ["malformed state"]);
  assert.deepEqual(r.state, before);
  r = run([["state", { counters: [] }]], before);
  assert.deepEqual(resyncs(r.effects), ["malformed state"]);
  // A counted event that cannot be read: its seq is taken, and the whole picture is read again.
  r = run([["call", { seq: 8, ticket: null, counter: null }]], before);
  assert.deepEqual(resyncs(r.effects), ["malformed call"]);
  assert.equal(r.state.seq, 8);
  assert.equal(r.state.resyncing, true);
});

test("the reducer never changes the state it was given", () => {
  const s0 = run([["state", snapshot(7, [call(7, "A007")])]]).state;
  const frozen = JSON.stringify(s0);
  const events = [["call", call(8, "A008")], ["queue", queue(8, 1)], ["queue", queue(10, 1)],
                  ["counter", { seq: 8, counter: counterView("5", "A1") }], ["link_down"],
                  ["announcements", { announcements: [] }], ["state", snapshot(9)]];
  for (const [ev, d] of events) {
    B.reduce(s0, ev, d, clock());
  }
  assert.equal(JSON.stringify(s0), frozen);
});

test("a counter event updates its counter, or adds one the board did not know", () => {
  const { state } = run([["state", snapshot(7)], ["counter", { seq: 8, counter: counterView("4", "B002") }],
                        ["counter", { seq: 9, counter: { id: "9", name: "9", open: false, ticket: null } }]]);
  assert.deepEqual(state.counters.map((c) => [c.id, c.number, c.open]), [["3", null, true], ["4", "B002", true],
                                                                          ["9", null, false]]);
});

test("the hub's hold (state.hub, the hub event) is kept until it ends", () => {
  const behind = { status: "clock_behind", message: { "zh-TW": "主機時間尚未校正", en: "The hub's clock is behind" } };
  let { state } = run([["state", { ...snapshot(7), hub: behind }]]);
  assert.deepEqual(state.hold, behind);
  state = run([["hub", { status: "ok", message: null }]], state).state;
  assert.equal(state.hold, null);
  state = run([["hub", behind], ["state", snapshot(8)]], state).state;  // a snapshot without `hub`: unchanged
  assert.deepEqual(state.hold, behind);
});
