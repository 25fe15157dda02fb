// Training page: one click, one job; the whole log's scrolling; small clientside callbacks.
(function () {
  "use strict";

  function withGrid(gridId, fn) {
    var lib = window.dash_ag_grid;
    if (!lib || !gridId) return;
    if (lib.getApiAsync) lib.getApiAsync(gridId).then(fn).catch(function () {});
    else {
      try { fn(lib.getApi(gridId)); } catch (e) { /* not mounted yet */ }
    }
  }

  // A day typed in the date filter is a day where the reader is: its bounds go to the
  // server in UTC (the end excluded: the next local midnight).
  function localDay(text, nextDay) {
    if (!text || !/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
    var parts = text.split("-").map(Number);
    var day = new Date(parts[0], parts[1] - 1, parts[2] + (nextDay ? 1 : 0));
    return isNaN(day.getTime()) ? null : day.toISOString();
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashappTraining: {
      // The chart's tools and the log show once there is a job to show.
      showJobParts: function (jobId) {
        return [!jobId, !jobId];
      },
      runsRange: function (from, to) {
        return { since: localDay(from, false), until: localDay(to, true) };
      },
      // A filter changed: the table starts again from its first block. The timer or an
      // edit: the blocks shown are read again in place (not while a cell is edited).
      runsReload: function () {
        var gridId = arguments[arguments.length - 1];
        var ctx = window.dash_clientside.callback_context;
        var ids = (ctx.triggered || []).map(function (t) { return t.prop_id.split(".")[0]; });
        var refresh = ids.every(function (id) {
          return id === "training-list-tick" || id === "training-runs-refresh";
        });
        withGrid(gridId, function (api) {
          if (!refresh) {
            api.purgeInfiniteCache();
          } else if (!(api.getEditingCells && api.getEditingCells().length)) {
            api.refreshInfiniteCache();
          }
        });
        return window.dash_clientside.no_update;
      },
      // Two or more selected runs can be compared, on a page of their own (a link).
      runsSelection: function (selected) {
        var ids = (selected || []).map(function (r) { return r && r.id; }).filter(Boolean);
        var base = window.location.pathname.replace(/\/training\/?$/, "/training/compare");
        return [base + "?jobs=" + ids.join(","), ids.length < 2];
      }
    }
  });

  // Cells of the runs table: times in the reader's zone, durations, metric values.
  var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  var timeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
  var metricFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 5 });
  dagfuncs.dashappLocalTime = function (value) {
    if (!value) return "";
    var at = new Date(value);
    return isNaN(at.getTime()) ? String(value) : timeFormat.format(at);
  };
  dagfuncs.dashappDuration = function (seconds) {
    if (seconds === null || seconds === undefined || seconds === "") return "";
    var s = Math.floor(Number(seconds));
    if (!isFinite(s)) return "";
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (h) return h + "h " + two(m) + "m";
    return m ? m + "m " + two(r) + "s" : r + "s";
  };
  dagfuncs.dashappMetric = function (value) {
    if (value === null || value === undefined || value === "") return "";
    return typeof value === "number" ? metricFormat.format(value) : String(value);
  };

  // Cell renderers: the job's link (a plain link: its page opens), its status as a badge.
  var dagcomps = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
  var STATUS_COLOR = {
    queued: "secondary", running: "primary", succeeded: "success",
    failed: "danger", cancelled: "warning"
  };
  dagcomps.JobLink = function (props) {
    var data = props.data || {};
    if (!data.href) return null;
    return window.React.createElement(
      "a", { href: data.href, className: "font-monospace job-link", title: data.id }, props.value
    );
  };
  dagcomps.RunStatus = function (props) {
    if (!props.value) return null;
    var colour = STATUS_COLOR[props.value] || "secondary";
    var place = props.data && props.data.place;
    var badge = window.React.createElement(
      "span", { className: "badge text-uppercase text-bg-" + colour }, props.value
    );
    if (!place) return badge;
    return window.React.createElement(
      "span", { title: "Place in the queue (1: the next to start)" },
      badge, " #" + place
    );
  };

  // One click, one job. Dash disables Start while its request is in flight, but only once
  // its own code has run: a second click of a double click can come first, and would send
  // a second request (a second job). So the first click marks the button, and clicks on a
  // marked button are dropped before Dash sees them, until the request is over (Dash has
  // disabled the button and enabled it again), or at once if Dash never disabled it.
  // "Run again" is a link: a second click meanwhile is dropped the same way.
  var ONCE = "#training-start, .once-only";
  var SETTLE_MS = 3000;

  function release(el) {
    delete el.dataset.inFlight;
  }

  function guard(el) {
    el.dataset.inFlight = "1";
    var disabledSeen = false;
    var observer = new MutationObserver(function () {
      if (el.disabled) {
        disabledSeen = true;
      } else if (disabledSeen) {
        observer.disconnect();
        release(el);
      }
    });
    observer.observe(el, { attributes: true, attributeFilter: ["disabled"] });
    window.setTimeout(function () {
      if (!disabledSeen) {
        observer.disconnect();
        release(el);
      }
    }, SETTLE_MS);
  }

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target instanceof Element ? event.target.closest(ONCE) : null;
      if (!target) return;
      if (target.dataset.inFlight === "1") {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      guard(target);
    },
    true
  );

  // The log: newest lines at the bottom. While the reader is at the bottom it follows new
  // lines; scrolled up, the lines in view stay in view when lines are added above or below;
  // reaching the top loads earlier lines (the "Load earlier" button, clicked for them).
  var LOG = "job-log";
  var EARLIER = "training-log-earlier";

  function pin(el) {
    if (!el.__dashappPin) el.__dashappPin = { bottom: true, fromBottom: 0 };
    return el.__dashappPin;
  }

  document.addEventListener(
    "scroll",
    function (event) {
      var el = event.target;
      if (!(el instanceof Element) || !el.classList.contains(LOG)) return;
      var p = pin(el);
      p.fromBottom = el.scrollHeight - el.clientHeight - el.scrollTop;
      p.bottom = p.fromBottom < 8;
      if (el.scrollTop < 4 && !p.bottom) {
        var more = document.getElementById(EARLIER);
        if (more && !more.disabled) more.click();
      }
    },
    true
  );

  function follow(records) {
    var logs = [];
    records.forEach(function (record) {
      var node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      var el = node && node.closest ? node.closest("." + LOG) : null;
      if (el && logs.indexOf(el) < 0) logs.push(el);
    });
    logs.forEach(function (el) {
      var p = pin(el);
      el.scrollTop = p.bottom ? el.scrollHeight : el.scrollHeight - el.clientHeight - p.fromBottom;
    });
  }

  function start() {
    new MutationObserver(follow).observe(document.body, {
      childList: true,
      subtree: true,
      characterData: true
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
