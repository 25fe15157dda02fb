/* Compositor: what a person does with the keyboard, the clipboard and dropped files, and
 * the layers list's own controls. Listeners only (no inline handlers, no eval: the CSP
 * allows neither); they talk to the page through dash_clientside.set_props on its stores.
 *
 * - Keys: Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z and Ctrl+Y redo, Delete/Backspace delete,
 *   arrows nudge (Shift: 10 px), Ctrl/Cmd+D duplicate, Tab on the canvas cycles layers,
 *   Escape deselects, ? lists them; nothing while a text field has focus. Nudges move the
 *   layer in the browser (compositor.js "nudge"); COMMIT is set once a burst settles.
 * - Files (dropped, pasted, picked): compositor_upload.js.
 * - Layers list: eye and lock buttons, the pencil (or a double-click) to rename (Enter
 *   saves, Escape cancels), and dragging a row to reorder.
 * - View: Fit, 100 % (one preview pixel per screen pixel) and the zoom shown. */
(function () {
  "use strict";
  var ID = {
    root: "compositor-root", wrap: "compositor-canvas-wrap", layers: "compositor-layers",
    undo: "compositor-undo", redo: "compositor-redo", del: "compositor-delete",
    duplicate: "compositor-duplicate", help: "compositor-help", select: "compositor-select",
    nudge: "compositor-nudge", commit: "compositor-commit", command: "compositor-layer-cmd",
    request: "compositor-upload-request", bgPending: "compositor-bg-pending",
    layerPending: "compositor-layer-pending", bgZone: "compositor-bg-upload",
    layerZone: "compositor-layer-upload", bgBox: "compositor-bg-progress",
    layerBox: "compositor-layer-progress", canvasBox: "compositor-canvas-progress",
    fit: "compositor-fit", full: "compositor-zoom-100", zoom: "compositor-zoom"
  };
  var SETTLE_MS = 500;  // a burst of arrow keys has ended after this long without one
  var ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  var LAYER_TYPE = "application/x-dashapp-layer";
  var burst = null, settle = null, dragging = null, editing = null;

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
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#" + ID.layers + " .layer-row"));
  }
  function selectedRow() {
    return document.querySelector("#" + ID.layers + " .list-group-item.active .layer-row");
  }
  function commitNow() {  // another action folds the nudges in: no commit of its own
    if (settle) clearTimeout(settle);
    settle = null;
    burst = null;
  }
  // Click a toolbar or panel button as a person would; false when it is disabled.
  function press(id) {
    var button = byId(id);
    if (!button || button.matches(":disabled")) return false;
    commitNow();
    button.click();
    return true;
  }
  function select(layer) {
    commitNow();
    setProps(ID.select, { data: { layer: layer, nonce: nonce() } });
  }
  function command(cmd, layer, value) {
    commitNow();
    setProps(ID.command, { data: { cmd: cmd, layer: layer, value: value, nonce: nonce() } });
  }

  // --- keys --------------------------------------------------------------------------
  function nudge(dir, step) {
    var row = selectedRow();
    if (!row || row.dataset.locked === "true" || row.dataset.visible === "false") return false;
    var layer = row.dataset.layer;
    if (!burst || burst.layer !== layer) burst = { id: nonce(), layer: layer, dx: 0, dy: 0 };
    burst.dx += dir[0] * step;
    burst.dy += dir[1] * step;
    setProps(ID.nudge, { data: { burst: burst.id, layer: layer, dx: burst.dx, dy: burst.dy } });
    if (settle) clearTimeout(settle);
    settle = setTimeout(function () {
      settle = null;
      burst = null;
      setProps(ID.commit, { data: nonce() });  // the one request of the burst
    }, SETTLE_MS);
    return true;
  }
  function cycle(back) {
    var all = rows();
    if (!all.length) return false;
    var current = all.indexOf(selectedRow());
    var next = current === -1 ? (back ? all.length - 1 : 0) : current + (back ? -1 : 1);
    if (next < 0 || next >= all.length) return false;  // focus moves on: no keyboard trap
    select(all[next].dataset.layer);
    return true;
  }
  function onKey(e) {
    if (!onPage() || e.defaultPrevented || e.isComposing) return;
    if (document.querySelector(".modal.show") || typing(e.target)) return;
    var key = e.key, mod = e.ctrlKey || e.metaKey, done = false;
    if (mod && !e.altKey && (key === "z" || key === "Z")) done = press(e.shiftKey ? ID.redo : ID.undo);
    else if (mod && !e.altKey && (key === "y" || key === "Y")) done = press(ID.redo);
    else if (mod && !e.altKey && (key === "d" || key === "D")) done = press(ID.duplicate) || true;
    else if (mod || e.altKey) return;
    else if (key === "Delete" || key === "Backspace") done = !!selectedRow() && press(ID.del);
    else if (key === "Escape") { done = !!selectedRow(); if (done) select(null); }
    else if (key === "?") done = press(ID.help);
    else if (key === "Tab" && e.target && e.target.id === ID.wrap) done = cycle(e.shiftKey);
    else if (ARROWS[key]) done = nudge(ARROWS[key], e.shiftKey ? 10 : 1);
    if (done) e.preventDefault();
  }

  // --- the layers list ---------------------------------------------------------------
  function nameInput(el) {  // dcc.Input draws a box around its <input>
    return el && el.querySelector(".layer-name-input input");
  }
  function isNameInput(el) {
    return !!(el && el.closest && el.tagName === "INPUT" && el.closest(".layer-name-input"));
  }
  function startRename(row) {
    var input = nameInput(row);
    if (!input) return;
    var name = row.querySelector(".layer-name").textContent;
    editing = { layer: row.dataset.layer, name: name, value: name };
    row.classList.add("editing");
    input.value = name;
    input.focus();
    input.select();
  }
  function finishRename(save) {
    if (!editing) return;
    var done = editing;
    editing = null;
    var row = document.querySelector('#' + ID.layers + ' .layer-row[data-layer="' + done.layer + '"]');
    if (row) {
      row.classList.remove("editing");
      var input = nameInput(row);
      if (!save && input) input.value = done.name;
    }
    var value = done.value.trim();
    if (save && value && value !== done.name) command("rename", done.layer, value);
  }
  // The list is drawn again by each action: an open rename survives it.
  function keepRenaming() {
    if (!editing) return;
    var row = document.querySelector('#' + ID.layers + ' .layer-row[data-layer="' + editing.layer + '"]');
    if (!row || row.classList.contains("editing")) return;
    row.classList.add("editing");
    var input = nameInput(row);
    if (!input) return;
    input.value = editing.value;
    input.focus();
  }
  function onClick(e) {
    if (!onPage() || !e.target.closest) return;
    var button = e.target.closest("[data-layer-cmd]");
    if (button) {
      // Before React sees it: the row's own click would select the layer as well.
      e.stopPropagation();
      e.preventDefault();
      var cmd = button.dataset.layerCmd, layer = button.dataset.layer;
      if (cmd === "rename") startRename(button.closest(".layer-row"));
      else command(cmd, layer, button.dataset.value === "true");
      return;
    }
    if (e.target.closest("#" + ID.fit)) view("fit");
    else if (e.target.closest("#" + ID.full)) view("full");
  }
  function onDoubleClick(e) {
    var name = onPage() && e.target.closest && e.target.closest("#" + ID.layers + " .layer-select");
    if (name) startRename(name.closest(".layer-row"));
  }
  function onFieldKey(e) {
    if (!editing || !isNameInput(e.target)) return;
    if (e.key === "Enter") { e.preventDefault(); finishRename(true); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); finishRename(false); }
  }
  function onFieldInput(e) {
    if (editing && isNameInput(e.target)) editing.value = e.target.value;
  }
  function onFieldBlur(e) {  // leaving the field saves, like Enter
    if (editing && isNameInput(e.target)) {
      var row = e.target.closest(".layer-row");
      if (row && row.dataset.layer === editing.layer) finishRename(true);
    }
  }
  function clearMarks() {
    rows().forEach(function (r) { r.classList.remove("drop-before", "drop-after", "dragging"); });
  }
  function onDragStart(e) {
    var row = onPage() && e.target.closest && e.target.closest("#" + ID.layers + " .layer-row");
    if (!row || editing) return;
    dragging = row.dataset.layer;
    e.dataTransfer.setData(LAYER_TYPE, dragging);
    e.dataTransfer.effectAllowed = "move";
    row.classList.add("dragging");
  }
  function dropPlace(e) {  // the row under the pointer, and whether above its middle
    var row = e.target.closest && e.target.closest("#" + ID.layers + " .layer-row");
    if (!row) return null;
    var box = row.getBoundingClientRect();
    return { row: row, before: e.clientY < box.top + box.height / 2 };
  }
  function onListDragOver(e) {
    if (!dragging) return;
    var place = dropPlace(e);
    if (!place) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    clearMarks();
    place.row.classList.add(place.before ? "drop-before" : "drop-after");
  }
  function onListDrop(e) {
    if (!dragging) return;
    var place = dropPlace(e);
    var moving = dragging;
    dragging = null;
    clearMarks();
    if (!place) return;
    e.preventDefault();
    var order = rows().map(function (r) { return r.dataset.layer; }).filter(function (id) { return id !== moving; });
    var at = order.indexOf(place.row.dataset.layer);
    if (at === -1) return;  // dropped on itself
    order.splice(place.before ? at : at + 1, 0, moving);
    // The list shows the top of the stack first; the z-order counts from the bottom.
    command("reorder", moving, order.length - 1 - order.indexOf(moving));
  }
  function onDragEnd() { dragging = null; clearMarks(); }

  // --- the view: fit, 100 %, the zoom shown ------------------------------------------
  function graph() { return document.querySelector("#compositor-canvas .js-plotly-plot"); }
  function zoomOf(gd) {
    var full = gd && gd._fullLayout, meta = gd && gd.layout && gd.layout.meta;
    if (!full || !full.xaxis || !meta || !meta.size) return null;
    var range = full.xaxis.range;
    var perPixel = full.xaxis._length / Math.abs(range[1] - range[0]);
    return perPixel / (meta.preview_scale || 1);
  }
  function showZoom() {
    var label = byId(ID.zoom), zoom = zoomOf(graph());
    if (label && zoom) label.textContent = Math.round(zoom * 100) + " %";
  }
  function view(kind) {
    var gd = graph(), meta = gd && gd.layout && gd.layout.meta;
    if (!gd || !gd._fullLayout || !meta || !meta.size || !window.Plotly) return;
    var full = gd._fullLayout, update;
    if (kind === "fit") {
      update = { "xaxis.range": [0, meta.size[0]], "yaxis.range": [meta.size[1], 0] };
    } else {
      var scale = meta.preview_scale || 1, xr = full.xaxis.range, yr = full.yaxis.range;
      var cx = (xr[0] + xr[1]) / 2, cy = (yr[0] + yr[1]) / 2;
      var w = full.xaxis._length / scale, h = full.yaxis._length / scale;
      update = { "xaxis.range": [cx - w / 2, cx + w / 2], "yaxis.range": [cy + h / 2, cy - h / 2] };
    }
    window.Plotly.relayout(gd, update);
  }
  // The view a person chose (these buttons, the wheel, a pan) outlives the figure being
  // drawn again for the same background: plotly's own uirevision keeps it only while the
  // figure's ranges equal the ones plotly last drew, which its aspect constraint changes.
  var chosen = null;
  function remember(gd, change) {
    var full = gd._fullLayout;
    if (change["xaxis.autorange"] || change["yaxis.autorange"]) chosen = null;
    else if (full && Object.keys(change).some(function (k) { return /^[xy]axis\.range/.test(k); })) {
      chosen = { rev: gd.layout.uirevision, x: full.xaxis.range.slice(), y: full.yaxis.range.slice() };
    }
    showZoom();
  }
  function restore() {
    var gd = graph(), full = gd && gd._fullLayout;
    if (!chosen || !full || !full.xaxis) return;
    if (gd.layout.uirevision !== chosen.rev) { chosen = null; return; }
    var same = function (a, b) { return Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6; };
    if (same(full.xaxis.range, chosen.x) && same(full.yaxis.range, chosen.y)) return;
    window.Plotly.relayout(gd, { "xaxis.range": chosen.x.slice(), "yaxis.range": chosen.y.slice() });
  }
  function watchGraph() {
    var gd = graph();
    if (gd && gd.on && !gd.dashappZoom) {
      gd.dashappZoom = true;
      gd.on("plotly_relayout", function (change) { remember(gd, change || {}); });
      gd.on("plotly_react", restore);
      gd.on("plotly_afterplot", showZoom);
    }
  }

  // --- the upload zones' keyboard face ---------------------------------------------
  // A zone's (invisible) file input is what Tab reaches: it gets the zone's words as its
  // name; where the zone is a button (recipes), the button is the one stop.
  function nameFileInputs() {
    // A dropdown's hidden focus helper (aria-hidden) must not be a Tab stop of its own:
    // the dropdown's button is.
    var helpers = document.querySelectorAll("#" + ID.root + " .dash-dropdown-focus-target:not([tabindex='-1'])");
    Array.prototype.forEach.call(helpers, function (el) { el.tabIndex = -1; });
    var inputs = document.querySelectorAll("#" + ID.root + " input[type=file]:not([data-named])");
    Array.prototype.forEach.call(inputs, function (input) {
      input.setAttribute("data-named", "1");
      var zone = input.parentElement;
      if (zone && zone.querySelector("button")) {
        input.tabIndex = -1;
        input.setAttribute("aria-hidden", "true");
      } else if (zone) {
        input.setAttribute("aria-label", zone.textContent.trim() || "Choose files");
      }
    });
  }

  var observed = false;
  function observe() {
    if (observed || !document.body) return;
    observed = true;
    var pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        watchGraph();
        keepRenaming();
        nameFileInputs();
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  window.addEventListener("keydown", onFieldKey, true);
  window.addEventListener("keydown", onKey);
  window.addEventListener("input", onFieldInput, true);
  window.addEventListener("focusout", onFieldBlur, true);
  window.addEventListener("click", onClick, true);
  window.addEventListener("dblclick", onDoubleClick, true);
  window.addEventListener("dragstart", onDragStart, true);
  window.addEventListener("dragover", onListDragOver);
  window.addEventListener("drop", onListDrop);
  window.addEventListener("dragend", onDragEnd, true);
  window.addEventListener("resize", showZoom);
  if (document.body) observe(); else document.addEventListener("DOMContentLoaded", observe);

  window.dashappCompositorInput = Object.assign(window.dashappCompositorInput || {}, {
    view: view, zoom: function () { return zoomOf(graph()); }
  });
})();
