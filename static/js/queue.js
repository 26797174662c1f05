// Scans kept on the phone while it has no signal, in localStorage (WeChat's browser keeps it too),
// sent when the page sees the network again or on the next visit, each result said in words.
// An entry: {token, latitude, longitude, scanned_at, client_ref, place} for a poster scan, or
// {checkpoint_id, manual: true, ...} for a checkpoint picked by hand (never a check-in: the
// server holds it for the coordinators). The texts come from #queue-box (templates/_queue_box.html).
(function () {
  "use strict";
  var KEY = "vp-scan-queue";
  var MAX = 50;
  var box = document.getElementById("queue-box");
  if (!box || !window.localStorage || !window.fetch) return;
  var sending = false;

  function read() {
    try { var list = JSON.parse(localStorage.getItem(KEY) || "[]"); return Array.isArray(list) ? list : []; }
    catch (e) { return []; }
  }
  function write(list) {
    try { localStorage.setItem(KEY, JSON.stringify(list.slice(-MAX))); return true; } catch (e) { return false; }
  }
  function say(name, n) { return (box.getAttribute("data-" + name) || "").replace("%n", n); }
  function line(text, kind) {
    var item = document.createElement("li");
    item.className = kind;
    item.textContent = text;
    box.querySelector(".queue-results").appendChild(item);
    box.hidden = false;
  }
  // The count waiting, in the box and wherever a page shows it ([data-queue-count]).
  function show(saved) {
    var n = read().length;
    var waiting = box.querySelector(".queue-waiting");
    waiting.textContent = n ? (saved ? say("saved", n) : say("waiting", n)) : "";
    waiting.hidden = !n;
    if (n) box.hidden = false;
    document.querySelectorAll("[data-queue-count]").forEach(function (elt) { elt.textContent = n ? "（" + n + "）" : ""; });
    document.dispatchEvent(new CustomEvent("queue:changed", { detail: { entries: read() } }));
  }
  function add(entry) {
    var list = read().filter(function (old) { return old.client_ref !== entry.client_ref; });
    list.push(entry);
    var kept = write(list);
    show(kept);
    return kept;
  }
  function remove(ref) { write(read().filter(function (old) { return old.client_ref !== ref; })); }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function when(iso) {
    var d = new Date(iso);
    function two(v) { return (v < 10 ? "0" : "") + v; }
    return two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  // One entry to the server: true (done: recorded or refused, said), false (still no way through).
  function send(entry) {
    var form = new URLSearchParams();
    form.set("csrf_token", csrf());
    ["client_ref", "scanned_at", "latitude", "longitude", "checkpoint_id"].forEach(function (name) {
      if (entry[name] !== undefined && entry[name] !== null) form.set(name, entry[name]);
    });
    var url = entry.manual ? box.getAttribute("data-manual-url") : box.getAttribute("data-checkin-url") + encodeURIComponent(entry.token);
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && window.setTimeout(function () { controller.abort(); }, 15000);
    return fetch(url, { method: "POST", body: form, credentials: "same-origin", headers: { "HX-Request": "true" },
                        signal: controller ? controller.signal : undefined })
      .then(function (response) {
        return response.text().then(function (html) {
          if (timer) window.clearTimeout(timer);
          if (response.status >= 500 || response.status === 0) return false;
          if (response.redirected && new URL(response.url, location.href).pathname === box.getAttribute("data-login-url")) {
            line(say("login"), "queue-refused");
            return false;
          }
          var page = new DOMParser().parseFromString(html, "text/html");
          var place = entry.place || "";
          var why = page.querySelector(".result-why");
          var said = page.querySelector("[data-queue-said]");
          if (response.ok && said) {
            line("✓ " + said.textContent.trim(), "queue-done");
          } else if (response.ok && !why) {
            var shown = page.querySelector(".result-place");
            line("✓ " + say("done") + (shown ? shown.textContent.trim() : place) + " · " + when(entry.scanned_at), "queue-done");
          } else {
            line("✗ " + (place ? place + " · " : "") + when(entry.scanned_at) + "：" + (why ? why.textContent.trim() : response.status), "queue-refused");
          }
          return true;
        });
      }, function () { if (timer) window.clearTimeout(timer); return false; });
  }
  function flush() {
    if (sending || navigator.onLine === false || !read().length) return Promise.resolve();
    sending = true;
    var list = read();
    function next(i) {
      if (i >= list.length) return Promise.resolve();
      return send(list[i]).then(function (done) {
        if (!done) return;  // no way through yet: keep the rest for later
        remove(list[i].client_ref);
        return next(i + 1);
      });
    }
    return next(0).then(function () { sending = false; show(); }, function () { sending = false; show(); });
  }
  window.volunteerQueue = { add: add, read: read, flush: flush, remove: remove };
  window.addEventListener("online", flush);
  window.setInterval(function () { if (read().length) flush(); }, 30000);  // a signal that came back unnoticed
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-queue-flush]")) flush();
  });
  show();
  flush();
})();
