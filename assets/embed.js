/* Embedded mode: inside the portal's iframe (detected, or ?embed=1) the app drops its own
 * top bar and reports its content height to the parent so the portal can size the frame. */
(function () {
  "use strict";
  var KEY = "dashapp.embed";
  var framed = false;
  try { framed = window.self !== window.top; } catch (e) { framed = true; }
  var asked = /[?&]embed=(1|true|yes)\b/.test(window.location.search);
  var off = /[?&]embed=(0|false|no)\b/.test(window.location.search);
  try {
    if (asked) window.sessionStorage.setItem(KEY, "1");
    if (off) window.sessionStorage.removeItem(KEY);
    asked = asked || window.sessionStorage.getItem(KEY) === "1";
  } catch (e) { /* storage blocked: the URL parameter still works on this page */ }
  if (!(framed || asked) || off) return;
  document.documentElement.classList.add("embedded");
  if (!framed) return;

  // The parent learns only the height; it goes to the embedding page's origin when the
  // browser tells us which one it is.
  var target = "*";
  try {
    if (document.referrer) target = new URL(document.referrer).origin;
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
      target = window.location.ancestorOrigins[0];
    }
  } catch (e) { target = "*"; }
  var last = -1;
  function report() {
    var root = document.getElementById("react-entry-point") || document.body;
    var height = Math.ceil(root.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "dashapp:height", height: height, path: window.location.pathname }, target);
  }
  function start() {
    report();
    var root = document.getElementById("react-entry-point") || document.body;
    if (window.ResizeObserver) new ResizeObserver(report).observe(root);
    else window.setInterval(report, 500);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
