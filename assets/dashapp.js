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

  function viewParams(request, table, quick) {
    var params = new URLSearchParams();
    if (table) params.set("table", table);
    if (request && request.sortModel && request.sortModel.length) {
      params.set("sort", JSON.stringify(request.sortModel.map(function (s) {
        return { colId: s.colId, sort: s.sort };
      })));
    }
    if (request && request.filterModel && Object.keys(request.filterModel).length) {
      params.set("filter", JSON.stringify(request.filterModel));
    }
    if (quick) params.set("q", quick);
    return params.toString();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashappData: {
      // Keep the address bar a shareable link to this view, and point the export at it.
      // Also publish the view (filters, search) for the chart, only when it changed.
      syncUrl: function (request, table, quick, previous) {
        var query = viewParams(request, table, quick);
        var path = window.location.pathname;
        window.history.replaceState(window.history.state, "", path + "?" + query);
        var view = { table: table, filterModel: (request && request.filterModel) || {}, quick: quick || "" };
        var same = previous && JSON.stringify(previous) === JSON.stringify(view);
        var train = new URLSearchParams({ trainer: "tabular-mlp", table: table || "" });
        train.set("filter", JSON.stringify(view.filterModel));
        return [
          path.replace(/\/data\/?$/, "/export.csv") + "?" + query,
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
      showColumns: function (visible, options, gridId) {
        if (!visible || !options) return window.dash_clientside.no_update;
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
