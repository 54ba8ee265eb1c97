// Service-level countdowns and timed banners: one timer for the whole page, no polling.
// Elements with data-due show what remains (or how late it is); elements swapped in later by
// htmx or the websocket are picked up at the next tick. Banners with data-until go away at
// their end.
(function () {
  "use strict";

  function format(ms, units) {
    var seconds = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var secs = seconds % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (days) return days + " " + units[0] + " " + hours + " " + units[1];
    if (hours) return hours + " " + units[1] + " " + pad(minutes) + " " + units[2];
    return minutes + " " + units[2] + " " + pad(secs) + " " + units[3];
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-due")) - now;
      var units = (el.getAttribute("data-units") || "d h min s").split(" ");
      var out = el.querySelector("[data-remaining]");
      var template = el.getAttribute(left >= 0 ? "data-left" : "data-late") || "{}";
      if (out) out.textContent = template.replace("{}", format(left, units));
      if (left < 0 && !el.classList.contains("sla-breached")) {
        // The server pushes the breach too; say it at once rather than after the next pass.
        el.classList.remove("sla-ok", "sla-at_risk");
        el.classList.add("sla-breached");
        var state = el.querySelector(".sla-state");
        if (state) state.textContent = el.getAttribute("data-breached") || "";
      }
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      if (Date.parse(el.getAttribute("data-until")) <= now) el.remove();
    });
  }

  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
})();
