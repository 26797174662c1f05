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
})();
