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
