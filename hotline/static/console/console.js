// The console's only script besides htmx (served by the app: the CSP allows no inline script).
// - [data-expires-in]: an element shown for that many seconds, then removed (a revealed call-back number).
// - [data-confirm]: a button that asks before its form is sent.
// - [data-county-map="<name>"]: a selectable county map (templates/console/map.html). Its paths
//   [data-county="<code>"] tick the checkbox input[name=<name>][value=<code>] of the same form when
//   clicked, or on Enter or Space; the checkboxes stay the real control and the map follows them
//   (a script that ticks one without a click should dispatch "change").
(function () {
  "use strict";
  function countyBox(path) {
    var map = path.closest("[data-county-map]");
    var scope = map.closest("form") || document;
    return scope.querySelector("input[type=checkbox][name='" + map.getAttribute("data-county-map") +
                               "'][value='" + path.getAttribute("data-county") + "']");
  }
  function paintMap(map) {
    map.querySelectorAll("[data-county]").forEach(function (path) {
      var box = countyBox(path);
      var ticked = Boolean(box && box.checked);
      path.classList.toggle("selected", ticked);
      path.setAttribute("aria-checked", ticked ? "true" : "false");
    });
  }
  function paintMaps(root) { root.querySelectorAll("[data-county-map]").forEach(paintMap); }
  function toggleCounty(path) {
    var box = countyBox(path);
    if (box && !box.disabled) { box.click(); }  // click: the form sees input and change, as from the list
  }
  function expire(root) {
    root.querySelectorAll("[data-expires-in]").forEach(function (el) {
      var seconds = parseInt(el.getAttribute("data-expires-in"), 10) || 60;
      setTimeout(function () {
        el.textContent = "Hidden again. Reveal it again if you still need it (the reveal is audited).";
      }, seconds * 1000);
      el.removeAttribute("data-expires-in");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { expire(document); paintMaps(document); });
  window.addEventListener("pageshow", function () { paintMaps(document); });  // a form restored by Back
  document.addEventListener("htmx:afterSwap", function (event) { expire(event.target); paintMaps(document); });
  document.addEventListener("click", function (event) {
    var path = event.target.closest("[data-county-map] [data-county]");
    if (path) { toggleCounty(path); }
  });
  document.addEventListener("keydown", function (event) {
    var path = event.target.closest && event.target.closest("[data-county-map] [data-county]");
    if (path && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();  // Space would scroll the page
      toggleCounty(path);
    }
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[type=checkbox]")) { paintMaps(box.form || document); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
})();
