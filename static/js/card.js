// The member card: when the phone could not fetch a new code in time (no connection), the code
// on the screen is shown as expired, with a large Refresh button; the balance stays in view.
(function () {
  "use strict";
  var deadline = 0;
  function card() { return document.getElementById("member-card"); }
  // A card just shown (the page, or a swap): its code is good for data-valid-seconds from now.
  function fresh() {
    var elt = card();
    if (!elt || elt.getAttribute("data-seen")) return;
    elt.setAttribute("data-seen", "1");
    deadline = Date.now() + (parseInt(elt.getAttribute("data-valid-seconds"), 10) || 60) * 1000;
  }
  function check() {
    var elt = card();
    if (!elt) return;
    fresh();
    var expired = Date.now() >= deadline;
    elt.classList.toggle("is-expired", expired);
    elt.querySelector(".member-expired").hidden = !expired;
  }
  document.addEventListener("htmx:afterSwap", check);
  window.setInterval(check, 2000);
  check();
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-card-refresh]");
    if (!button || !window.htmx) return;
    event.preventDefault();
    window.htmx.ajax("GET", button.getAttribute("href"), { target: "#member-card", swap: "outerHTML" })
      .catch(function () { return null; });
  });
})();
