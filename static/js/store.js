// The store counter: member cards read by the camera (scanner.js) or by a scanner gun,
// quantity steppers with a running total, and one submit per basket. Everything works without it.
(function () {
  "use strict";

  var MEMBER_CODE = /^\d{1,18}-?\d{6}$/;
  function identify(value) {
    var form = document.querySelector("[data-scan-form]");
    if (!form) return false;
    value = (value || "").trim();
    if (!MEMBER_CODE.test(value)) return false;
    form.querySelector("input[name=member_code]").value = value;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
    return true;
  }
  // The camera in the page (scanner.js): a member card's code finds the volunteer.
  document.addEventListener("scanner:code", function (event) {
    if (identify(event.detail.code)) return;
    var status = event.target.querySelector("[data-scan-status]");
    if (status) status.textContent = event.target.getAttribute("data-not-member") || "";
  });
  // A hardware scanner gun types the code fast and ends with Enter. Into the number field it
  // simply submits the form; typed anywhere else on the counter page it is caught here.
  var typed = "", last = 0;
  document.addEventListener("keydown", function (event) {
    if (!document.querySelector("[data-scan-form]")) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var now = Date.now();
    if (now - last > 100) typed = "";  // people type slower than a gun
    last = now;
    if (event.key === "Enter") {
      if (identify(typed)) event.preventDefault();
      typed = "";
    } else if (event.key && event.key.length === 1) {
      typed += event.key;
    }
  });

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
})();
