// Theme: kept in localStorage and applied at once (Bootstrap 5.3 colour modes). Its own file
// so that the sign-in page, which carries no other script, shows the same theme.
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
  function remember(mode) {
    try { window.localStorage.setItem(KEY, mode); } catch (e) { /* not remembered */ }
  }
  function apply(mode) {
    document.documentElement.setAttribute("data-bs-theme", mode);
    // AG Grid's built-in themes follow this attribute (their variable colour scheme).
    document.documentElement.setAttribute("data-ag-theme-mode", mode);
  }
  apply(stored());
  window.dashappTheme = { stored: stored, remember: remember, apply: apply };
})();
