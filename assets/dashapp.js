// Theme: kept in localStorage and applied before the first paint (Bootstrap 5.3 colour modes).
(function () {
  var KEY = "dashapp.theme";
  function stored() {
    try {
      var v = window.localStorage.getItem(KEY);
      if (v === "dark" || v === "light") return v;
    } catch (e) { /* storage blocked, e.g. in a sandboxed iframe */ }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
      ? "dark" : "light";
  }
  function apply(mode) {
    document.documentElement.setAttribute("data-bs-theme", mode);
  }
  apply(stored());
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashapp: {
      themeSwitch: function (isDark) {
        var ctx = window.dash_clientside.callback_context;
        if (!ctx.triggered || ctx.triggered.length === 0 || ctx.triggered[0].prop_id === ".") {
          // First call on page load: show what is stored.
          var mode = stored();
          apply(mode);
          return mode === "dark";
        }
        var chosen = isDark ? "dark" : "light";
        try { window.localStorage.setItem(KEY, chosen); } catch (e) { /* not remembered */ }
        apply(chosen);
        return window.dash_clientside.no_update;
      },
      toggleNav: function (n, isOpen) { return !isOpen; }
    }
  });
})();
