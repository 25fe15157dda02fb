// The home page's memory of this browser: the tables each user opened lately (kept in
// localStorage by the shell's store) and the Compositor's session (its own store there).
(function () {
  var KEEP = 12;
  var COMPOSITOR_KEY = "compositor-comp"; // the Compositor's dcc.Store, storage_type "local"

  function compositorSession() {
    try {
      var comp = JSON.parse(window.localStorage.getItem(COMPOSITOR_KEY) || "null");
      return comp && typeof comp.session === "string" ? comp.session : null;
    } catch (e) {
      return null; // storage blocked (a sandboxed frame) or not JSON
    }
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashappHome: {
      // The Data page shows a table: it goes first in this user's list.
      rememberTable: function (table, recent, user) {
        var nu = window.dash_clientside.no_update;
        if (typeof table !== "string" || !table) return nu;
        var all = recent && typeof recent === "object" && !Array.isArray(recent) ? recent : {};
        var who = typeof user === "string" ? user : "";
        var mine = Array.isArray(all[who]) ? all[who] : [];
        if (mine[0] === table) return nu;
        var next = Object.assign({}, all);
        next[who] = [table].concat(mine.filter(function (t) { return t !== table; })).slice(0, KEEP);
        return next;
      },
      // The Data page came with a linked table already shown (``state.shown``).
      rememberShown: function (state, recent, user) {
        var shown = state && typeof state === "object" ? state.shown : null;
        return window.dash_clientside.dashappHome.rememberTable(shown, recent, user);
      },
      // What the home page lists from this browser: this user's tables, the Compositor session.
      browser: function (recent, user) {
        var who = typeof user === "string" ? user : "";
        var mine = recent && Array.isArray(recent[who]) ? recent[who] : [];
        return { tables: mine, compositor: compositorSession() };
      }
    }
  });
})();
