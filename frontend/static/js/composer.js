// The ticket page's composer and keyboard shortcuts. Everything works without this file
// (the form posts, the facts panel opens with <details>); it only adds comfort:
//   r reply, n private note, t take, a change assignment, s status, Ctrl+Enter send,
//   ? the list of shortcuts (the overlay is a translated template: tickets/_shortcuts.html).
// Letter shortcuts never fire while the user is typing in a field.
(function () {
  "use strict";

  function composer() { return document.querySelector("form.composer"); }

  function isTyping(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function focusText(kind) {
    var form = composer();
    if (!form) return false;
    var radio = form.querySelector('input[name="kind"][value="' + kind + '"]');
    if (radio) {
      radio.checked = true;
      radio.dataset.dirty = "1";
    } else if (kind === "note") {
      return false; // requesters write public replies only
    }
    var text = form.querySelector("textarea[name=text]");
    if (!text) return false;
    text.focus();
    return true;
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (!element) return false;
    element.click();
    return true;
  }

  function openAssignment() {
    var details = document.querySelector(".ticket-facts details[id^='edit-assignment-']");
    if (!details) return false;
    details.open = true;
    var select = details.querySelector("select[name=assignee_id]");
    if (select) select.focus();
    return true;
  }

  function focusStatus() {
    var select = document.getElementById("status-target");
    if (!select) return false;
    select.focus();
    return true;
  }

  function showHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog || dialog.open) return false;
    dialog.showModal();
    return true;
  }

  var LETTERS = {
    r: function () { return focusText("reply"); },
    n: function () { return focusText("note"); },
    t: function () { return click("#take"); },
    a: openAssignment,
    s: focusStatus,
    "?": showHelp,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    // Ctrl+Enter (Cmd+Enter on a Mac) sends the composer from any of its fields.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target instanceof Element ? event.target.closest("form.composer") : null;
      if (form) {
        event.preventDefault();
        var send = form.querySelector("#composer-send");
        if (send) form.requestSubmit(send);
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    var action = LETTERS[event.key];
    if (action && action()) event.preventDefault();
  });

  // The help button beside the composer, and the overlay's close button.
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("[data-shortcuts-open]")) showHelp();
  });

  // The solution field matters only when resolving: shown with that status, or when it holds
  // something (typed text, an error).
  function syncSolution(root) {
    var form = root && root.querySelector ? root.querySelector("form.composer") : null;
    if (!form && root instanceof HTMLFormElement && root.matches("form.composer")) form = root;
    if (!form) return;
    var status = form.querySelector("select[name=status]");
    var box = form.querySelector(".composer-solution");
    if (!status || !box) return;
    var text = box.querySelector("textarea");
    var needed = status.value === box.getAttribute("data-for-status");
    box.hidden = !(needed || (text && text.value) || box.querySelector(".field-error"));
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.name === "status" && target.form) {
      syncSolution(target.form.parentNode);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { syncSolution(document); });
  // After any swap of it: the user's own answers, and the live pushes (out of band).
  ["htmx:afterSettle", "htmx:oobAfterSwap", "htmx:wsAfterMessage"].forEach(function (name) {
    document.addEventListener(name, function () { syncSolution(document); });
  });

  // A composer or facts panel coming back with errors replaces itself (outerHTML): put the
  // keyboard on its first field in error, in the fresh element (the old one is gone).
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    if (!detail.requestConfig || !detail.target || detail.target.isConnected) return;
    var fresh = detail.target.id ? document.getElementById(detail.target.id) : null;
    var field = fresh && fresh.querySelector('[aria-invalid="true"]');
    if (field) field.focus();
  });

  // A live push re-renders the composer while someone may be typing in it: app.js carries the
  // text over and puts the focus back; this keeps the caret where it was too.
  var caret = null;
  document.addEventListener("htmx:oobBeforeSwap", function () {
    var active = document.activeElement;
    caret = null;
    if (active && active.id && typeof active.selectionStart === "number") {
      try {
        caret = { id: active.id, start: active.selectionStart, end: active.selectionEnd };
      } catch (error) {
        caret = null; // inputs without a selection (number) say so by throwing
      }
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    if (!caret) return;
    var field = document.getElementById(caret.id);
    var saved = caret;
    caret = null;
    if (field && typeof field.setSelectionRange === "function") {
      try { field.setSelectionRange(saved.start, saved.end); } catch (error) { /* not text */ }
    }
  });
})();
