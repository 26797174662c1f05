// QR codes read by the camera inside the page: the browser's BarcodeDetector where it has one,
// else the vendored jsQR (static/vendor/jsqr-1.4.0, loaded only when the camera opens).
// A box [data-scanner] holds [data-scan-start], [data-scan-video], [data-scan-status],
// [data-scan-stop]; it shows only where the browser can give the page a camera. On a code,
// the box's "scanner:code" event carries it (detail.code); its page decides what to do.
(function () {
  "use strict";
  var jsqrLoading = null;
  function loadJsqr(src) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrLoading) {
      jsqrLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return jsqrLoading;
  }
  // A function that reads one frame of the video: a promise of the text of a QR code, or "".
  function reader(box, video) {
    if ("BarcodeDetector" in window) {
      try {
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return Promise.resolve(function () {
          return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue || "" : ""; });
        });
      } catch (e) { /* fall through to jsQR */ }
    }
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    return loadJsqr(box.getAttribute("data-jsqr")).then(function (jsQR) {
      return function () {
        var width = video.videoWidth, height = video.videoHeight;
        if (!width || !height) return Promise.resolve("");
        var scale = Math.min(1, 800 / Math.max(width, height));  // enough for a poster, quick on old phones
        canvas.width = Math.round(width * scale); canvas.height = Math.round(height * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(found ? found.data : "");
      };
    });
  }
  function setup(box) {
    if (box.getAttribute("data-scanner-ready")) return;
    box.setAttribute("data-scanner-ready", "1");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    box.hidden = false;
    var video = box.querySelector("[data-scan-video]");
    var status = box.querySelector("[data-scan-status]");
    var stopButton = box.querySelector("[data-scan-stop]");
    var stream = null, timer = null;
    function stop() {
      if (timer) { window.clearTimeout(timer); timer = null; }
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
      video.hidden = true; stopButton.hidden = true;
    }
    function failed() {
      stop();
      status.textContent = box.getAttribute("data-no-camera") || "";
    }
    box.querySelector("[data-scan-start]").addEventListener("click", function () {
      status.textContent = box.getAttribute("data-starting") || "";
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; stopButton.hidden = false;
        return video.play();
      }).then(function () { return reader(box, video); }).then(function (read) {
        status.textContent = box.getAttribute("data-scanning") || "";
        function tick() {
          if (!stream) return;
          read().then(function (text) {
            text = (text || "").trim();
            if (text) {
              stop();
              box.dispatchEvent(new CustomEvent("scanner:code", { detail: { code: text }, bubbles: true }));
              return;
            }
            timer = window.setTimeout(tick, 200);
          }, function () { timer = window.setTimeout(tick, 400); });
        }
        tick();
      }).catch(failed);
    });
    stopButton.addEventListener("click", stop);
    window.addEventListener("pagehide", stop);
  }
  function setupAll(root) { (root || document).querySelectorAll("[data-scanner]").forEach(setup); }
  window.qrScanner = { setupAll: setupAll };
  setupAll();
  document.addEventListener("htmx:load", function (event) { setupAll(event.target); });
})();
