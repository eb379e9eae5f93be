// The console's only script besides htmx (served by the app: the CSP allows no inline script).
// - [data-expires-in]: an element shown for that many seconds, then removed (a revealed call-back number).
// - [data-confirm]: a button that asks before its form is sent.
(function () {
  "use strict";
  function expire(root) {
    root.querySelectorAll("[data-expires-in]").forEach(function (el) {
      var seconds = parseInt(el.getAttribute("data-expires-in"), 10) || 60;
      setTimeout(function () {
        el.textContent = "Hidden again. Reveal it again if you still need it (the reveal is audited).";
      }, seconds * 1000);
      el.removeAttribute("data-expires-in");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { expire(document); });
  document.addEventListener("htmx:afterSwap", function (event) { expire(event.target); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
})();
