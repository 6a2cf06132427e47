/* Förderdesk: the little script every page shares. A file, not inline, so the CSP can forbid inline scripts. */
"use strict";
// After a refused form, the error summary takes the focus so screen readers announce it first.
(function () {
  var summary = document.getElementById("fehler");
  if (summary) { summary.focus(); }
})();
