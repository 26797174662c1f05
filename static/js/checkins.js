// Check-in pages: ask for the position only where the checkpoint requires it, never submit twice,
// say so when a weak signal lost the check-in, and a print button for posters. Every page works
// without this file (the server says what to do); with it and htmx the check-in form is boosted:
// one round trip to the result.
(function () {
  "use strict";
  function submitAgain(form) {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  // Capture phase: this runs before htmx's own listener on the form, so that a form waiting for
  // the position (or already sent) never reaches it.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".checkin-form");
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    if (form.getAttribute("data-sent")) {  // a double tap
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    var failed = form.querySelector(".send-failed");
    if (failed) failed.hidden = true;
    if (form.getAttribute("data-need-location") && navigator.geolocation && !form.getAttribute("data-located")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      var note = form.querySelector(".locating");
      if (note) note.hidden = false;
      if (button) button.disabled = true;
      var send = function () {
        form.setAttribute("data-located", "1");
        if (note) note.hidden = true;
        submitAgain(form);
      };
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("input[name=latitude]").value = position.coords.latitude.toFixed(6);
        form.querySelector("input[name=longitude]").value = position.coords.longitude.toFixed(6);
        send();
      }, send, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
      return;
    }
    form.setAttribute("data-sent", "1");
    if (!form.getAttribute("data-scanned-at")) form.setAttribute("data-scanned-at", new Date().toISOString());
    if (button) window.setTimeout(function () { button.disabled = true; }, 0);
  }, true);
  // The check-in form an htmx event is about, if any (app.js finds the request's element).
  function checkinFormOf(event) {
    var elt = window.volunteerApp.requestElement(event);
    return elt ? elt.closest(".checkin-form") : null;
  }
  // A refusal (cooldown, too far away, ...) is a page of its own with a 4xx status: show it.
  // A server in trouble (5xx) counts as lost.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!checkinFormOf(event)) return;
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 500) {
      event.detail.shouldSwap = false;
      lost(event);
    }
  });
  // Lost on the way (no signal, a timeout, the server down): the scan is kept on the phone with
  // the moment of the tap and sent when there is signal (static/js/queue.js); the same client_ref
  // makes sure it counts once, also if the lost request did get through. Where the phone cannot
  // keep it: tap again.
  function lost(event) {
    var form = checkinFormOf(event);
    if (!form) return;
    form.removeAttribute("data-sent");
    var button = form.querySelector("button[type=submit]");
    var field = function (name) { return form.querySelector("input[name=" + name + "]").value || null; };
    var kept = window.volunteerQueue && window.volunteerQueue.add({
      token: form.getAttribute("data-token"), place: form.getAttribute("data-place"),
      scanned_at: form.getAttribute("data-scanned-at") || new Date().toISOString(), client_ref: field("client_ref"),
      latitude: field("latitude"), longitude: field("longitude")});
    if (button) button.disabled = false;  // a tap again is fine: the same client_ref counts once
    if (kept) {
      var saved = form.querySelector(".send-saved");
      if (saved) { saved.hidden = false; if (saved.scrollIntoView) saved.scrollIntoView({ block: "nearest" }); }
      return;
    }
    var failed = form.querySelector(".send-failed");
    if (failed) failed.hidden = false;
  }
  // Sent from the queue: the note about it goes.
  document.addEventListener("queue:changed", function (event) {
    if (event.detail.entries.length) return;
    document.querySelectorAll(".checkin-form .send-saved").forEach(function (note) { note.hidden = true; });
  });
  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:timeout", lost);
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();

// Checkpoint form: "use my position here" fills latitude and longitude from the phone's GPS
// (WGS-84, what check-ins report); the button shows only where the browser can do it.
(function () {
  "use strict";
  var button = document.querySelector("[data-locate]");
  if (!button || !navigator.geolocation) return;
  var state = document.querySelector("[data-locate-state]");
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    if (state) state.textContent = button.getAttribute("data-wait") || "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("f-latitude").value = position.coords.latitude.toFixed(6);
      document.getElementById("f-longitude").value = position.coords.longitude.toFixed(6);
      var gcj = document.querySelector("input[name=gcj02]");
      if (gcj) gcj.checked = false;
      if (state) state.textContent = button.getAttribute("data-done") + " ±" + Math.round(position.coords.accuracy) + " m";
      button.disabled = false;
    }, function () {
      if (state) state.textContent = button.getAttribute("data-failed");
      button.disabled = false;
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 0});
  });
})();
