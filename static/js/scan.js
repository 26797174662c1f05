// The 签到 tab: a code read by the camera in the page (scanner.js) goes through the same form
// as a typed one (the server finds the poster or the event).
(function () {
  "use strict";
  document.addEventListener("scanner:code", function (event) {
    var form = document.querySelector("[data-scan-code-form]");
    if (!form) return;
    form.querySelector("input[name=code]").value = event.detail.code;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
})();
