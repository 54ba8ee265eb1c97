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

  // Top bar on a phone: the menu button folds the navigation away (without scripts it stays
  // unfolded). Escape closes it and gives focus back to the button.
  document.addEventListener("DOMContentLoaded", function () {
    var bar = document.querySelector(".topbar");
    var toggle = bar && bar.querySelector(".menu-toggle");
    if (!toggle) return;
    toggle.hidden = false;
    bar.classList.add("has-menu");
    function setOpen(open) {
      bar.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    bar.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && bar.classList.contains("open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  });

  // A form that comes back with errors puts the keyboard on the first field in error, whether
  // it came as a whole page or as an htmx swap answering the user's own request (never on a
  // live push: that would steal focus from someone typing elsewhere).
  function focusFirstError(root) {
    var field = root && root.querySelector && root.querySelector('[aria-invalid="true"]');
    if (field && typeof field.focus === "function") field.focus();
  }
  document.addEventListener("DOMContentLoaded", function () { focusFirstError(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.requestConfig) focusFirstError(event.detail.target);
  });

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

  // A live push re-renders panels that hold forms (the ticket page's facts). Whatever the
  // user already typed or chose there survives the swap, and focus stays put; hidden fields
  // such as the version come from the server, so a stale form still gets a clean conflict.
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  function markDirty(event) {
    var field = event.target;
    if (field && field.form && field.name && field.type !== "hidden") field.dataset.dirty = "1";
  }
  function fieldKey(field) {
    return (field.form ? field.form.getAttribute("action") : "") + "|" + field.name;
  }
  function carryInto(fresh, field) {
    if (field.type === "checkbox" || field.type === "radio") {
      if (field.checked) fresh.setAttribute("checked", ""); else fresh.removeAttribute("checked");
    } else if (fresh instanceof HTMLSelectElement) {
      Array.prototype.forEach.call(fresh.options, function (option) {
        if (option.value === field.value) option.setAttribute("selected", "");
        else option.removeAttribute("selected");
      });
    } else if (fresh instanceof HTMLTextAreaElement) {
      fresh.textContent = field.value;
    } else {
      fresh.setAttribute("value", field.value);
    }
    fresh.dataset.dirty = "1";
  }
  var focusAfterSwap = null;
  var openAfterSwap = [];
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var current = event.detail.target;
    var fragment = event.detail.fragment;
    if (!current || !fragment || !fragment.querySelectorAll) return;
    // A form whose own request is in flight keeps its place: its answer targets it and brings
    // the fresh state. Swapped now, the answer would land nowhere and what was just sent
    // would come back into the new form. Forms only: a board card being moved must still
    // leave its old column when the live push of that very move comes before the answer.
    var inFlight = "form.htmx-request, form .htmx-request";
    if (current.matches(inFlight) || current.querySelector(inFlight)) {
      event.detail.shouldSwap = false;
      return;
    }
    var fresh = {};
    fragment.querySelectorAll("[name]").forEach(function (field) { fresh[fieldKey(field)] = field; });
    current.querySelectorAll("[data-dirty]").forEach(function (field) {
      var match = fresh[fieldKey(field)];
      if (match && match.type !== "hidden") carryInto(match, field);
    });
    var active = document.activeElement;
    focusAfterSwap = active && current.contains(active) && active.id ? active.id : null;
    // An edit form the user opened (a <details> of the facts panel) stays open.
    openAfterSwap = Array.prototype.map.call(
      current.querySelectorAll("details[open][id]"), function (details) { return details.id; });
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    openAfterSwap.forEach(function (id) {
      var details = document.getElementById(id);
      if (details && details.tagName === "DETAILS") details.open = true;
    });
    openAfterSwap = [];
    if (!focusAfterSwap) return;
    var again = document.getElementById(focusAfterSwap);
    focusAfterSwap = null;
    if (again) again.focus({ preventScroll: true });
  });

  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = flash.getAttribute("data-offline") || "…";
  });
})();
