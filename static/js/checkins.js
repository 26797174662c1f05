// Check-in pages: ask for the position only where the checkpoint requires it, never submit twice,
// and a print button for posters. Every page works without this file (the server says what to do).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest(".checkin-form");
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }  // a double tap
    if (form.getAttribute("data-need-location") && navigator.geolocation && !form.getAttribute("data-located")) {
      event.preventDefault();
      var note = form.querySelector(".locating");
      if (note) note.hidden = false;
      if (button) button.disabled = true;
      var send = function () {
        form.setAttribute("data-located", "1");
        form.setAttribute("data-sent", "1");
        form.submit();
      };
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("input[name=latitude]").value = position.coords.latitude.toFixed(6);
        form.querySelector("input[name=longitude]").value = position.coords.longitude.toFixed(6);
        send();
      }, send, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
      return;
    }
    form.setAttribute("data-sent", "1");
    if (button) window.setTimeout(function () { button.disabled = true; }, 0);
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });
})();
