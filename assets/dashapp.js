// Theme switch (the theme itself is read and applied by 00_theme.js, before this file).
(function () {
  var theme = window.dashappTheme;
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashapp: {
      themeSwitch: function (isDark) {
        var ctx = window.dash_clientside.callback_context;
        if (!ctx.triggered || ctx.triggered.length === 0 || ctx.triggered[0].prop_id === ".") {
          // First call on page load: show what is stored.
          var mode = theme.stored();
          theme.apply(mode);
          return mode === "dark";
        }
        var chosen = isDark ? "dark" : "light";
        theme.remember(chosen);
        theme.apply(chosen);
        return window.dash_clientside.no_update;
      },
      toggleNav: function (n, isOpen) { return !isOpen; }
    }
  });
})();

// Accessibility of Dash 4's dropdowns (dcc.Dropdown). As shipped, Tab lands on a hidden
// stand-in (an `aria-hidden` input that passes focus on to the real button), which screen
// readers cannot see, and the button is named by its value alone ("main.events"), not by
// its label ("Table"). Here the button itself takes the Tab stop, the stand-in leaves the
// tab order, and the button is named by its <label for=...> followed by its value. The
// dropdown sets the stand-in back on every blur, so this runs again on each change.
(function () {
  var pending = false;
  function labelId(id) {
    var label = id && document.querySelector('label[for="' + CSS.escape(id) + '"]');
    if (!label) return null;
    if (!label.id) label.id = id + "-label";
    return label.id;
  }
  function fix(wrapper) {
    var proxy = wrapper.querySelector(":scope > .dash-dropdown-focus-target");
    var button = wrapper.querySelector(":scope > button.dash-dropdown");
    if (!proxy || !button) return;
    if (proxy.tabIndex !== -1) proxy.tabIndex = -1;
    if (!button.disabled && button.tabIndex !== 0) button.tabIndex = 0;
    var id = button.id;
    if (!id) return;
    // Several values chosen: the count ("10 selected") shows instead of them (CSS) and names it.
    var count = document.getElementById(id + "-value-count");
    var value = document.getElementById(id + "-value");
    var named = [labelId(id), count ? count.id : value && value.id].filter(Boolean).join(" ");
    if (button.getAttribute("aria-labelledby") !== named) {
      button.setAttribute("aria-labelledby", named);
    }
    // The clear cross is a mouse shortcut inside the button (keys: Delete or Backspace);
    // its own name would be read as part of the button's.
    var clear = button.querySelector(".dash-dropdown-clear");
    if (clear && clear.getAttribute("aria-hidden") !== "true") clear.setAttribute("aria-hidden", "true");
  }
  function fixAll() {
    pending = false;
    document.querySelectorAll(".dash-dropdown-wrapper").forEach(fix);
  }
  function soon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(fixAll);
  }
  function start() {
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) {
        var r = records[i];
        if (r.type === "attributes" || r.addedNodes.length) { soon(); return; }
      }
    }).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["tabindex"]
    });
    soon();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// Data page: cell formatting for AG Grid and small browser-side helpers.
