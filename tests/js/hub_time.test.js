// The web board's clock (server/static/hub-time.js) under node's own test runner: the hub's time plus the
// monotonic time since it arrived, never the page's own clock. tests/test_board_js.py runs this file.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const HubTime = require(path.join(__dirname, "..", "..", "server", "static", "hub-time.js"));

const PAGE = Date.parse("2025-01-01T00:00:00Z");  // the TV's own clock: far from the hub's
const HUB = "2031-03-05T14:27:00.250+08:00";

test("nothing is shown until the hub says its time", () => {
  const h = HubTime(PAGE, 1000);
  assert.equal(h.known(), false);
  assert.equal(h.now(5000), null);
  assert.equal(h.timeline(5000), PAGE + 4000);  // timers run on, from the page's clock as it read at start
  h.take({ seq: 3, counters: [] }, 6000);  // a state from a hub that says no time: still nothing
  assert.equal(h.now(6000), null);
});

test("the hub's time plus the monotonic time since it arrived", () => {
  const h = HubTime(PAGE, 1000);
  h.take({ seq: 1, server_time: HUB }, 2000);
  assert.equal(h.known(), true);
  assert.equal(h.now(2000), Date.parse(HUB));
  assert.equal(h.now(2000 + 90000), Date.parse(HUB) + 90000);  // 90 s later by performance.now()
  assert.equal(h.timeline(2000 + 90000), Date.parse(HUB) + 90000);
  h.take({ status: "ok", message: null, server_time: "2031-03-05T14:30:00.000+08:00" }, 200000);  // a `hub` event
  assert.equal(h.now(200000 + 1000), Date.parse("2031-03-05T06:30:01Z"));
});

test("a hub whose clock is behind says null: no time is shown, timers go on", () => {
  const h = HubTime(PAGE, 0);
  h.take({ server_time: HUB }, 0);
  h.take({ status: "clock_behind", server_time: null }, 1000);
  assert.equal(h.known(), false);
  assert.equal(h.now(2000), null);
  assert.equal(h.timeline(2000), Date.parse(HUB) + 2000);  // no jump back to the page's clock
  h.take({ server_time: "not a time" }, 3000);
  assert.equal(h.now(3000), null);
});

test("the Date header stands in only for a hub that never sends server_time", () => {
  const old = HubTime(PAGE, 0);
  old.header(Date.parse("Wed, 05 Mar 2031 06:27:00 GMT"), 1000);
  assert.equal(old.now(1000), Date.parse("2031-03-05T06:27:00.500Z"));
  const h = HubTime(PAGE, 0);
  h.take({ server_time: HUB }, 0);
  h.header(Date.parse("Wed, 05 Mar 2031 06:00:00 GMT"), 1000);  // the WSGI server's clock: not taken
  assert.equal(h.now(1000), Date.parse(HUB) + 1000);
});
