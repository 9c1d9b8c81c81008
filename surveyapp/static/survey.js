// Enhancements only: every page works without this file.
(function () {
  "use strict";
  var form = document.querySelector("form[method=post]");
  if (!form) return;
  // A second tap while the first request is on its way would post the page twice.
  form.addEventListener("submit", function (event) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var button = event.submitter;
    if (button) {
      var keep = document.createElement("input");
      keep.type = "hidden"; keep.dataset.kept = "1"; keep.name = button.name; keep.value = button.value;
      form.appendChild(keep);
    }
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  // Coming back through the browser's history restores the page as it was left.
  window.addEventListener("pageshow", function () {
    delete form.dataset.sent;
    form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    form.querySelectorAll("input[type=hidden][data-kept]").forEach(function (i) { i.remove(); });
  });
  // Show and hide questions whose condition depends on this page, asking the server
  // (the same rules it applies on submit). If the request fails, everything stays shown.
  var relevanceUrl = form.dataset.relevance;
  if (relevanceUrl && window.fetch && window.FormData) {
    var timer = null;
    var refresh = function () {
      fetch(relevanceUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (reply) { return reply.ok ? reply.json() : null; })
        .then(function (data) {
          if (!data) return;
          form.querySelectorAll(".q.cond").forEach(function (q) {
            q.hidden = data.shown.indexOf(q.id.slice(2)) < 0;
          });
        })
        .catch(function () {});
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    refresh();
  }
  // Move focus to the error summary so a screen reader reads it first.
  var errors = document.querySelector(".errors");
  if (errors) { errors.tabIndex = -1; errors.focus(); }
  // "Please specify" only when "Other" is chosen.
  form.querySelectorAll("fieldset").forEach(function (set) {
    var other = set.querySelector("input[value=other]");
    var text = other && set.querySelector("input[name$='.other']");
    if (!text) return;
    var label = set.querySelector("label.other");
    function sync() {
      var show = other.checked;
      text.hidden = !show; if (label) label.hidden = !show;
    }
    set.addEventListener("change", sync); sync();
  });
})();