(function () {
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  var numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
  // NULL is shown as a word (styled by .cell-null), distinct from empty text.
  dagfuncs.dashappFormat = function (params) {
    var v = params.value;
    if (v === null) return "NULL";
    if (v === undefined) return "";
    if (typeof v === "number") return numberFormat.format(v);
    if (v === true) return "✓ true";
    if (v === false) return "✗ false";
    return String(v);
  };

  function withApi(gridId, fn) {
    if (!window.dash_ag_grid || !gridId) return;
    var lib = window.dash_ag_grid;
    if (lib.getApiAsync) {
      lib.getApiAsync(gridId).then(fn).catch(function () {});
    } else {
      try { fn(lib.getApi(gridId)); } catch (e) { /* grid not mounted yet */ }
    }
  }

  // Set filters travel inside `filter` beside the grid's own column filters; a column with
  // both gets an AND of the two (dashapp/data/links.py merge_filters, the same rule).
  function mergeFilters(grid, sets) {
    var merged = Object.assign({}, grid || {});
    Object.keys(sets || {}).forEach(function (col) {
      var set = { filterType: "set", values: sets[col] };
      var own = merged[col];
      merged[col] = own
        ? { filterType: own.filterType, operator: "AND", conditions: [own, set] }
        : set;
    });
    return merged;
  }

  // The query string of a link to a view (dashapp/data/links.py view_query, the same keys).
  function viewParams(view) {
    var params = new URLSearchParams();
    if (view.table) params.set("table", view.table);
    if (view.sort && view.sort.length) params.set("sort", JSON.stringify(view.sort));
    var filter = mergeFilters(view.filter, view.sets);
    if (Object.keys(filter).length) params.set("filter", JSON.stringify(filter));
    if (view.quick) params.set("q", view.quick);
    if (view.columns) params.set("cols", JSON.stringify(view.columns));
    if (view.group) params.set("group", JSON.stringify(view.group));
    if (view.chart) params.set("chart", view.chart);
    return params.toString();
  }

  // Right-click on a column's header opens that column's values and profile.
  document.addEventListener("contextmenu", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    var header = target && target.closest(".dashapp-grid:not(.grouped) .ag-header-cell[col-id]");
    var dc = window.dash_clientside;
    if (!header || !dc || !dc.set_props) return;
    event.preventDefault();
    dc.set_props("data-panel-column", { value: header.getAttribute("col-id") });
    dc.set_props("data-column-panel", { is_open: true });
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashappData: {
      // Keep the address bar a shareable link to this view, and point the export at it.
      // Also publish the whole view (for the chart, chips, profile, saving), when it changed.
      syncUrl: function (request, explore, visible, chart, table, quick, previous, options) {
        explore = explore || {};
        // A grouped grid has no column filters of its own: the view keeps the ones it was
        // grouped with (EXPLORE). So does a new grid that has not asked for rows yet.
        var own = request && !explore.group;
        var all = (options || []).map(function (o) { return o.value; });
        var shown = visible && all.length && visible.length < all.length ? visible : null;
        var view = {
          table: table || null,
          filter: own ? (request.filterModel || {}) : (explore.filter || {}),
          sort: own
            ? (request.sortModel || []).map(function (s) { return { colId: s.colId, sort: s.sort }; })
            : (explore.sort || []),
          sets: explore.sets || {},
          quick: quick || "",
          columns: shown,
          group: explore.group || null,
          chart: chart || null
        };
        var query = viewParams(view);
        var path = window.location.pathname;
        window.history.replaceState(window.history.state, "", path + "?" + query);
        var same = previous && JSON.stringify(previous) === JSON.stringify(view);
        var train = new URLSearchParams({ trainer: "tabular-mlp", table: table || "" });
        train.set("filter", JSON.stringify(mergeFilters(view.filter, view.sets)));
        var rows = Object.assign({}, view, { group: null, columns: null, chart: null });
        return [
          path.replace(/\/data\/?$/, "/export.csv") + "?" + viewParams(rows),
          same ? window.dash_clientside.no_update : view,
          path.replace(/\/data\/?$/, "/training") + "?" + train.toString()
        ];
      },
      // The Excel forms of the export link: the same view, with a byte-order mark or as .xlsx.
      excelLinks: function (csvHref) {
        if (!csvHref || csvHref === "#") return [window.dash_clientside.no_update, window.dash_clientside.no_update];
        var parts = csvHref.split("?");
        var query = parts.length > 1 ? "?" + parts.slice(1).join("?") : "";
        return [
          parts[0] + query + (query ? "&" : "?") + "bom=1",
          parts[0].replace(/export\.csv$/, "export.xlsx") + query
        ];
      },
      refreshOnSearch: function (quick, gridId) {
        withApi(gridId, function (api) { api.purgeInfiniteCache(); });
        return window.dash_clientside.no_update;
      },
      showColumns: function (visible, options, gridId, explore) {
        if (!visible || !options || (explore && explore.group)) {
          return window.dash_clientside.no_update;
        }
        var all = options.map(function (o) { return o.value; });
        withApi(gridId, function (api) {
          api.setColumnsVisible(all, false);
          api.setColumnsVisible(visible, true);
        });
        return window.dash_clientside.no_update;
      }
    }
  });
})();

