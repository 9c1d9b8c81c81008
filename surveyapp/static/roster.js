// New focus group: "Add a participant" adds a roster row in place. Without this file the
// button submits the form, and the server sends it back, as typed, with one more row.
(function () {
  "use strict";

  var button = document.querySelector("form button[name=add_row]");
  if (!button) return;
  var form = button.form;
  var ROW = /participants-(\d+)-/;

  button.addEventListener("click", function (event) {
    var rows = form.querySelectorAll(".roster-row");
    if (!rows.length) return;  // nothing to copy: let the server add the row
    event.preventDefault();
    var last = rows[rows.length - 1];
    // WTForms keeps the indices it was sent, so the next one is the highest plus one.
    var next = 0, highest = 0;
    form.querySelectorAll("[name^=participants-]").forEach(function (field) {
      var match = ROW.exec(field.name);
      if (match) next = Math.max(next, Number(match[1]) + 1);
      if (/-pseudonym$/.test(field.name)) {
        var number = /^P(\d+)$/i.exec(field.value.trim());
        if (number) highest = Math.max(highest, Number(number[1]));
      }
    });
    var row = last.cloneNode(true);
    var renumber = function (value) { return value.replace(ROW, "participants-" + next + "-"); };
    row.querySelectorAll(".error").forEach(function (error) { error.remove(); });
    row.querySelectorAll("[id], [name], label[for]").forEach(function (element) {
      ["id", "name", "for"].forEach(function (attribute) {
        if (element.hasAttribute(attribute)) element.setAttribute(attribute, renumber(element.getAttribute(attribute)));
      });
      element.removeAttribute("aria-invalid");
      element.removeAttribute("aria-describedby");
      if (element.tagName === "SELECT") element.selectedIndex = 0;
      else if (element.tagName === "INPUT") element.value = "";
    });
    var pseudonym = row.querySelector("[name$=-pseudonym]");
    pseudonym.value = "P" + (highest + 1);
    last.parentNode.insertBefore(row, last.nextSibling);
    pseudonym.focus();
  });
})();
