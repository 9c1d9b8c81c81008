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
