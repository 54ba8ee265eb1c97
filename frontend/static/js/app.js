// Guichet's small island of script: everything else is htmx attributes in the templates.
(function () {
  "use strict";

  // The CSRF token the page carries in hx-headers, for the few requests made by script.
  window.guichetCsrfToken = function () {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
    } catch (error) {
      return "";
    }
  };

  // Language picker: submit on change (a button is shown when scripts are off).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
      target.form.submit();
    }
  });

  // Errors htmx does not swap (403, 404, 500...): show the server's translated message.
  document.addEventListener("htmx:responseError", function (event) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var box = document.createElement("div");
    box.innerHTML = event.detail.xhr.responseText;
    var message = box.querySelector(".alert");
    flash.textContent = "";
    if (message) flash.appendChild(message);
  });

  // Live connection indicator (websocket pages): live, or reconnecting with backoff.
  function liveState(state) {
    var badge = document.getElementById("live-status");
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = badge.getAttribute(state === "live" ? "data-live" : "data-reconnecting");
  }
  // "Live" once the snapshot sent after (re)connecting is on the page, not merely connected.
  var syncing = false;
  document.addEventListener("htmx:wsOpen", function () { syncing = true; });
  document.addEventListener("htmx:wsAfterMessage", function () {
    if (syncing) { syncing = false; liveState("live"); }
  });
  document.addEventListener("htmx:wsClose", function () { liveState("reconnecting"); });
  document.addEventListener("htmx:wsError", function () { liveState("reconnecting"); });

  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = flash.getAttribute("data-offline") || "…";
  });
})();
