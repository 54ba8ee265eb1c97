// The kanban board: drag (SortableJS) or keyboard menu -> POST /tickets/<id>/move with the
// version the user saw. The server answers with the card's true state; the websocket keeps
// every viewer's board current. Columns are kept most-urgent-first after each swap.
(function () {
  "use strict";

  function csrfToken() { return window.guichetCsrfToken(); }

  function sortColumn(list) {
    var cards = Array.prototype.filter.call(list.children, function (el) {
      return el.classList.contains("card");
    });
    var sorted = cards.slice().sort(function (a, b) {
      return a.dataset.sort < b.dataset.sort ? -1 : a.dataset.sort > b.dataset.sort ? 1 : 0;
    });
    // Move nothing when already in order: moving a card closes its open menu.
    if (sorted.every(function (card, index) { return card === cards[index]; })) return;
    sorted.forEach(function (card) { list.appendChild(card); });
  }

  function sortAll() {
    document.querySelectorAll(".board-columns .cards").forEach(sortColumn);
  }

  function postMove(card, status, solution) {
    card.classList.add("moving");
    return htmx.ajax("POST", "/tickets/" + card.dataset.id + "/move", {
      source: card,
      swap: "none",
      headers: { "x-csrftoken": csrfToken() },
      values: { status: status, version: card.dataset.version, solution: solution || "" },
    }).finally(function () { card.classList.remove("moving"); });
  }

  var dialog = null;
  function askSolution() {
    dialog = dialog || document.getElementById("solution-dialog");
    return new Promise(function (resolve) {
      var text = dialog.querySelector("textarea");
      text.value = "";
      dialog.returnValue = "";
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "ok" && text.value.trim() ? text.value.trim() : null);
      });
      dialog.showModal();
    });
  }

  function moveTo(card, status, undo) {
    if (status === "resolved") {
      askSolution().then(function (solution) {
        if (solution === null) { undo(); return; }
        postMove(card, status, solution);
      });
    } else {
      postMove(card, status, "");
    }
  }

  function initColumns(root) {
    var board = document.getElementById("board");
    if (!board || board.dataset.movable !== "true" || typeof Sortable === "undefined") return;
    root.querySelectorAll(".cards").forEach(function (list) {
      if (list.sortable) return;
      list.sortable = Sortable.create(list, {
        group: "board",
        animation: 120,
        filter: "a, summary, button",
        preventOnFilter: false,
        onEnd: function (evt) {
          if (evt.from === evt.to) { sortColumn(evt.from); return; }
          var card = evt.item;
          moveTo(card, evt.to.dataset.status, function () {
            evt.from.insertBefore(card, evt.from.children[evt.oldIndex] || null);
          });
        },
      });
    });
  }

  // A card moved from its keyboard menu is re-rendered by the live push (in its new column, or
  // back where it was if refused): focus follows it instead of falling to the page body.
  var refocus = null;
  function restoreFocus() {
    if (!refocus) return;
    var card = document.getElementById("card-" + refocus);
    if (!card) return;
    var active = document.activeElement;
    if (active && active !== document.body && !card.contains(active) && active.isConnected) {
      refocus = null;  // the user has gone elsewhere meanwhile
      return;
    }
    if (!card.contains(active)) card.focus();
    refocus = null;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-move]");
    if (button) {
      var card = button.closest(".card");
      var from = card.parentElement;
      refocus = card.dataset.id;
      moveTo(card, button.dataset.move, function () {
        from.appendChild(card); sortColumn(from); card.focus();
      });
      button.closest("details").open = false;
      card.focus();
      return;
    }
    var toggle = event.target.closest(".column-toggle");
    if (toggle) {
      var column = toggle.closest(".column");
      var collapsed = column.classList.toggle("collapsed");
      toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    }
  });

  // Filters live in the URL (and in the websocket's URL): a change reloads the board.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit-form]");
    if (form) form.submit();
  });
  var typing = null;
  document.addEventListener("input", function (event) {
    if (event.target.id !== "board-q") return;
    clearTimeout(typing);
    typing = setTimeout(function () { event.target.form.submit(); }, 600);
  });

  // A push or an answer replaces a card whole (a colleague's change, or the push of one's own
  // move arriving after its answer): a menu the user had open on it stays open.
  var openMenu = null;
  function rememberOpenMenu() {
    var menu = document.querySelector(".card .card-menu[open]");
    openMenu = menu && {
      card: menu.closest(".card").id,
      focused: menu.contains(document.activeElement),
    };
  }
  function reopenMenu() {
    var remembered = openMenu;
    openMenu = null;
    var card = remembered && document.getElementById(remembered.card);
    var menu = card && card.querySelector(".card-menu");
    if (!menu || menu.open) return;
    menu.open = true;
    if (remembered.focused) menu.querySelector("summary").focus();
  }

  document.addEventListener("htmx:load", function (event) { initColumns(event.target); sortAll(); });
  document.addEventListener("htmx:oobAfterSwap", sortAll);
  document.addEventListener("htmx:wsBeforeMessage", rememberOpenMenu);
  document.addEventListener("htmx:beforeOnLoad", rememberOpenMenu);
  document.addEventListener("htmx:afterOnLoad", reopenMenu);
  document.addEventListener("htmx:wsAfterMessage", function () {
    initColumns(document); sortAll(); restoreFocus(); reopenMenu();
  });
  document.addEventListener("htmx:responseError", function (event) {
    // The ticket vanished (or is no longer visible): its card leaves the board.
    var source = event.detail.elt;
    if (event.detail.xhr.status === 404 && source && source.classList.contains("card")) {
      source.remove();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { initColumns(document); sortAll(); });
})();
