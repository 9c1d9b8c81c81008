// Enhancements for staff pages; everything works without this file.
(function () {
  "use strict";

  // Ask before an action that cannot be undone (data-confirm on its form).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Job page: poll the JSON status until the job is done or failed (the page also has a
  // meta refresh, for browsers without this file); reload once it changes state.
  var job = document.getElementById("job");
  if (job && (job.dataset.state === "queued" || job.dataset.state === "running")) {
    var poll = function () {
      fetch(job.dataset.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.state !== job.dataset.state && s.state !== "running") { window.location.reload(); return; }
          var bar = job.querySelector("progress");
          if (bar) { bar.max = s.total || 1; bar.value = s.done; }
          var text = job.querySelector(".job-progress");
          if (text) text.textContent = text.textContent.replace(/^\S+/, String(s.done));
          window.setTimeout(poll, 1000);
        }).catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }

  // Draft autosave for transcription forms (data-draft="<kind>-<session>-<prompt>"): what is
  // typed is copied to this browser's storage as it is typed. A draft is dropped only when
  // the server confirms the save (it redirects with ?saved=<kind>); if the request never
  // arrived (the connection dropped), the draft is put back when the page is opened again,
  // with its client id, so sending it again still saves it once.
  var store;
  try { store = window.localStorage; store.setItem("surveyapp-probe", "1"); } catch (e) { return; }
  var confirmed = new URLSearchParams(window.location.search).get("saved");
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var kind = form.dataset.draft.split("-")[0];
    var key = "surveyapp-draft-" + form.dataset.draft;
    var fields = form.querySelectorAll("textarea, input[type=text], select, input[name=client_id], input[name=batch_id]");
    var answeredByServer = form.querySelector(".error") || form.querySelector(".notice");
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && confirmed === kind) {
      store.removeItem(key);
    } else if (saved && !answeredByServer) {
      var empty = Array.prototype.every.call(form.querySelectorAll("textarea"), function (t) { return !t.value; });
      if (empty) {
        fields.forEach(function (field) {
          if (saved.values[field.name] !== undefined) field.value = saved.values[field.name];
        });
        var note = document.createElement("p");
        note.className = "notice";
        note.textContent = form.dataset.restored || "";
        form.insertBefore(note, form.firstChild);
      }
    }
    var write = function () {
      var values = {};
      fields.forEach(function (field) { if (field.name) values[field.name] = field.value; });
      store.setItem(key, JSON.stringify({ values: values, at: Date.now() }));
    };
    form.addEventListener("input", write);
    form.addEventListener("submit", write);
  });
})();
