// Live preview client (followup serve): listens to /events and updates the page in place.
// The server sends one "state" event per change: the new content (only when it changed),
// the diagnostics and the links to the PDF and DOCX. Content replaces #fu-doc without a reload,
// and the scroll position is put back. Every text from the server is set as text, never as HTML,
// except the document body, which the server rendered (and escaped) itself.
(function () {
  "use strict";
  var version = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function applyContent(c) {
    var x = window.scrollX, y = window.scrollY;
    var print = document.getElementById("fu-print-css") || document.head.querySelector("style");
    if (print) print.textContent = c.css;
    document.getElementById("fu-screen-css").textContent = c.screen_css;
    document.title = c.title;
    document.getElementById("fu-doc").innerHTML = c.body;
    window.scrollTo(x, y);
    version = c.version;
    document.documentElement.setAttribute("data-fu-version", version);
  }

  function showDiagnostics(list) {
    var box = document.getElementById("fu-diags");
    box.textContent = "";
    list.forEach(function (d) {
      var li = el("li", "fu-" + d.severity);
      li.setAttribute("data-code", d.code);
      if (d.where) { li.appendChild(el("span", "fu-where", d.where)); li.appendChild(document.createTextNode(" ")); }
      li.appendChild(el("span", "fu-code", d.label + "[" + d.code + "]"));
      li.appendChild(document.createTextNode(" " + d.message));
      if (d.source !== null) li.appendChild(el("pre", "fu-source", d.line + " | " + d.source));
      if (d.hint) li.appendChild(el("div", "fu-hint", "ヒント: " + d.hint));
      box.appendChild(li);
    });
    box.hidden = list.length === 0;
  }

  function showBar(s) {
    var bar = document.getElementById("fu-bar");
    bar.textContent = "";
    bar.appendChild(el("span", s.errors ? "fu-state fu-state-error" : "fu-state", s.summary));
    s.links.forEach(function (l) {
      var a = el("a", "fu-link", l.label);
      a.href = l.href;
      a.setAttribute("data-format", l.format);
      bar.appendChild(a);
    });
    if (s.building) bar.appendChild(el("span", "fu-building", " " + s.building));
  }

  function apply(s) {
    if (s.content && s.content.version !== version) applyContent(s.content);
    showDiagnostics(s.diagnostics);
    showBar(s);
  }

  function start() {
    var state = JSON.parse(document.getElementById("fu-state").textContent);
    version = state.version;
    apply(state);
    var source = new EventSource("/events?v=" + encodeURIComponent(version || ""));
    source.addEventListener("state", function (ev) { apply(JSON.parse(ev.data)); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
