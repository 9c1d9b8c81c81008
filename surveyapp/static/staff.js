// Draft autosave for transcription forms (data-draft): what is typed is copied to this
// browser's storage as it is typed, and put back if the page is reopened before it was
// sent. The server-side flow does not depend on it.
(function () {
  "use strict";
  var store;
  try { store = window.localStorage; store.setItem("surveyapp-probe", "1"); } catch (e) { return; }
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = "surveyapp-draft-" + form.dataset.draft;
    var fields = form.querySelectorAll("textarea, input[type=text], select");
    var hasErrors = form.querySelector(".error") || form.previousElementSibling &&
      form.previousElementSibling.classList.contains("notice");
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && saved.sent) {
      store.removeItem(key);  // it was submitted; this page shows the result
    } else if (saved && !hasErrors) {
      var empty = Array.prototype.every.call(form.querySelectorAll("textarea"), function (t) { return !t.value; });
      if (empty) {
        fields.forEach(function (field) {
          if (saved.values[field.name] !== undefined) field.value = saved.values[field.name];
        });
        var note = document.createElement("p");
        note.className = "notice";
        note.textContent = form.dataset.restored || "Draft restored from this device.";
        form.insertBefore(note, form.firstChild);
      }
    }
    var write = function (sent) {
      var values = {};
      fields.forEach(function (field) { if (field.name) values[field.name] = field.value; });
      store.setItem(key, JSON.stringify({ values: values, sent: sent, at: Date.now() }));
    };
    form.addEventListener("input", function () { write(false); });
    form.addEventListener("submit", function () { write(true); });
  });
})();
