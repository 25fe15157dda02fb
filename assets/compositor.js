/* Compositor: the clientside callbacks. The drag and the arrow-key nudges run here, in the
 * browser, with no request to the server. dragGeometry mirrors
 * dashapp/compositor/composition.py:drag_geometry (a browser test checks both agree).
 * Images and shapes carry their layer's id as their name. compositor_input.js has the
 * listeners (keys, dropped and pasted files, the layers list, the view buttons). */
(function () {
  "use strict";
  var SNAP_FRACTION = 0.01;
  var HISTORY_STEPS = 30;

  function noUpdate(n) {
    var out = [];
    for (var i = 0; i < n; i++) out.push(window.dash_clientside.no_update);
    return out;
  }

  function naturalAspect(lay) {
    return (lay.rot === 0 || lay.rot === 180) ? lay.iw / lay.ih : lay.ih / lay.iw;
  }

  function snapStart(start, size, extent, within) {
    var best = start, bestD = within;
    [0, extent - size, (extent - size) / 2].forEach(function (target) {
      var d = Math.abs(start - target);
      if (d <= bestD) { best = target; bestD = d; }
    });
    return best;
  }

  function dragGeometry(lay, bg, shape, keepAspect, snap) {
    var x0 = shape[0], y0 = shape[1], x1 = shape[2], y1 = shape[3];
    var w = x1 - x0, h = y1 - y0;
    if (Math.abs(w - lay.w) < 0.5 && Math.abs(h - lay.h) < 0.5) {
      w = lay.w; h = lay.h;
      if (snap) {
        var within = Math.max(bg.w, bg.h) * SNAP_FRACTION;
        x0 = snapStart(x0, w, bg.w, within);
        y0 = snapStart(y0, h, bg.h, within);
      }
      return { x: x0, y: y0, w: w, h: h };
    }
    w = Math.max(w, 1); h = Math.max(h, 1);
    if (keepAspect) {
      var aspect = naturalAspect(lay);
      if (Math.abs(w / lay.w - 1) >= Math.abs(h / lay.h - 1)) { h = w / aspect; } else { w = h * aspect; }
      if (Math.abs(x0 - lay.x) > 0.5) x0 = x1 - w;
      if (Math.abs(y0 - lay.y) > 0.5) y0 = y1 - h;
    }
    return { x: x0, y: y0, w: w, h: h };
  }

  function mergeGeometry(comp, geom) {
    var out = JSON.parse(JSON.stringify(comp));
    if (!geom || !geom.boxes) return out;
    out.layers.forEach(function (lay) {
      var b = geom.boxes[lay.id];
      if (!lay.locked && Array.isArray(b) && b.length === 4 && b.every(isFinite)) {
        lay.x = b[0]; lay.y = b[1]; lay.w = b[2]; lay.h = b[3];
      }
    });
    if (out.layers.some(function (l) { return l.id === geom.sel; })) out.sel = geom.sel;
    return out;
  }

  var burst = null;  // the arrow-key burst being applied: its id, start and undo state

  // The figure with each layer of ``byId`` where it now is (images and shapes by name).
  function moved(fig, byId, sel, data) {
    var layout = Object.assign({}, fig.layout);
    layout.images = (layout.images || []).map(function (im) {
      var l = byId[im.name];
      return l ? Object.assign({}, im, { x: l.x, y: l.y, sizex: l.w, sizey: l.h }) : im;
    });
    layout.shapes = (layout.shapes || []).map(function (s) {
      var l = byId[s.name];
      return l ? Object.assign({}, s, { x0: l.x, y0: l.y, x1: l.x + l.w, y1: l.y + l.h, line: shapeLine(l.id === sel) }) : s;
    });
    return { data: data || [], layout: layout };
  }

  // What the GEOM store keeps: every layer's box and the selection.
  function geometryOf(layers, sel) {
    var boxes = {};
    layers.forEach(function (l) { boxes[l.id] = [l.x, l.y, l.w, l.h]; });
    return { sel: sel, boxes: boxes };
  }

  function shapeLine(selected) {
    return selected
      ? { color: "#0d6efd", width: 2, dash: "solid" }
      : { color: "rgba(128,128,128,0.8)", width: 1, dash: "dot" };
  }

  // A stored composition's revision, as dashapp/compositor/model.py:revision reads it.
  function revision(comp) {
    var rev = comp && comp.rev;
    return (typeof rev === "number" && Number.isInteger(rev)) ? rev : 0;
  }

  function sizeNote(bytes, max) {
    var mb = function (b) { return (b / 1048576).toFixed(1).replace(/\.0$/, ""); };
    return "the file is " + mb(bytes) + " MB; the limit is " + mb(max) + " MB.";
  }

  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.dashappCompositor = Object.assign(window.dash_clientside.dashappCompositor || {}, {
      // Oversized files are refused here, before their bytes travel to the server.
      gate: function (contents, filenames, limits) {
        if (!contents) return noUpdate(3);
        var list = Array.isArray(contents) ? contents : [contents];
        var names = Array.isArray(filenames) ? filenames : [filenames];
        var max = (limits && limits.max_bytes) || 25 * 1048576;
        var ok = [], rejected = [];
        list.forEach(function (c, i) {
          var comma = c.indexOf(",");
          var bytes = Math.floor((c.length - comma - 1) * 3 / 4);
          if (bytes > max) rejected.push((names[i] || "file") + ": " + sizeNote(bytes, max));
          else ok.push({ contents: c, filename: names[i] || "" });
        });
        var message = rejected.length
          ? { namespace: "dash_html_components", type: "Div",
              props: { className: "text-danger", children: rejected.join(" ") } }
          : "";
        var pending = ok.length
          ? { files: ok, rejected: rejected, nonce: Date.now() + Math.random() }
          : window.dash_clientside.no_update;
        return [pending, message, null];
      },
      // A click on a layer in the list selects it (new list items arrive with 0 clicks).
      pick: function () {
        var t = window.dash_clientside.callback_context.triggered || [];
        if (!t.length || !t[0].value) return window.dash_clientside.no_update;
        var id = JSON.parse(t[0].prop_id.slice(0, t[0].prop_id.lastIndexOf(".")));
        return { layer: id.layer, nonce: Date.now() + Math.random() };
      },
      // A shape was moved or resized: the image follows, the fields and history too.
      drag: function (relayout, comp, geom, hist, keepAspect, snap, fig) {
        var n = 10;
        if (!relayout || !comp || !comp.bg || !fig || !fig.layout) return noUpdate(n);
        var merged = mergeGeometry(comp, geom);
        var layers = merged.layers.map(function (l) { return Object.assign({}, l); });
        var byId = {};
        layers.forEach(function (l) { byId[l.id] = l; });
        var sel = merged.sel, changed = false;
        (fig.layout.shapes || []).forEach(function (shape, i) {
          var lay = byId[shape.name];
          var k = function (name) { return relayout["shapes[" + i + "]." + name]; };
          var v = [k("x0"), k("y0"), k("x1"), k("y1")];
          if (!lay || lay.locked || v.some(function (x) { return x === undefined; })) return;
          v = v.map(Number);
          var box = [Math.min(v[0], v[2]), Math.min(v[1], v[3]), Math.max(v[0], v[2]), Math.max(v[1], v[3])];
          Object.assign(lay, dragGeometry(lay, merged.bg, box, !!keepAspect, !!snap));
          sel = lay.id;
          changed = true;
        });
        if (!changed) return noUpdate(n);
        var s = byId[sel];
        var newSelection = sel !== merged.sel;
        var nu = window.dash_clientside.no_update;
        // The layers list marks the dragged layer as the selected one.
        var items = (window.dash_clientside.callback_context.outputs_list || [])[9] || [];
        var active = items.map(function (o) { return o.id.layer === sel; });
        return [
          // A locked layer's outline (a trace) goes with its selection.
          moved(fig, byId, sel, newSelection ? [] : fig.data),
          geometryOf(layers, sel),
          { past: ((hist && hist.past) || []).concat([merged]).slice(-HISTORY_STEPS), future: [] },
          Math.round(s.x), Math.round(s.y), Math.round(s.w), Math.round(s.h),
          newSelection ? s.name : nu,
          newSelection ? Math.round(s.opacity * 100) : nu,
          newSelection ? active : items.map(function () { return nu; })
        ];
      },
      // Arrow keys (compositor_input.js): the selected layer moves by whole background
      // pixels, in the browser like a drag. ``data`` carries the burst's total offset, so
      // a press whose state arrives late still lands right; the burst's first press
      // records the undo step.
      nudge: function (data, comp, geom, hist, fig) {
        var n = 7;
        if (!data || !comp || !comp.bg || !fig || !fig.layout) return noUpdate(n);
        var merged = mergeGeometry(comp, geom);
        var first = !burst || burst.id !== data.burst;
        if (first) {
          var start = merged.layers.filter(function (l) { return l.id === data.layer; })[0];
          if (!start || start.locked || start.visible === false) return noUpdate(n);
          burst = { id: data.burst, x: start.x, y: start.y, before: merged };
        }
        var layers = merged.layers.map(function (l) { return Object.assign({}, l); });
        var byId = {};
        layers.forEach(function (l) { byId[l.id] = l; });
        var lay = byId[data.layer];
        if (!lay) return noUpdate(n);
        lay.x = burst.x + data.dx;
        lay.y = burst.y + data.dy;
        var past = ((hist && hist.past) || []).concat([burst.before]).slice(-HISTORY_STEPS);
        return [
          moved(fig, byId, data.layer, fig.data),
          geometryOf(layers, data.layer),
          first ? { past: past, future: [] } : window.dash_clientside.no_update,
          Math.round(lay.x), Math.round(lay.y), Math.round(lay.w), Math.round(lay.h)
        ];
      },
      // Files queued by compositor_input.js: send them (it knows how), into this session.
      upload: function (request, comp, limits) {
        var input = window.dashappCompositorInput;
        if (request && comp && input) input.send(comp, limits || {});
      },
      toggle: function (n, open) { return !open; },
      nonce: function () { return Date.now() + Math.random(); },
      // A recipe file chosen for the batch: say which, and apply it rather than the canvas.
      recipeChosen: function (filename) {
        if (!filename) return ["", window.dash_clientside.no_update];
        return ["Recipe: " + filename, "recipe"];
      },
      // The values the server drew for the selected layer, except in the field being
      // typed in (an answer to an earlier edit must not undo new typing).
      fillFields: function (data) {
        var nu = window.dash_clientside.no_update;
        if (!data || !data.ids) return noUpdate(6);
        var focused = document.activeElement && document.activeElement.id;
        return data.ids.map(function (id, i) { return id === focused ? nu : data.values[i]; });
      },
      // The stored composition changed: ask the server to draw it only when the page does
      // not show that revision yet (page load, restore from localStorage). An action's answer
      // carries its own view and the revision it shows, so it costs no second request.
      viewGate: function (ts, comp, shownRev) {
        if (typeof shownRev === "number" && shownRev === revision(comp)) {
          return window.dash_clientside.no_update;
        }
        return Date.now() + Math.random();
      },
      dragGeometry: dragGeometry
  });
})();
