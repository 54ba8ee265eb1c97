// Attachments: pick, drop or paste files; images open in a redaction editor where the user
// draws opaque boxes (no blur: blur can be undone). Each file is uploaded on its own request
// with a progress bar; the server burns the boxes into the pixels and strips all metadata.
(function () {
  "use strict";

  function csrfToken() { return window.guichetCsrfToken(); }

  function text(root, key) { return root.getAttribute("data-" + key) || ""; }

  // ---- Redaction editor -------------------------------------------------------------------
  function Editor(root, file, done) {
    var dialog = root.querySelector(".redact-dialog");
    var canvas = dialog.querySelector("canvas");
    var list = dialog.querySelector(".redact-boxes");
    var ctx = canvas.getContext("2d");
    var image = new Image();
    var boxes = [];
    var scale = 1;
    var drag = null;
    var url = URL.createObjectURL(file);

    function draw() {
      canvas.width = Math.round(image.naturalWidth * scale);
      canvas.height = Math.round(image.naturalHeight * scale);
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#000";
      boxes.concat(drag ? [drag] : []).forEach(function (b) {
        ctx.fillRect(b.x * scale, b.y * scale, b.width * scale, b.height * scale);
      });
      list.textContent = "";
      boxes.forEach(function (b, index) {
        var item = document.createElement("li");
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "link";
        remove.textContent = text(root, "remove") + " " + (index + 1);
        remove.addEventListener("click", function () { boxes.splice(index, 1); draw(); });
        item.appendChild(remove);
        list.appendChild(item);
      });
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: Math.max(0, Math.min(image.naturalWidth, (event.clientX - rect.left) / scale)),
        y: Math.max(0, Math.min(image.naturalHeight, (event.clientY - rect.top) / scale)),
      };
    }

    function onDown(event) {
      var p = point(event);
      drag = { x: p.x, y: p.y, width: 0, height: 0, ox: p.x, oy: p.y };
      canvas.setPointerCapture(event.pointerId);
    }
    function onMove(event) {
      if (!drag) return;
      var p = point(event);
      drag.x = Math.min(p.x, drag.ox); drag.y = Math.min(p.y, drag.oy);
      drag.width = Math.abs(p.x - drag.ox); drag.height = Math.abs(p.y - drag.oy);
      draw();
    }
    function onUp() {
      if (drag && drag.width > 2 && drag.height > 2) {
        boxes.push({ x: drag.x, y: drag.y, width: drag.width, height: drag.height });
      }
      drag = null;
      draw();
    }

    function close(result) {
      canvas.removeEventListener("pointerdown", onDown);
      canvas.removeEventListener("pointermove", onMove);
      canvas.removeEventListener("pointerup", onUp);
      dialog.close();
      URL.revokeObjectURL(url);
      done(result);
    }

    dialog.querySelector("[data-action=undo]").onclick = function () { boxes.pop(); draw(); };
    dialog.querySelector("[data-action=zoom-in]").onclick = function () { scale *= 1.25; draw(); };
    dialog.querySelector("[data-action=zoom-out]").onclick = function () { scale /= 1.25; draw(); };
    dialog.querySelector("[data-action=attach]").onclick = function () { close(boxes.slice()); };
    dialog.querySelector("[data-action=cancel]").onclick = function () { close(null); };
    canvas.addEventListener("pointerdown", onDown);
    canvas.addEventListener("pointermove", onMove);
    canvas.addEventListener("pointerup", onUp);
    image.onload = function () {
      scale = Math.min(1, 900 / image.naturalWidth, 600 / image.naturalHeight);
      draw();
      dialog.showModal();
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
