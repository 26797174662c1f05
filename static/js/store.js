// The store counter: camera scanning of member cards (BarcodeDetector where the browser has it),
// quantity steppers with a running total, and one submit per basket. Everything works without it.
(function () {
  "use strict";

  function setupScanner(root) {
    var box = root.querySelector("[data-scanner]");
    var form = root.querySelector("[data-scan-form]");
    if (!box || !form || box.dataset.ready) return;
    box.dataset.ready = "1";
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    box.hidden = false;
    var video = box.querySelector("[data-scan-video]");
    var status = box.querySelector("[data-scan-status]");
    var stopButton = box.querySelector("[data-scan-stop]");
    var input = form.querySelector("input[name=member_code]");
    var stream = null, timer = null, detector = null;

    function stop() {
      if (timer) { clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.hidden = true; stopButton.hidden = true;
    }
    function tick() {
      detector.detect(video).then(function (codes) {
        var value = codes.length ? (codes[0].rawValue || "").trim() : "";
        if (/^\d{1,18}-?\d{6}$/.test(value)) {
          stop();
          input.value = value;
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
          return;
        }
        timer = setTimeout(tick, 200);
      }).catch(function () { timer = setTimeout(tick, 400); });
    }
    box.querySelector("[data-scan-start]").addEventListener("click", function () {
      try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { box.hidden = true; return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; stopButton.hidden = false;
        status.textContent = status.dataset.scanning || "";
        return video.play();
      }).then(tick).catch(function () {
        stop();
        status.textContent = form.dataset.noCamera || "";
        input.focus();
      });
    });
    stopButton.addEventListener("click", stop);
    window.addEventListener("pagehide", stop);
  }

  function updateTotal(form) {
    var total = 0, any = false;
    form.querySelectorAll("input.qty").forEach(function (input) {
      var n = parseInt(input.value, 10) || 0;
      if (n > 0) any = true;
      total += n * (parseInt(input.dataset.cost, 10) || 0);
    });
    var line = form.querySelector("[data-total-line]");
    if (line) { line.hidden = !any; line.querySelector("[data-total]").textContent = String(total); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-step]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-target"));
    if (!input) return;
    var max = parseInt(input.max, 10);
    var next = (parseInt(input.value, 10) || 0) + parseInt(button.getAttribute("data-step"), 10);
    if (next < 0) next = 0;
    if (!isNaN(max) && next > max) next = max;
    input.value = String(next);
    updateTotal(input.form);
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input.qty")) updateTotal(event.target.form);
  });
  // One basket, one submit: a second tap while the first is on its way does nothing here
  // (and the server would answer it with the first receipt anyway, by client_ref).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });

  function init() { setupScanner(document); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
  document.addEventListener("htmx:afterSwap", init);
})();
