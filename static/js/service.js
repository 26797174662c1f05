/* Sign out of a duty with the phone's position when the phone gives it (posts that require a
   position check it; elsewhere it is simply not sent). The form works without this script. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-position]").forEach(function (form) {
    var asked = false;
    form.addEventListener("submit", function (event) {
      if (asked || !navigator.geolocation) { return; }
      event.preventDefault();
      asked = true;
      var send = function () { form.submit(); };
      var timer = setTimeout(send, 8000);
      navigator.geolocation.getCurrentPosition(function (position) {
        clearTimeout(timer);
        form.elements.latitude.value = position.coords.latitude;
        form.elements.longitude.value = position.coords.longitude;
        send();
      }, function () { clearTimeout(timer); send(); }, { enableHighAccuracy: true, timeout: 7000, maximumAge: 60000 });
    });
  });
}());
