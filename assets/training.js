// Training page: one click, one job; the whole log's scrolling; small clientside callbacks.
(function () {
  "use strict";

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    dashappTraining: {
      // The chart's tools and the log show once there is a job to show.
      showJobParts: function (jobId) {
        return [!jobId, !jobId];
      }
    }
  });

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
