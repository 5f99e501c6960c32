/* The board's picture: draws a JiaohaoBoardState state into board.html's boxes. DOM only: it reads
 * the state and never changes it. Every text shrinks to fit its one-line box, then CSS cuts it with ….
 *
 *   var view = JiaohaoBoardRender({hubNow: function () { return ms; }});  // the hub's time; null: not known
 *   view.render(S);    // after every event
 *   view.tick();       // every second: the clock, the offline banner, the marquee
 *   view.resized();    // after the window changed size
 */
(function (root) {
  "use strict";

  var RECENT_SHOWN = 5;
  // Beside the office's media (landscape; docs/display.md): a service row is at least SERVICE_ROW_MIN --u
  // tall, its text at least TEXT_MIN_U (24 px zh-TW, 18 px English on 1080p) even when it has to shrink
  // to fit; recent calls keep only the rows they fill (RECENT_ROW each, at most RECENT_WITH_MEDIA), fewer
  // if the media would be under MEDIA_MIN; the media takes the rest up to MEDIA_MAX, then the rows grow
  // again up to SERVICE_ROW_MAX. If even that does not fit, the media is left out (body.media-crowded).
  var SERVICE_ROW_MIN = 6.1, SERVICE_ROW_MAX = 8, RECENT_ROW = 5.6, RECENT_WITH_MEDIA = 3;
  var MEDIA_MIN = 18, MEDIA_MAX = 32, TEXT_MIN_U = { zh: 24 / 10.8, en: 18 / 10.8 };
  var FLASH_MS = 6000, INTERRUPT_MS = 15000, OFFLINE_BANNER_MS = 10000;
  var MARQUEE_SPEED = 0.11;  // screen widths per second
  var WEEKDAYS_ZH = "一二三四五六日", WEEKDAYS_EN = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var document = root.document;
  var $ = function (id) { return document.getElementById(id); };

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
    var base = parseFloat(root.getComputedStyle(e).fontSize);
    var min = base * parseFloat(e.getAttribute("data-min") || "0.6");
    // data-floor (px): never smaller than this (a text read from across the hall), however long it is.
    min = Math.min(base, Math.max(min, parseFloat(e.getAttribute("data-floor") || "0")));
    var size = base * Math.max(e.clientWidth / e.scrollWidth, 0.15) * 0.99;
    if (size < min) size = min;
    e.style.fontSize = size + "px";
    while (e.scrollWidth > e.clientWidth && size > min) {
      size = Math.max(min, size * 0.94);
      e.style.fontSize = size + "px";
    }
  }
  function fitAll(rootEl) {
    var els = (rootEl || document).querySelectorAll(".fit");
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
    return [c.number + " 號來賓，請到 " + c.counterName.zh,
            "Number " + c.number + ", please proceed to " + c.counterName.en];
  }

  function gridFor(list, n, aspect) {
    var w = list.clientWidth, h = list.clientHeight, gap = parseFloat(root.getComputedStyle(list).rowGap) || 0;
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
    var gap = parseFloat(root.getComputedStyle(list).rowGap) || 0, h = list.clientHeight;
    if (!h) return;
    var slots = Math.max(n, 1);
    list.style.setProperty("--row-h", Math.min(max, (h - gap * (slots - 1)) / slots) + "px");
  }

  var formatters = {};
  function formatter(tz) {
    if (!(tz in formatters)) {
      try {
        formatters[tz] = new Intl.DateTimeFormat("en-US", {
          timeZone: tz, year: "numeric", month: "numeric", day: "numeric", weekday: "short",
          hour: "2-digit", minute: "2-digit", hour12: false });
      } catch (e) {
        formatters[tz] = tz === "Asia/Taipei" ? null : formatter("Asia/Taipei");  // an unknown zone: Taiwan's
      }
    }
    return formatters[tz];
  }
  function parts(tz, ms) {
    var f = formatter(tz), now = new Date(ms), out = {};
    if (!f || !f.formatToParts) {
      return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate(), wd: (now.getDay() + 6) % 7,
               hour: now.getHours(), minute: now.getMinutes() };
    }
    f.formatToParts(now).forEach(function (p) { out[p.type] = p.value; });
    return { year: +out.year, month: +out.month, day: +out.day, wd: WEEKDAYS_EN.indexOf(out.weekday),
             hour: +out.hour % 24, minute: +out.minute };
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function JiaohaoBoardRender(opts) {
    var hubNow = opts.hubNow;
    // The state last drawn: the flash timer and the clock redraw from it, never from an older one.
    var S = null;
    var shownHeroAt = null, flashTimer = null, marqueeKey = null, marqueeAnim = null;

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
          text = (text ? text + "　" : "") + "優先 Priority" +
            (c.laneName ? "・" + c.laneName.zh + " " + c.laneName.en : "");
          cls = "";
        }
        if (c.appointment && !c["private"]) {  // why this number went first: its booked slot has come
          text = (text ? text + "　" : "") + "預約 Appointment";
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
          flashTimer = setTimeout(function () {
            hero.classList.remove("flash");
            hero.classList.remove("fresh");
            renderCounters();  // the counter's outline ends with the flash
          }, left);
        }
      }
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

    // How the side column is shared out beside the media (the constants above); null: not beside media.
    function shareSide() {
      var body = document.body, side = $("side");
      var beside = body.classList.contains("has-media") && !root.matchMedia("(orientation: portrait)").matches;
      body.classList.remove("media-crowded");
      $("recent").parentNode.hidden = false;
      if (!beside || !side.clientHeight) return null;
      var u = unit(), H = side.clientHeight, css = root.getComputedStyle.bind(root);
      var gap = parseFloat(css(side).rowGap) || 0;
      var inner = parseFloat(css($("services").parentNode).rowGap) || 0;  // between a title and its list
      var lgap = parseFloat(css($("services")).rowGap) || 0;
      var title = $("services-h").offsetHeight + inner;
      var nS = Math.max(1, S.services.length);
      function list(n, row) { return n * row + Math.max(0, n - 1) * lgap; }
      var services = title + list(nS, u * SERVICE_ROW_MIN);
      for (var n = Math.min(S.recent.length, RECENT_WITH_MEDIA); n >= 0; n--) {
        var recent = n ? title + list(n, u * RECENT_ROW) + gap : 0;
        var media = H - recent - services - gap;
        if (media < u * MEDIA_MIN) continue;
        media = Math.min(media, u * MEDIA_MAX, side.clientWidth * 9 / 16);
        var row = (H - recent - media - gap - title - Math.max(0, nS - 1) * lgap) / nS;
        $("recent").parentNode.hidden = n === 0;
        return { recent: n, recentRow: u * RECENT_ROW, serviceRow: Math.min(u * SERVICE_ROW_MAX, row),
                 floor: { zh: u * TEXT_MIN_U.zh, en: u * TEXT_MIN_U.en } };
      }
      body.classList.add("media-crowded");  // the list keeps the column; board.js mutes the hidden video
      return null;
    }

    function renderRecent(share) {
      var list = $("recent");
      list.textContent = "";
      S.recent.slice(0, share ? share.recent : RECENT_SHOWN).forEach(function (c) {
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
      if (share) list.style.setProperty("--row-h", share.recentRow + "px");
      else rows(list, RECENT_SHOWN, unit() * 9);
      fitAll(list);
    }

    function renderServices(share) {
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
      if (share) {
        list.style.setProperty("--row-h", share.serviceRow + "px");
        list.querySelectorAll(".fit").forEach(function (e) {
          e.setAttribute("data-floor", String(e.lang === "en" ? share.floor.en : share.floor.zh));
        });
      } else {
        rows(list, S.services.length, unit() * 8);
      }
      fitAll(list);
    }

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
      var key = JSON.stringify(S.announcements) + "|" + root.innerWidth;
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
      var reduce = root.matchMedia && root.matchMedia("(prefers-reduced-motion: reduce)").matches;
      if (!S.announcements.length || reduce || !text.animate) return;
      var w = $("marquee-track").clientWidth, tw = text.scrollWidth;
      var ms = (w + tw) / (MARQUEE_SPEED * root.innerWidth) * 1000;
      marqueeAnim = text.animate([{ transform: "translate(" + w + "px, -50%)" },
                                  { transform: "translate(" + (-tw) + "px, -50%)" }],
                                 { duration: ms, iterations: Infinity });
    }

    function renderHeader() {
      if (S.office) {
        setText("office", S.office.zh || "叫號系統");
        setText("office-en", S.office.en || "Queue board");
      }
    }

    function tick() {
      if (!S) return;
      var ms = hubNow();
      if (ms === null || ms === undefined) {  // the hub has not said its time, or does not know it (clock_behind)
        setText("date", "—");
        setText("date-en", "—");
        setText("time", "--:--");
      } else {
        var p = parts(S.timezone, ms), y = p.year - 1911;
        var roc = (y > 0 ? "民國" + y + "年" : "民國前" + (1 - y) + "年") + p.month + "月" + p.day + "日";
        setText("date", roc + "（星期" + (WEEKDAYS_ZH.charAt(p.wd) || "") + "）");
        setText("date-en", (WEEKDAYS_EN[p.wd] || "") + " " + p.day + " " + MONTHS_EN[p.month - 1] + " " + p.year);
        setText("time", pad(p.hour) + ":" + pad(p.minute));
      }
      var offline = !(S.connected && S.seq !== null) && Date.now() - S.offlineSince >= OFFLINE_BANNER_MS;
      $("banner").hidden = !offline;
      document.body.classList.toggle("offline", offline);
      setText("banner-detail", offline && S.linkError ? "  (" + S.linkError + ")" : "");
      var hold = S.hold && S.hold.message;
      $("hold").hidden = !hold || offline;
      if (hold) { setText("hold-zh", hold["zh-TW"] || ""); setText("hold-en", hold.en || ""); }
      document.body.classList.toggle("connecting", S.seq === null);
      renderMarquee();
    }

    function render(state) {
      S = state;
      renderHeader();
      renderHero();
      renderCounters();
      var share = shareSide();
      renderRecent(share);
      renderServices(share);
      tick();
      fitAll($("top"));
      fitAll($("hero"));
      document.body.setAttribute("data-seq", S.seq === null ? "" : String(S.seq));
    }

    return {
      render: render,
      tick: tick,
      resized: function () { marqueeKey = null; if (S) render(S); }
    };
  }

  root.JiaohaoBoardRender = JiaohaoBoardRender;
})(window);
