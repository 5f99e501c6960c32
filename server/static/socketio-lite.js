/* A tiny Socket.IO client (protocol 5 over Engine.IO 4) on a plain WebSocket: no library, no CDN,
 * old enough JavaScript for the browsers in smart TVs.
 *
 *   var sock = JiaohaoSocket({
 *     auth: function () { return {token: TOKEN}; },   // sent as 40{...}; evaluated on every (re)connect;
 *                                                       // leave it out where the session cookie is the login
 *     on: {state: fn, call: fn, ...},                   // the hub's events
 *     onAny: fn(event, data),                           // every event, after its own handler
 *     onConnect: fn, onDisconnect: fn,                  // the namespace is joined / was left
 *     onClose: fn,                                      // every closed WebSocket, joined or not
 *     onError: fn(message),                             // the connection was refused
 *     minDelay: 1000, maxDelay: 5000                    // the reconnect delays, in ms
 *   });
 *
 * It reconnects forever with a doubling, jittered delay (1 s up to 5 s, ±50 %), and closes a link
 * that has been silent longer than the server's ping interval + timeout (+2 s), so a dead network
 * is noticed within about 12 s even when no TCP reset arrives.
 */
(function (root) {
  "use strict";

  function JiaohaoSocket(opts) {
    var ws = null, stopped = false, up = false, watchdog = null, timer = null;
    var minDelay = opts.minDelay || 1000, maxDelay = opts.maxDelay || 5000, delay = minDelay;
    var silentMs = 12000;
    var handlers = opts.on || {};

    function call(fn, a, b) {
      if (typeof fn !== "function") return;
      try { fn(a, b); } catch (e) { if (root.console) root.console.error("jiaohao socket handler failed", e); }
    }
    function url() {
      return (root.location.protocol === "https:" ? "wss://" : "ws://") + root.location.host +
        (opts.path || "/socket.io/") + "?EIO=4&transport=websocket";
    }
    function alive() {
      clearTimeout(watchdog);
      watchdog = setTimeout(function () { if (ws) ws.close(); }, silentMs);
    }
    function schedule() {
      if (stopped || timer) return;
      var wait = delay * (0.5 + Math.random());
      delay = Math.min(delay * 2, maxDelay);
      timer = setTimeout(function () { timer = null; open(); }, wait);
    }
    function onPacket(d) {
      var type = d.charAt(0);
      if (type === "0") {  // Engine.IO open: connect to the default namespace, with auth
        try {
          var hs = JSON.parse(d.slice(1));
          silentMs = (hs.pingInterval || 25000) + (hs.pingTimeout || 20000) + 2000;
        } catch (e) { /* keep the default */ }
        alive();
        var auth = typeof opts.auth === "function" ? opts.auth() : opts.auth;
        ws.send("40" + (auth ? JSON.stringify(auth) : ""));
        return;
      }
      if (type === "2") { ws.send("3"); return; }  // ping -> pong
      if (type === "1") { ws.close(); return; }    // the server closes
      if (type !== "4") return;                    // upgrade, noop: not on a direct websocket
      var sub = d.charAt(1), body = d.slice(2);
      if (body.charAt(0) === "/") return;          // another namespace: not ours
      if (sub === "0") {                           // CONNECT acknowledged
        up = true;
        delay = minDelay;
        call(opts.onConnect);
      } else if (sub === "4") {                    // CONNECT_ERROR: refused (a bad token)
        var msg = "refused";
        try { msg = JSON.parse(body).message || msg; } catch (e) { /* keep it */ }
        call(opts.onError, msg);
        ws.close();
      } else if (sub === "1") {                    // DISCONNECT from the server
        ws.close();
      } else if (sub === "2") {                    // EVENT, maybe with an ack id before the array
        var a;
        try { a = JSON.parse(body.replace(/^\d+/, "")); } catch (e) { return; }
        if (!a || typeof a[0] !== "string") return;
        if (Object.prototype.hasOwnProperty.call(handlers, a[0])) call(handlers[a[0]], a[1]);
        call(opts.onAny, a[0], a[1]);
      }
    }
    function open() {
      if (stopped) return;
      var sock;
      try {
        sock = ws = new WebSocket(url());
      } catch (e) {
        schedule();
        return;
      }
      alive();
      sock.onmessage = function (m) {
        if (sock !== ws) return;
        alive();
        if (typeof m.data === "string") onPacket(m.data);
      };
      sock.onclose = function () {
        if (sock !== ws) return;
        clearTimeout(watchdog);
        ws = null;
        if (up) {
          up = false;
          call(opts.onDisconnect);
        }
        call(opts.onClose);
        schedule();
      };
    }
    open();
    return {
      connected: function () { return up; },
      close: function () {
        stopped = true;
        clearTimeout(timer);
        clearTimeout(watchdog);
        if (ws) ws.close();
      }
    };
  }

  root.JiaohaoSocket = JiaohaoSocket;
})(window);
