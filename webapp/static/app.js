// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var query = document.getElementById("query");
  if (query) {
    // Ctrl/Cmd+Enter runs the query (the page says so under the label). Tab is left to the
    // browser: it moves focus on, to the format and the Run button (it inserted two spaces,
    // which trapped keyboard users in the textarea).
    query.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        query.form.submit();
      }
    });
    var hint = document.getElementById("query-hint");
    if (hint) {
      hint.hidden = false;
      var described = query.getAttribute("aria-describedby");
      query.setAttribute("aria-describedby", (described ? described + " " : "") + hint.id);
    }
    document.querySelectorAll("button.add-prefix").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var line = btn.getAttribute("data-prefix");
        if (query.value.indexOf(line) === -1) {
          query.value = line + "\n" + query.value;
        }
        query.focus();
      });
    });
  }
  // Chart bars and map points: show the value on hover (and a map marker's on focus) in a
  // status line; a map's svg sits in a scroll box inside its figure.
  document.querySelectorAll("svg.chart, svg.map").forEach(function (svg) {
    var box = svg.closest("figure");
    var out = box && box.querySelector(".chart-status");
    if (!out) { return; }
    svg.querySelectorAll("[data-info]").forEach(function (el) {
      var show = function () { out.textContent = el.getAttribute("data-info"); };
      el.addEventListener("mouseenter", show);
      // Only links listen for focus: Chromium makes any svg element with a focus listener a
      // tab stop, and a chart's bars are parts of one image.
      if (el.tagName.toLowerCase() === "a") { el.addEventListener("focus", show); }
    });
  });
})();