// Data grid: a block whose request fails or never comes back is retried until it loads.
// AG Grid's infinite row model has no failure path: when the rows callback's request is
// lost (a worker crash, a reset connection, a 5xx from a proxy, an answer that hangs),
// Dash drops it and the block stays blank for good. So the requests of callbacks that
// answer `getRowsResponse` go through this wrapper of fetch: a failure, a broken-off body
// or no answer within the deadline (`data-block-deadline-ms` on the grid's frame) is
// retried with backoff (1 s, doubling to 30 s) while the callback's message area (the
// output it opens with `is_open`) says so. Dash only ever sees the answer that came, which
// also replaces the message. A request overtaken by a newer one of the same grid (a new
// sort or filter) stops and ends as "no update". Other answers (204, 4xx) pass as they are.
(function () {
  if (typeof window.fetch !== "function" || typeof AbortController !== "function") return;
  var realFetch = window.fetch.bind(window);
  var MESSAGE = "Rows could not be loaded; retrying…";
  var DEFAULT_DEADLINE_MS = 40000;
  var FIRST_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var newest = {}; // callback output -> number of its newest block request
  var counter = 0;

  // The payload of a rows callback's request, or null for any other request.
  function rowsPayload(url, init) {
    if (!init || typeof init.body !== "string" || init.signal) return null;
    if (String(url).indexOf("_dash-update-component") < 0) return null;
    if (init.body.indexOf(".getRowsResponse") < 0) return null;
    try {
      var payload = JSON.parse(init.body);
      return String(payload.output).indexOf(".getRowsResponse") >= 0 ? payload : null;
    } catch (e) {
      return null;
    }
  }

  function messageId(payload) {
    var outputs = [].concat(payload.outputs || []);
    for (var i = 0; i < outputs.length; i++) {
      if (outputs[i].property === "is_open") return outputs[i].id;
    }
    return null;
  }

  function deadlineMs() {
    var frame = document.querySelector("[data-block-deadline-ms]");
    var ms = frame ? Number(frame.getAttribute("data-block-deadline-ms")) : NaN;
    return ms > 0 ? ms : DEFAULT_DEADLINE_MS;
  }

  // One try: the response when it came whole (or is one Dash handles itself), else null.
  function attempt(url, init) {
    var control = new AbortController();
    var timer = setTimeout(function () { control.abort(); }, deadlineMs());
    return realFetch(url, Object.assign({}, init, { signal: control.signal }))
      .then(function (res) {
        if (res.status >= 500) return null;
        if (res.status !== 200) return res;
        // Read the body here: a worker that dies mid-answer breaks it off.
        return res.clone().text().then(function (text) {
          JSON.parse(text);
          return res;
        });
      })
      .catch(function () { return null; })
      .finally(function () { clearTimeout(timer); });
  }

  function later(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  window.fetch = function (url, init) {
    var payload = rowsPayload(url, init);
    if (!payload) return realFetch(url, init);
    var key = payload.output;
    var mine = (newest[key] = ++counter);
    var delay = FIRST_DELAY_MS;
    var noUpdate = function () { return new Response(null, { status: 204 }); };
    function run() {
      return attempt(url, init).then(function (res) {
        if (res) return res;
        if (newest[key] !== mine) return noUpdate();
        var id = messageId(payload);
        var dc = window.dash_clientside;
        if (id && dc && dc.set_props) dc.set_props(id, { children: MESSAGE, is_open: true });
        var wait = delay * (0.75 + Math.random() / 2); // spread clients after a restart
        delay = Math.min(delay * 2, MAX_DELAY_MS);
        return later(wait).then(function () { return newest[key] === mine ? run() : noUpdate(); });
      });
    }
    return run();
  };
})();
