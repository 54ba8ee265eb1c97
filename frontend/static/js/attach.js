// Attachments: pick, drop or paste files; images open in a redaction editor where the user
// draws opaque boxes (no blur: blur can be undone). Each file is uploaded on its own request
// with a progress bar; the server burns the boxes into the pixels and strips all metadata.
(function () {
  "use strict";

  function csrfToken() { return window.guichetCsrfToken(); }

  function text(root, key) { return root.getAttribute("data-" + key) || ""; }

  // ---- Redaction editor -------------------------------------------------------------------
  // Works the same with a mouse, a pen or fingers (pointer events): drag on the image to draw a
  // box; drag a box to move it; drag a corner handle of the chosen box to resize it; two
  // fingers pinch to zoom. The image first fits the screen, so nothing is off-screen unseen.
  // Boxes are kept in image pixels, whatever the zoom.
  var HANDLE = 14;  // CSS pixels: big enough for a finger, drawn smaller
  var MIN_SCALE = 0.05;
  var MAX_SCALE = 4;

  function Editor(root, file, done) {
    var dialog = root.querySelector(".redact-dialog");
    var frame = dialog.querySelector(".redact-canvas");
    var canvas = dialog.querySelector("canvas");
    var list = dialog.querySelector(".redact-boxes");
    var ctx = canvas.getContext("2d");
    var image = new Image();
    var boxes = [];
    var chosen = -1;  // index of the box with handles
    var scale = 1;
    var gesture = null;  // what the pointers are doing: draw, move, resize or pinch
    var pointers = {};
    var url = URL.createObjectURL(file);

    function setScale(value) {
      scale = Math.max(MIN_SCALE, Math.min(MAX_SCALE, value));
      draw();
    }

    function draw() {
      canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#000";
      var shown = boxes.slice();
      if (gesture && gesture.kind === "draw" && gesture.box.width > 0) shown.push(gesture.box);
      shown.forEach(function (b) {
        ctx.fillRect(b.x * scale, b.y * scale, b.width * scale, b.height * scale);
      });
      if (chosen >= 0 && boxes[chosen]) {
        var b = boxes[chosen];
        ctx.strokeStyle = "#f0b429";
        ctx.lineWidth = 3;
        ctx.strokeRect(b.x * scale, b.y * scale, b.width * scale, b.height * scale);
        ctx.fillStyle = "#f0b429";
        corners(b).forEach(function (c) {
          ctx.fillRect(c.x * scale - 6, c.y * scale - 6, 12, 12);
        });
      }
      list.textContent = "";
      boxes.forEach(function (b, index) {
        var item = document.createElement("li");
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = text(root, "remove") + " " + (index + 1);
        remove.addEventListener("click", function () {
          boxes.splice(index, 1); chosen = -1; draw();
        });
        item.appendChild(remove);
        list.appendChild(item);
      });
    }

    function corners(b) {
      return [
        { x: b.x, y: b.y, name: "nw" }, { x: b.x + b.width, y: b.y, name: "ne" },
        { x: b.x, y: b.y + b.height, name: "sw" }, { x: b.x + b.width, y: b.y + b.height, name: "se" },
      ];
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      // The canvas may be shown smaller than its pixels (CSS max-width): map through its size.
      var ratio = rect.width ? canvas.width / rect.width : 1;
      return {
        x: Math.max(0, Math.min(image.naturalWidth, (event.clientX - rect.left) * ratio / scale)),
        y: Math.max(0, Math.min(image.naturalHeight, (event.clientY - rect.top) * ratio / scale)),
      };
    }

    function handleAt(p) {
      if (chosen < 0 || !boxes[chosen]) return null;
      var reach = HANDLE / scale;
      var found = null;
      corners(boxes[chosen]).forEach(function (c) {
        if (!found && Math.abs(c.x - p.x) <= reach && Math.abs(c.y - p.y) <= reach) found = c.name;
      });
      return found;
    }

    function boxAt(p) {
      for (var i = boxes.length - 1; i >= 0; i -= 1) {
        var b = boxes[i];
        if (p.x >= b.x && p.x <= b.x + b.width && p.y >= b.y && p.y <= b.y + b.height) return i;
      }
      return -1;
    }

    function distance() {
      var ids = Object.keys(pointers);
      var a = pointers[ids[0]], b = pointers[ids[1]];
      return Math.hypot(a.clientX - b.clientX, a.clientY - b.clientY) || 1;
    }

    function onDown(event) {
      event.preventDefault();
      pointers[event.pointerId] = { clientX: event.clientX, clientY: event.clientY };
      canvas.setPointerCapture(event.pointerId);
      if (Object.keys(pointers).length === 2) {
        // A second finger: whatever the first one started becomes a pinch.
        gesture = { kind: "pinch", from: distance(), scale: scale };
        draw();
        return;
      }
      var p = point(event);
      var handle = handleAt(p);
      if (handle) {
        gesture = { kind: "resize", handle: handle, box: boxes[chosen] };
        return;
      }
      var hit = boxAt(p);
      if (hit >= 0) {
        chosen = hit;
        var b = boxes[hit];
        gesture = { kind: "move", box: b, dx: p.x - b.x, dy: p.y - b.y };
        draw();
        return;
      }
      chosen = -1;
      gesture = { kind: "draw", box: { x: p.x, y: p.y, width: 0, height: 0 }, ox: p.x, oy: p.y };
    }

    function onMove(event) {
      if (!(event.pointerId in pointers)) return;
      pointers[event.pointerId] = { clientX: event.clientX, clientY: event.clientY };
      if (!gesture) return;
      if (gesture.kind === "pinch") {
        if (Object.keys(pointers).length === 2) setScale(gesture.scale * distance() / gesture.from);
        return;
      }
      var p = point(event);
      var b = gesture.box;
      if (gesture.kind === "draw") {
        b.x = Math.min(p.x, gesture.ox); b.y = Math.min(p.y, gesture.oy);
        b.width = Math.abs(p.x - gesture.ox); b.height = Math.abs(p.y - gesture.oy);
      } else if (gesture.kind === "move") {
        b.x = Math.max(0, Math.min(image.naturalWidth - b.width, p.x - gesture.dx));
        b.y = Math.max(0, Math.min(image.naturalHeight - b.height, p.y - gesture.dy));
      } else if (gesture.kind === "resize") {
        var left = b.x, top = b.y, right = b.x + b.width, bottom = b.y + b.height;
        if (gesture.handle.indexOf("w") >= 0) left = p.x; else right = p.x;
        if (gesture.handle.indexOf("n") >= 0) top = p.y; else bottom = p.y;
        b.x = Math.min(left, right); b.y = Math.min(top, bottom);
        b.width = Math.abs(right - left); b.height = Math.abs(bottom - top);
        // Crossing corners swaps them: keep dragging the one under the pointer.
        gesture.handle = (p.y < b.y + b.height / 2 ? "n" : "s") + (p.x < b.x + b.width / 2 ? "w" : "e");
      }
      draw();
    }

    function onUp(event) {
      delete pointers[event.pointerId];
      if (!gesture) return;
      if (gesture.kind === "draw") {
        var b = gesture.box;
        if (b.width > 2 && b.height > 2) {
          boxes.push({ x: b.x, y: b.y, width: b.width, height: b.height });
          chosen = boxes.length - 1;
        }
      }
      if (gesture.kind !== "pinch" || Object.keys(pointers).length === 0) gesture = null;
      draw();
    }

    function fit() {
      // The frame's inner width is what the screen leaves; on a phone the dialog is ~95vw.
      var width = frame.clientWidth || window.innerWidth;
      var height = Math.max(200, window.innerHeight * 0.6);
      setScale(Math.min(1, width / image.naturalWidth, height / image.naturalHeight));
    }

    function close(result) {
      canvas.removeEventListener("pointerdown", onDown);
      canvas.removeEventListener("pointermove", onMove);
      canvas.removeEventListener("pointerup", onUp);
      canvas.removeEventListener("pointercancel", onUp);
      dialog.close();
      URL.revokeObjectURL(url);
      done(result);
    }

    dialog.querySelector("[data-action=undo]").onclick = function () {
      boxes.pop(); chosen = -1; draw();
    };
    dialog.querySelector("[data-action=zoom-in]").onclick = function () { setScale(scale * 1.25); };
    dialog.querySelector("[data-action=zoom-out]").onclick = function () { setScale(scale / 1.25); };
    dialog.querySelector("[data-action=attach]").onclick = function () { close(boxes.slice()); };
    dialog.querySelector("[data-action=cancel]").onclick = function () { close(null); };
    canvas.addEventListener("pointerdown", onDown);
    canvas.addEventListener("pointermove", onMove);
    canvas.addEventListener("pointerup", onUp);
    canvas.addEventListener("pointercancel", onUp);
    image.onload = function () {
      draw();
      dialog.showModal();
      fit();
    };
    image.onerror = function () { close([]); };  // not displayable here: the server decides
    image.src = url;
  }

  // ---- Uploads ----------------------------------------------------------------------------
  // A text file with possible patient identifiers: show them highlighted, let the user untick
  // false positives and add more text to hide, then send again with that review.
  function review(root, file, findings, row, finished, extractedText) {
    var panel = document.createElement("div");
    panel.className = "review";
    var intro = document.createElement("p");
    intro.textContent = text(root, "review");
    var preview = document.createElement("pre");
    preview.className = "review-preview";
    var list = document.createElement("ul");
    findings.forEach(function (finding) {
      var item = document.createElement("li");
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox"; box.checked = true; box.value = String(finding.start);
      var mark = document.createElement("mark");
      mark.textContent = finding.text;
      label.append(box, " ", mark, " (" + finding.kind + ")");
      item.appendChild(label);
      list.appendChild(item);
    });
    var more = document.createElement("input");
    more.placeholder = text(root, "more");
    more.className = "review-more";
    var send = document.createElement("button");
    send.type = "button"; send.className = "primary"; send.textContent = text(root, "redact-send");
    var asIs = document.createElement("button");
    asIs.type = "button"; asIs.textContent = text(root, "send-as-is");
    panel.append(intro, preview, list, more, send, asIs);
    row.after(panel);
    // Documents: the server sends the text it extracted (the offsets are in that text).
    var extracted = typeof extractedText === "string" ? Promise.resolve(extractedText) : file.text();
    extracted.then(function (content) {
      var shown = content.slice(0, 4000);
      var at = 0;
      findings.filter(function (f) { return f.end <= shown.length; }).forEach(function (f) {
        preview.append(shown.slice(at, f.start));
        var m = document.createElement("mark");
        m.textContent = shown.slice(f.start, f.end);
        preview.append(m);
        at = f.end;
      });
      preview.append(shown.slice(at));
    });
    function again(extra) {
      panel.remove();
      row.remove();
      upload(root, file, [], finished, extra);
    }
    send.onclick = function () {
      var keep = Array.prototype.filter.call(list.querySelectorAll("input"), function (box) {
        return !box.checked;
      }).map(function (box) { return Number(box.value); });
      again({ phi: "redact", keep: JSON.stringify(keep),
              mark: JSON.stringify(more.value.trim() ? [more.value.trim()] : []) });
    };
    asIs.onclick = function () { again({ phi: "send" }); };
  }

  function upload(root, file, boxes, finished, extra) {
    var row = document.createElement("li");
    var name = document.createElement("span");
    var bar = document.createElement("progress");
    var status = document.createElement("span");
    name.textContent = file.name || "capture.png";
    bar.max = 100; bar.value = 0;
    status.className = "upload-status";
    row.append(name, bar, status);
    root.querySelector(".uploads").appendChild(row);

    var form = new FormData();
    form.append("file", file, file.name || "capture.png");
    form.append("boxes", JSON.stringify(boxes || []));
    Object.keys(extra || {}).forEach(function (key) { form.append(key, extra[key]); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", root.getAttribute("data-url"));
    xhr.setRequestHeader("x-csrftoken", csrfToken());
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) bar.value = Math.round((100 * event.loaded) / event.total);
    };
    var ok = false;
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (error) { body = {}; }
      if (xhr.status === 201) {
        ok = true;
        bar.value = 100;
        status.textContent = text(root, "done");
        row.classList.add("done");
      } else if (xhr.status === 422 && body.findings) {
        status.textContent = body.error || "";
        review(root, file, body.findings, row, finished, body.preview);
        finished = null;  // the review's upload will finish it
      } else {
        row.classList.add("failed");
        status.textContent = body.error || text(root, "failed");
      }
    };
    xhr.onerror = function () { row.classList.add("failed"); status.textContent = text(root, "failed"); };
    xhr.onloadend = function () { if (finished) finished(ok); };
    xhr.send(form);
  }

  // On the new-ticket form there is no ticket yet: files wait in a queue (with their
  // redaction boxes), and are sent once the form has created the ticket.
  function accept(root, file, boxes) {
    if (root.getAttribute("data-url")) { upload(root, file, boxes); return; }
    root.queue = root.queue || [];
    var item = { file: file, boxes: boxes };
    root.queue.push(item);
    var row = document.createElement("li");
    row.className = "queued";
    var name = document.createElement("span");
    name.textContent = file.name || "capture.png";
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = text(root, "queued");
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = text(root, "unqueue");
    remove.addEventListener("click", function () {
      root.queue.splice(root.queue.indexOf(item), 1);
      row.remove();
    });
    row.append(name, " ", status, " ", remove);
    root.querySelector(".uploads").appendChild(row);
  }

  function take(root, files) {
    Array.prototype.forEach.call(files, function (file) {
      if (file.type && file.type.indexOf("image/") === 0) {
        new Editor(root, file, function (boxes) { if (boxes !== null) accept(root, file, boxes); });
      } else {
        accept(root, file, []);
      }
    });
  }

  // The form came back (patient identifiers to review, a field to correct): show the new
  // form but keep this uploader, with its queue, its boxes and its listeners, in its place.
  // Only a page that is not the form (an error page) replaces everything.
  function showReturnedForm(root, html) {
    var returned = new DOMParser().parseFromString(html, "text/html");
    var placeholder = returned.querySelector(".uploader[data-queue]");
    var current = root.closest("section.card");
    var card = placeholder && placeholder.closest("section.card");
    if (!card || !current) {
      document.open(); document.write(html); document.close();
      return;
    }
    card = document.importNode(card, true);
    card.querySelector(".uploader[data-queue]").replaceWith(root);
    current.replaceWith(card);
    if (window.htmx) window.htmx.process(card);
    var first = card.querySelector("[role=alert], [aria-invalid=true]");
    if (first) {
      if (!first.hasAttribute("tabindex") && first.getAttribute("role") === "alert") {
        first.setAttribute("tabindex", "-1");
      }
      first.focus();
    }
  }

  // The ticket exists: send the queued files to it, then open it, unless one failed: then
  // stay, say so, and link to the ticket (the failed rows say why).
  function sendQueue(root, ticketUrl) {
    root.setAttribute("data-url", ticketUrl + "/attachments");
    root.querySelectorAll(".uploads li.queued").forEach(function (row) { row.remove(); });
    var queue = root.queue;
    root.queue = [];
    var pending = queue.map(function (item) {
      return new Promise(function (resolve) { upload(root, item.file, item.boxes, resolve); });
    });
    return Promise.all(pending).then(function (results) {
      if (results.every(Boolean)) { window.location = ticketUrl; return; }
      var notice = document.createElement("p");
      notice.className = "alert upload-incomplete";
      notice.setAttribute("role", "alert");
      var link = document.createElement("a");
      link.href = ticketUrl;
      link.textContent = text(root, "open-ticket");
      notice.append(text(root, "incomplete"), " ", link);
      root.prepend(notice);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var root = form.querySelector(".uploader[data-queue]");
    if (!root || !root.queue || !root.queue.length) return;
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    fetch(form.action, { method: "POST", body: data, headers: { "x-csrftoken": csrfToken() } })
      .then(function (response) {
        var match = /\/tickets\/(\d+)$/.exec(new URL(response.url).pathname);
        if (!response.ok || !match) {
          return response.text().then(function (html) { showReturnedForm(root, html); });
        }
        return sendQueue(root, "/tickets/" + match[1]);
      })
      .catch(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
        window.alert(text(root, "failed"));
      });
  });

  function bind(root) {
    if (root.dataset.bound) return;
    root.dataset.bound = "1";
    var input = root.querySelector("input[type=file]");
    input.addEventListener("change", function () { take(root, input.files); input.value = ""; });
    root.addEventListener("dragover", function (event) { event.preventDefault(); root.classList.add("over"); });
    root.addEventListener("dragleave", function () { root.classList.remove("over"); });
    root.addEventListener("drop", function (event) {
      event.preventDefault();
      root.classList.remove("over");
      take(root, event.dataTransfer.files);
    });
  }

  // A screenshot pasted anywhere on a ticket page goes to its uploader.
  document.addEventListener("paste", function (event) {
    var root = document.querySelector(".uploader");
    if (!root || !event.clipboardData) return;
    var files = [];
    Array.prototype.forEach.call(event.clipboardData.items || [], function (item) {
      if (item.kind === "file") {
        var file = item.getAsFile();
        if (file) files.push(file);
      }
    });
    if (files.length) { event.preventDefault(); take(root, files); }
  });

  function bindAll() { document.querySelectorAll(".uploader").forEach(bind); }
  document.addEventListener("DOMContentLoaded", bindAll);
  document.addEventListener("htmx:load", bindAll);
})();
