// Bulk selection on the ticket lists and the board. Checkboxes (name="ids", form="bulk-form")
// may be re-rendered at any time by live updates: the selection is kept here and put back
// after each swap; shift-click selects a range; the form sends exactly this selection.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var selected = new Set();
  var last = null;

  function boxes() {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
  }
  function allMatching() {
    var all = document.querySelector("[data-bulk-all]");
    return all && all.checked ? all : null;
  }
  function refresh() {
    boxes().forEach(function (b) { b.checked = selected.has(b.value); });
    var count = form.querySelector("[data-bulk-count]");
    var all = allMatching();
    if (count) count.textContent = all ? all.dataset.total : String(selected.size);
  }
  function showFields() {
    var action = form.querySelector("[data-bulk-action]").value;
    form.querySelectorAll("[data-bulk-for]").forEach(function (el) {
      el.hidden = el.dataset.bulkFor !== action;
    });
  }

  document.addEventListener("click", function (ev) {
    var box = ev.target.closest && ev.target.closest('input[name="ids"][form="bulk-form"]');
    if (!box) return;
    var list = boxes();
    if (ev.shiftKey && last !== null) {
      var from = list.findIndex(function (b) { return b.value === last; });
      var to = list.indexOf(box);
      if (from >= 0) {
        list.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (b) {
          if (box.checked) selected.add(b.value); else selected.delete(b.value);
        });
      }
    }
    if (box.checked) selected.add(box.value); else selected.delete(box.value);
    last = box.value;
    refresh();
  });
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t.matches("[data-bulk-page]")) {
      boxes().forEach(function (b) {
        if (t.checked) selected.add(b.value); else selected.delete(b.value);
      });
      refresh();
    } else if (t.matches("[data-bulk-all]")) {
      refresh();
    } else if (t.matches("[data-bulk-action]")) {
      showFields();
    }
  });
  form.addEventListener("htmx:configRequest", function (ev) {
    var data = ev.detail.formData;
    data.delete("ids");
    selected.forEach(function (id) { data.append("ids", id); });
    if (allMatching()) {
      data.set("all_matching", "1");
      data.set("query", window.location.search.replace(/^\?/, ""));
    } else {
      data.delete("all_matching");
    }
  });
  form.addEventListener("htmx:afterRequest", function (ev) {
    if (ev.detail.successful) {
      selected.clear();
      var all = allMatching();
      if (all) all.checked = false;
      refresh();
    }
  });
  ["htmx:afterSettle", "htmx:oobAfterSwap", "htmx:wsAfterMessage"].forEach(function (name) {
    document.body.addEventListener(name, refresh);
  });
  showFields();
  refresh();
})();
