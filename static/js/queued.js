// 待补交: list what static/js/queue.js keeps on this phone, and keep a checkpoint picked by hand
// (sent at once when there is signal; the server holds it for the coordinators).
(function () {
  "use strict";
  var list = document.querySelector(".queue-list");
  if (!list || !window.volunteerQueue) return;
  function two(v) { return (v < 10 ? "0" : "") + v; }
  function when(iso) {
    var d = new Date(iso);
    return two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  function draw() {
    var entries = window.volunteerQueue.read();
    list.textContent = "";
    if (!entries.length) {
      var none = document.createElement("li");
      none.textContent = list.getAttribute("data-empty");
      list.appendChild(none);
    }
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.textContent = when(entry.scanned_at) + " · " + (entry.place || "?") +
        (entry.manual ? " · " + list.getAttribute("data-by-hand") : "");
      list.appendChild(item);
    });
  }
  document.addEventListener("queue:changed", draw);
  draw();
  var form = document.querySelector(".unscanned-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var select = form.querySelector("select[name=checkpoint_id]");
    var ref = form.querySelector("input[name=client_ref]");
    window.volunteerQueue.add({ manual: true, checkpoint_id: select.value, place: select.options[select.selectedIndex].text,
                                scanned_at: new Date().toISOString(), client_ref: ref.value });
    ref.value = "h" + Date.now().toString(16) + Math.random().toString(16).slice(2, 10);  // the next one is another
    window.volunteerQueue.flush();
  });
})();
