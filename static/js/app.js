// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Buttons marked data-copy copy the text of the element they name (codes are pasted, never retyped).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source) navigator.clipboard.writeText(source.textContent.trim());
  });
  // A partial update that got no answer (no signal, a timeout, a server in trouble) is said in
  // words at the top of the page, until the next one gets through. The check-in form has its own.
  function lostNotice() { return document.querySelector(".net-lost"); }
  // The element an htmx request came from (a swap's events fire on its target instead).
  function requestElement(event) {
    var config = event.detail && event.detail.requestConfig;
    var elt = (config && config.elt) || event.target;
    return elt && elt.closest ? elt : null;
  }
  window.volunteerApp = { requestElement: requestElement };
  // WeChat's browser neither downloads files (CSV, calendar feeds) nor prints: say where they work.
  if (/MicroMessenger/i.test(navigator.userAgent)) {
    var unable = "a[download], a[href*='.csv'], a[href*='.ics'], a[href^='webcal:'], [data-print]";
    var wechat = function () { return document.querySelector(".wechat-open"); };
    if (document.querySelector(unable) && wechat()) wechat().hidden = false;
    document.addEventListener("click", function (event) {
      if (!event.target.closest(unable) || !wechat()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      wechat().hidden = false;
      if (wechat().scrollIntoView) wechat().scrollIntoView({ block: "nearest" });
    }, true);
  }
  function lost(event) {
    var notice = lostNotice();
    var elt = requestElement(event);
    if (!notice || (elt && elt.closest(".checkin-form"))) return;
    notice.hidden = false;
    if (notice.scrollIntoView) notice.scrollIntoView({ block: "nearest" });
  }
  // An ordinary form post (not htmx) that has had no answer in the time htmx waits (15 s): say so,
  // and what to do.
  var slowTimer = null;
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented || !event.target.closest("form")) return;
    window.clearTimeout(slowTimer);
    slowTimer = window.setTimeout(function () {
      var notice = document.querySelector(".net-slow");
      if (!notice) return;
      notice.hidden = false;
      if (notice.scrollIntoView) notice.scrollIntoView({ block: "nearest" });
    }, (window.htmx && window.htmx.config.timeout) || 15000);
  });
  window.addEventListener("pageshow", function () {
    window.clearTimeout(slowTimer);
    var notice = document.querySelector(".net-slow");
    if (notice) notice.hidden = true;
  });
  // A form marked data-swap-refusals shows a refusal (422: the form again, errors beside the
  // fields) in place of itself.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = requestElement(event);
    if (elt && elt.closest("[data-swap-refusals]") && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:timeout", lost);
  document.addEventListener("htmx:afterRequest", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 500) { lost(event); return; }
    var notice = lostNotice();
    if (notice && event.detail.successful) notice.hidden = true;
  });
})();
