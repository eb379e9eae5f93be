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

// The campaign builder's SMS counters: [data-sms-counter] on a textarea names the <output> that shows,
// as the manager types, the encoding (GSM-7, or UCS-2 when one character is outside it), the length
// in the units that encoding counts (GSM-7 septets, an extension character counting two; UCS-2 UTF-16
// code units, an emoji counting two), the SMS it takes (160/153 or 70/67 per part) and the characters
// that force UCS-2. The alphabet comes from the server (flows/gsm.py) on the form's data-gsm-* attributes,
// so this count and the service's never differ.
(function () {
  "use strict";
  var MAX_SMS = 3;
  function alphabet(form, name) {
    try { return new Set(Array.from(JSON.parse(form.getAttribute(name) || '""'))); }
    catch (e) { return new Set(); }
  }
  function count(text, basic, extended) {
    var chars = Array.from(text), outside = [], septets = 0;
    chars.forEach(function (ch) {
      if (extended.has(ch)) { septets += 2; }
      else if (basic.has(ch)) { septets += 1; }
      else if (outside.indexOf(ch) < 0) { outside.push(ch); }
    });
    outside.sort(function (a, b) { return a.codePointAt(0) - b.codePointAt(0); });
    var gsm = outside.length === 0;
    var length = gsm ? septets : text.length;  // a JS string's length is in UTF-16 code units
    var single = gsm ? 160 : 70, joined = gsm ? 153 : 67;
    var parts = length <= single ? 1 : Math.ceil(length / joined);
    return { encoding: gsm ? "GSM-7" : "UCS-2", length: length, parts: parts, outside: outside };
  }
  function describe(c) {
    var text = c.encoding + " · " + c.length + " characters · " + c.parts + " SMS";
    if (c.outside.length) { text += " · not in GSM-7: " + c.outside.join(" "); }
    if (c.parts > MAX_SMS) { text += " · too long: keep it to " + MAX_SMS + " SMS"; }
    return text;
  }
  function update(area) {
    var form = area.closest("[data-gsm-basic]"), out = document.getElementById(area.getAttribute("data-sms-counter"));
    if (!form || !out) { return; }
    if (!form._gsm) { form._gsm = [alphabet(form, "data-gsm-basic"), alphabet(form, "data-gsm-extended")]; }
    var c = count(area.value, form._gsm[0], form._gsm[1]);
    out.textContent = describe(c);
    out.classList.toggle("ucs2", c.encoding === "UCS-2");
    out.classList.toggle("too-long", c.parts > MAX_SMS);
  }
  function init(root) { root.querySelectorAll("textarea[data-sms-counter]").forEach(update); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-sms-counter]")) { update(event.target); }
  });
})();
