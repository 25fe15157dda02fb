/* Compositor: files dropped on the canvas or an upload zone, pasted (Ctrl/Cmd+V) or picked
 * are sent one at a time to the upload route (POST <prefix>compositor/upload/<session>)
 * with their progress shown, then "processing" while the server decodes them; their stored
 * ids go to BG_PENDING or LAYER_PENDING, the one action that places them. Listeners only
 * (no inline handlers, no eval: the CSP allows neither). compositor.js's "upload"
 * clientside callback calls send() with the page's session and limits. */
(function () {
  "use strict";
  var ID = {
    root: "compositor-root", wrap: "compositor-canvas-wrap", request: "compositor-upload-request",
    bgPending: "compositor-bg-pending", layerPending: "compositor-layer-pending",
    bgZone: "compositor-bg-upload", layerZone: "compositor-layer-upload",
    bgBox: "compositor-bg-progress", layerBox: "compositor-layer-progress",
    canvasBox: "compositor-canvas-progress"
  };
  var queue = [];

  function byId(id) { return document.getElementById(id); }
  function onPage() { return !!byId(ID.root); }
  function nonce() { return Date.now() + Math.random(); }
  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (dc && dc.set_props) dc.set_props(id, props);
  }
  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function prefix() {
    try {
      var config = JSON.parse(byId("_dash-config").textContent);
      return config.requests_pathname_prefix || "/";
    } catch (err) { return "/"; }
  }
  function mb(bytes) { return (bytes / 1048576).toFixed(1).replace(/\.0$/, ""); }
  function status(box, text, fraction) {
    var el = byId(box);
    if (!el) return;
    if (text === null) { el.hidden = true; return; }
    el.hidden = false;
    el.querySelector(".upload-status-text").textContent = text;
    var bar = el.querySelector("progress");
    if (fraction === null) bar.removeAttribute("value");  // indeterminate: processing
    else bar.value = Math.round(fraction * 100);
  }
  function imageFiles(list) {
    return Array.prototype.filter.call(list || [], function (f) { return f && typeof f.size === "number"; });
  }
  // Files to send: shown at once (progress visible on the drop), sent by "upload" below,
  // which runs as a clientside callback to know the page's session and limits.
  function enqueue(files, target, box) {
    files = imageFiles(files);
    if (!files.length || !onPage()) return;
    queue.push({ files: files, target: target, box: box });
    status(box, "Uploading " + (files[0].name || "image") + "…", 0);
    setProps(ID.request, { data: { nonce: nonce() } });
  }
  function post(file, name, session, box, label) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", prefix() + "compositor/upload/" + session);
      xhr.setRequestHeader("X-Dashapp-Upload", "1");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) status(box, "Uploading " + label + "…", e.loaded / e.total);
      };
      xhr.upload.onload = function () { status(box, "Processing " + label + "…", null); };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        resolve({ status: xhr.status, body: body, text: xhr.responseText });
      };
      xhr.onerror = function () { resolve({ status: 0, body: null, text: "" }); };
      var form = new FormData();
      form.append("file", file, name);
      xhr.send(form);
    });
  }
  async function sendJob(job, comp, limits) {
    var background = job.target === "background" || (job.target === "auto" && !comp.bg);
    var files = background ? job.files.slice(0, 1) : job.files;
    var max = limits.max_bytes || 25 * 1048576;
    var stored = [], rejected = [];
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      var name = file.name || "pasted-image.png";
      var label = name + (files.length > 1 ? " (" + (i + 1) + " of " + files.length + ")" : "");
      if (file.size > max) {  // refused here, before its bytes travel (as before)
        rejected.push(name + ": the file is " + mb(file.size) + " MB; the limit is " + mb(max) + " MB.");
        continue;
      }
      var answer = await post(file, name, comp.session, job.box, label);
      if (answer.body && answer.body.stored) stored.push({ stored: answer.body.stored, filename: name });
      else if (answer.body && answer.body.rejected) rejected.push(answer.body.rejected);
      else rejected.push(name + ": the upload failed (" + (answer.status ? "HTTP " + answer.status + ": " + answer.text.trim() : "no answer from the server") + ").");
    }
    status(job.box, null);
    var pending = background ? ID.bgPending : ID.layerPending;
    setProps(pending, { data: { files: stored, rejected: rejected, nonce: nonce() } });
  }
  var sending = Promise.resolve();
  function send(comp, limits) {  // every job queued so far, one after another
    var jobs = queue.splice(0);
    jobs.forEach(function (job) {
      sending = sending.then(function () { return sendJob(job, comp, limits); });
    });
  }
  function zoneOf(el) {
    var zone = el && el.closest && el.closest("#" + ID.bgZone + ", #" + ID.layerZone);
    if (!zone) return null;
    return zone.id === ID.bgZone
      ? { target: "background", box: ID.bgBox }
      : { target: "layers", box: ID.layerBox };
  }
  function hasFiles(e) {
    var types = e.dataTransfer && e.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  // Capture phase, before the upload zones' own handlers: the files go with progress.
  function recipeZone(e) {  // recipe files go the way they always went
    return !!(e.target.closest && e.target.closest("#compositor-recipe-upload, #compositor-batch-recipe"));
  }
  function onDrop(e) {
    if (!onPage() || !hasFiles(e) || recipeZone(e)) return;
    e.preventDefault();  // anywhere on the page: never open the file in the tab
    var zone = zoneOf(e.target);
    var wrap = e.target.closest && e.target.closest("#" + ID.wrap);
    if (zone) {
      e.stopPropagation();
      // The zone saw the drag come in: tell it it left, so it stops looking active.
      e.target.dispatchEvent(new Event("dragleave", { bubbles: true }));
      enqueue(e.dataTransfer.files, zone.target, zone.box);
    } else if (wrap) {
      enqueue(e.dataTransfer.files, "auto", ID.canvasBox);
    }
    var over = byId(ID.wrap);
    if (over) over.classList.remove("drop-target");
  }
  function onDragOver(e) {
    if (!onPage() || !hasFiles(e) || recipeZone(e)) return;
    e.preventDefault();
    var wrap = byId(ID.wrap);
    if (wrap) wrap.classList.toggle("drop-target", !!(e.target.closest && e.target.closest("#" + ID.wrap)));
  }
  function onChange(e) {
    var zone = zoneOf(e.target);
    if (!zone || !e.target.files) return;
    e.stopPropagation();
    var files = Array.prototype.slice.call(e.target.files);
    e.target.value = "";  // the same file may be picked again
    enqueue(files, zone.target, zone.box);
  }
  function onPaste(e) {
    if (!onPage() || typing(e.target) || !e.clipboardData) return;
    var files = imageFiles(e.clipboardData.files);
    if (!files.length) {
      files = Array.prototype.map.call(e.clipboardData.items || [], function (item) {
        return item.kind === "file" ? item.getAsFile() : null;
      }).filter(Boolean);
    }
    if (!files.length) return;
    e.preventDefault();
    enqueue(files, "auto", ID.canvasBox);
  }

  window.addEventListener("change", onChange, true);
  window.addEventListener("drop", onDrop, true);
  window.addEventListener("dragover", onDragOver, true);
  window.addEventListener("paste", onPaste);
  window.dashappCompositorInput = Object.assign(window.dashappCompositorInput || {}, { send: send });
})();
