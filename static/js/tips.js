// Tips: the phone's position on request, a photo-count check, and one send per tap.
// Every form works without this file (the place can be typed; the server refuses a repeat).
(function () {
  "use strict";

  function setup() {
    var button = document.getElementById("locate");
    var status = document.getElementById("locate-status");
    var lat = document.getElementById("f-latitude");
    var lon = document.getElementById("f-longitude");
    if (button && status && lat && lon && navigator.geolocation && window.isSecureContext !== false) {
      button.hidden = false;
      button.addEventListener("click", function () {
        status.classList.remove("is-error");
        status.textContent = button.getAttribute("data-wait");
        button.disabled = true;
        navigator.geolocation.getCurrentPosition(function (position) {
          lat.value = position.coords.latitude.toFixed(6);
          lon.value = position.coords.longitude.toFixed(6);
          var metres = Math.round(position.coords.accuracy || 0);
          status.textContent = metres >= 1 ? button.getAttribute("data-ok").replace("{m}", metres)
            : button.getAttribute("data-ok-plain");
          button.disabled = false;
        }, function () {
          status.classList.add("is-error");
          status.textContent = button.getAttribute("data-fail");
          button.disabled = false;
          var place = document.getElementById("f-place");
          if (place) place.focus();
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }

    var photos = document.getElementById("f-photos");
    var count = document.getElementById("photo-count");
    if (photos && count) {
      photos.addEventListener("change", function () {
        var max = parseInt(photos.getAttribute("data-max"), 10) || 3;
        var tooMany = photos.files && photos.files.length > max;
        count.hidden = !tooMany;
        count.textContent = tooMany ? "✗ " + photos.getAttribute("data-too-many") : "";
        photos.setCustomValidity(tooMany ? photos.getAttribute("data-too-many") : "");
        if (!tooMany) shrinkAll(photos);
      });
    }
    var single = document.getElementById("f-file");
    if (single) single.addEventListener("change", function () { shrinkAll(single); });

    // A double tap sends once: the button waits after the first tap (the server also files once).
    document.querySelectorAll("form[data-send-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
        form.setAttribute("data-sent", "1");
        var submit = form.querySelector("button[type=submit][data-sending]");
        if (submit) {
          submit.setAttribute("data-label", submit.textContent);
          submit.textContent = submit.getAttribute("data-sending");
        }
      });
    });
  }

  // Big camera photos are made smaller on the phone before they are sent (weak signal; the
  // server checks and resizes them again). Anything that fails leaves the original file.
  var MAX_SIDE = 1600;

  function shrink(file) {
    return new Promise(function (resolve) {
      if (!/^image\/(jpeg|png)$/.test(file.type) || file.size < 400 * 1024 || !window.URL || !document.createElement("canvas").toBlob) {
        resolve(file); return;
      }
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
        var context = canvas.getContext("2d");
        context.fillStyle = "#fff";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) {
          if (!blob || blob.size >= file.size) { resolve(file); return; }
          try {
            resolve(new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" }));
          } catch (error) { resolve(file); }
        }, "image/jpeg", 0.85);
      };
      image.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      image.src = url;
    });
  }

  function shrinkAll(input) {
    if (!input.files || !input.files.length || typeof DataTransfer === "undefined" || !window.Promise) return;
    Promise.all(Array.prototype.map.call(input.files, shrink)).then(function (files) {
      try {
        var transfer = new DataTransfer();
        files.forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
      } catch (error) { /* keep the originals */ }
    });
  }

  // Coming back to the page (browser back) makes it usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      var submit = form.querySelector("button[data-label]");
      if (submit) submit.textContent = submit.getAttribute("data-label");
    });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
