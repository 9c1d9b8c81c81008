/* The offline app: renders the campaign's instrument from its JSON document as the online
   pages do (consent first, their markup and survey.css), validates with the server's rules
   (domain/answers.py), keeps every response in IndexedDB, and sends completed ones through
   POST /api/v1/submissions with their UUID, retrying with backoff. A 409 or 422 is kept
   and shown, never dropped. */
(function () {
  "use strict";
  var body = document.body, app = document.getElementById("app"), E = window.SurveyExpr;
  var doc = null, lang = null, current = null, db = null, backoff = 2000, timer = null, sending = false, again = false;
  var memory = null;   // the records, when the browser refuses IndexedDB: this page's life only
  var sentSince = 0;   // responses sent since this screen began, for "2 responses were sent."
  var ready = false;   // the app and instrument are cached: it works with no connection
  var said = {};       // the device messages on show: id -> function giving its text
  var NOTED = "surveyapp-offline:storage-noted";
  var CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

  // ---- storage
  function openDb() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open("surveyapp-offline", 1);  // throws when site data is blocked
      r.onupgradeneeded = function () { r.result.createObjectStore("responses", { keyPath: "id" }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function tx(mode, work) {
    return new Promise(function (ok, fail) {
      var t = db.transaction("responses", mode), store = t.objectStore("responses"), out = work(store);
      t.oncomplete = function () { ok(out && out.result); };
      t.onerror = function () { fail(t.error); };
    });
  }
  function put(rec) {
    if (!db) { memory[rec.id] = rec; return Promise.resolve(); }
    return tx("readwrite", function (s) { s.put(rec); });
  }
  function get(id) {
    if (!db) return Promise.resolve(memory[id]);
    return tx("readonly", function (s) { return s.get(id); });
  }
  function all() {
    var rows = db ? tx("readonly", function (s) { return s.getAll(); })
                  : Promise.resolve(Object.values(memory));
    return rows.then(function (rows) {
      return rows.filter(function (r) { return r.campaign === doc.campaign; });
    });
  }

  // ---- text
  function tr(text) { return text ? text[lang] || text[doc.default_language] || "" : ""; }
  function strings() { return doc.ui[lang] || doc.ui[doc.default_language]; }
  /* ui(key, 3) or ui(key, {n: 2, total: 5}): the interface string with its holes filled. */
  function ui(key, params) {
    var s = strings()[key];
    params = typeof params === "object" ? params : { n: params };
    Object.keys(params).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    return s;
  }
  /* The form of a counted message for n: the server rendered one per CLDR plural category of
     the language (Arabic has six), Intl.PluralRules says which category n is in. */
  function plural(key, n) {
    var forms = strings()[key], category = "other";
    try { category = new Intl.PluralRules(lang).select(n); } catch (e) { /* unknown locale */ }
    return (forms[category] || forms.other).split("{n}").join(String(n));
  }
  /* say(id, () => text) puts a device message in place; it is drawn again in the language
     the resident picks next. say(id, null) takes it away. */
  function say(id, text) { said[id] = text; document.getElementById(id).textContent = text ? text() : ""; }
  function words(key) { return function () { return ui(key); }; }
  function message(err) {
    if (err.custom) return tr(err.custom);
    var m = doc.messages[lang] || doc.messages[doc.default_language], p = err.params || {};
    var s = m[err.code + ":" + (p.count)] || m[err.code] || "";
    return s.replace("{min}", p.min).replace("{max}", p.max).replace("{length}", p.length);
  }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]); });
    (kids || []).forEach(function (k) { e.append(k); });
    return e;
  }

  // ---- rules (answers.py)
  function Refused(code, params) { this.code = code; this.params = params || {}; }
  function blank(v) { return v === null || v === undefined || (typeof v === "string" && !v.trim()) || (Array.isArray(v) && !v.length); }
  function choicesOf(q) {
    var vs = q.choices ? doc.choice_lists[q.choices].map(function (c) { return c.value; }) : [];
    return q.other ? vs.concat(["other"]) : vs;
  }
  function text(q, v) {
    if (typeof v !== "string") throw new Refused("not_text");
    var t = v.replace(/\r\n/g, "\n").replace(/\r/g, "\n").replace(CONTROL, "").trim();
    if (q.type === "text") t = t.split(/\s+/).filter(Boolean).join(" ");
    var n = [...t].length;
    if (q.max_length && n > q.max_length) throw new Refused("too_long", { max: q.max_length, length: n });
    return t;
  }
  function number(q, v) {
    var n, s = typeof v === "string" ? v.trim() : null;
    if (typeof v === "boolean") throw new Refused(q.type === "integer" ? "not_integer" : "not_number");
    if (q.type === "integer") {
      if (typeof v === "number" && Number.isInteger(v)) n = v;
      else if (s !== null && /^[+-]?\d+$/.test(s) && s.length <= 100) n = parseInt(s, 10);
      else throw new Refused("not_integer");
    } else {
      if (typeof v === "number" && isFinite(v)) n = v;
      else if (s !== null && /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.test(s)) n = parseFloat(s.replace(",", "."));
      else throw new Refused("not_number");
    }
    if (q.min !== undefined && n < q.min) throw new Refused("too_small", { min: q.min });
    if (q.max !== undefined && n > q.max) throw new Refused("too_large", { max: q.max });
    return n;
  }
  function choice(v, values) {
    if (typeof v === "boolean") throw new Refused("not_a_choice");
    for (var i = 0; i < values.length; i++)
      if (v === values[i] || (typeof v === "string" && v.trim() === String(values[i]))) return values[i];
    throw new Refused("not_a_choice");
  }
  function choices(q, v) {
    var values = choicesOf(q), chosen = [];
    (Array.isArray(v) ? v : [v]).forEach(function (item) {
      if (blank(item)) return;
      var c = choice(item, values);
      if (chosen.indexOf(c) >= 0) { if (q.type === "ranking") throw new Refused("duplicate_choice"); return; }
      chosen.push(c);
    });
    if (q.type === "select_multiple") chosen.sort(function (a, b) { return values.indexOf(a) - values.indexOf(b); });
    if (q.min_choices !== undefined && chosen.length && chosen.length < q.min_choices)
      throw new Refused("too_few_choices", { count: q.min_choices });
    if (q.max_choices !== undefined && chosen.length > q.max_choices)
      throw new Refused("too_many_choices", { count: q.max_choices });
    return chosen;
  }
  function date(q, v) {
    var s = typeof v === "string" ? v.trim() : "", d = new Date(s + "T00:00:00Z");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || isNaN(d) || d.toISOString().slice(0, 10) !== s) throw new Refused("not_a_date");
    if (q.min !== undefined && s < q.min) throw new Refused("too_early", { min: q.min });
    if (q.max !== undefined && s > q.max) throw new Refused("too_late", { max: q.max });
    return s;
  }
  function coerce(q, v) {
    if (q.type === "text" || q.type === "textarea") return text(q, v);
    if (q.type === "integer" || q.type === "decimal") return number(q, v);
    if (q.type === "select_one" || q.type === "likert") return choice(v, choicesOf(q));
    if (q.type === "select_multiple" || q.type === "ranking") return choices(q, v);
    return date(q, v);
  }
  function keys(q) {
    if (q.type === "note") return [];
    if (q.type === "matrix") return q.items.map(function (i) { return q.id + "." + i.id; });
    return q.other ? [q.id, q.id + ".other"] : [q.id];
  }
  function context() { return { site: doc.context.site, wave: doc.context.wave, language: lang }; }
  function validateQuestion(q, raw, scope) {
    var values = {}, errors = [];
    if (q.type === "note") return [values, errors];
    if (q.type === "matrix") {
      keys(q).forEach(function (k) {
        if (blank(raw[k])) { if (q.required) errors.push({ key: k, code: "required" }); return; }
        try { values[k] = choice(raw[k], choicesOf(q)); } catch (r) { errors.push({ key: k, code: r.code, params: r.params }); }
      });
      return [values, errors];
    }
    var v = raw[q.id], typed;
    if (blank(v)) { if (q.required) errors.push({ key: q.id, code: "required" }); return [values, errors]; }
    try { typed = coerce(q, v); } catch (r) { return [values, [{ key: q.id, code: r.code, params: r.params }]]; }
    if (blank(typed)) { if (q.required) errors.push({ key: q.id, code: "required" }); return [values, errors]; }
    if (q.other && (typed === "other" || (Array.isArray(typed) && typed.indexOf("other") >= 0))) {
      var ok = q.id + ".other", other = "";
      try { other = text(q, raw[ok] || ""); } catch (r) { errors.push({ key: ok, code: r.code, params: r.params }); }
      if (other) values[ok] = other; else if (!errors.length) errors.push({ key: ok, code: "other_required" });
    }
    if (q.constraint) {
      var s = Object.assign({}, scope); s[q.id] = typed;
      if (!E.test(q.constraint, s, context(), typed)) errors.push({ key: q.id, code: "constraint", custom: q.constraint_message });
    }
    if (!errors.length) values[q.id] = typed;
    return [values, errors];
  }
  /* validate(questions, raw, prior) -> {values, errors, shown}: answers.py's _walk. */
  function validate(questions, raw, prior) {
    var scope = Object.assign({}, prior), values = {}, errors = [], shown = [];
    questions.forEach(function (q) {
      keys(q).forEach(function (k) { delete scope[k]; });
      if (q.relevant && !E.test(q.relevant, scope, context())) return;
      var r = validateQuestion(q, raw, scope);
      Object.assign(scope, r[0]); Object.assign(values, r[0]); errors = errors.concat(r[1]); shown.push(q.id);
    });
    return { values: values, errors: errors, shown: shown };
  }
  function otherPages(page, answers) {
    var mine = [].concat.apply([], page.questions.map(keys)), out = {};
    Object.keys(answers).forEach(function (k) { if (mine.indexOf(k) < 0) out[k] = answers[k]; });
    return out;
  }
  function pageShown(page, answers) {
    return page.questions.some(function (q) { return !q.relevant || E.test(q.relevant, answers, context()); });
  }

  // ---- rendering
  // The markup is the online page's (templates/surveys/_questions.html), so that survey.css
  // gives both the same layout, touch targets and right-to-left mirroring.
  function field(q, raw) {
    var id = "f-" + q.id, wrap = el("div", { "class": "q" + (q.relevant ? " cond" : ""), id: "q-" + q.id });
    var hintId = q.hint ? "h-" + q.id : null, req = q.required ? "true" : null;
    function label() {
      return [tr(q.label)].concat(q.required ? [el("span", { "class": "req", "aria-hidden": "true" }, [" *"])] : []);
    }
    function hint() { return q.hint ? el("p", { "class": "hint", id: hintId }, [tr(q.hint)]) : ""; }
    function opts() { return q.choices ? doc.choice_lists[q.choices] : []; }
    function box(type, name, value, checked, text) {
      var i = el("input", { type: type, name: name, value: String(value) });
      i.checked = checked;
      return el("label", {}, [i, " " + text]);
    }
    if (q.type === "note") wrap.append(el("p", { "class": "note" }, [tr(q.label)]), hint());
    else if (["text", "integer", "decimal", "date", "textarea"].indexOf(q.type) >= 0) {
      var inp = el(q.type === "textarea" ? "textarea" : "input", {
        id: id, name: q.id, dir: q.type === "text" || q.type === "textarea" ? "auto" : null,
        type: q.type === "date" ? "date" : null, rows: q.type === "textarea" ? "4" : null,
        inputmode: q.type === "integer" ? "numeric" : q.type === "decimal" ? "decimal" : null,
        "aria-describedby": hintId, "aria-required": req });
      inp.value = raw[q.id] === undefined || raw[q.id] === null ? "" : String(raw[q.id]);
      wrap.append(el("label", { "for": id }, label()), hint(), inp);
    } else if (q.type === "matrix") {
      var fs = el("fieldset", { "class": "matrix", id: id, "aria-describedby": hintId }, [el("legend", {}, label()), hint()]);
      q.items.forEach(function (item) {
        var k = q.id + "." + item.id, scale = el("div", { "class": "choices scale" });
        opts().forEach(function (c) { scale.append(box("radio", k, c.value, String(raw[k]) === String(c.value), tr(c.label))); });
        fs.append(el("fieldset", { "class": "item", id: "f-" + k, role: "radiogroup", "aria-labelledby": "l-" + k, "aria-required": req },
                     [el("legend", { id: "l-" + k }, [tr(item.label)]), scale, el("p", { "class": "error", id: "e-" + k })]));
      });
      wrap.append(fs);
    } else if (q.type === "ranking") {
      var rf = el("fieldset", { "class": "ranking", id: id, "aria-describedby": hintId }, [el("legend", {}, label()), hint()]);
      var chosen = raw[q.id] || [];
      for (var n = 0; n < (q.max_choices || opts().length); n++) {
        var sid = id + "-" + (n + 1), sel = el("select", { id: sid, name: q.id }, [el("option", { value: "" }, ["—"])]);
        opts().forEach(function (c) { sel.append(el("option", { value: String(c.value) }, [tr(c.label)])); });
        sel.value = chosen[n] === undefined ? "" : String(chosen[n]);
        rf.append(el("label", { "for": sid }, [(n + 1) + "."]), sel);
      }
      wrap.append(rf);
    } else {
      var multi = q.type === "select_multiple", cur = raw[q.id];
      var is = function (v) { return Array.isArray(cur) ? cur.map(String).indexOf(String(v)) >= 0 : cur !== undefined && String(cur) === String(v); };
      var f = el("fieldset", { id: id, role: multi ? null : "radiogroup", "aria-labelledby": multi ? null : "l-" + q.id,
                               "aria-describedby": hintId, "aria-required": multi ? null : req },
                 [el("legend", { id: "l-" + q.id }, label()), hint()]);
      var list = el("div", { "class": "choices" + (q.type === "likert" ? " scale" : "") });
      opts().forEach(function (c) { list.append(box(multi ? "checkbox" : "radio", q.id, c.value, is(c.value), tr(c.label))); });
      f.append(list);
      if (q.other) {
        list.append(box(multi ? "checkbox" : "radio", q.id, "other", is("other"), ui("other")));
        var o = el("input", { id: id + ".other", name: q.id + ".other", dir: "auto" });
        o.value = raw[q.id + ".other"] || "";
        f.append(el("label", { "class": "other", "for": id + ".other" }, [ui("other_specify")]), o,
                 el("p", { "class": "error", id: "e-" + q.id + ".other" }));
      }
      wrap.append(f);
    }
    wrap.append(el("p", { "class": "error", id: "e-" + q.id }));
    return wrap;
  }
  /* "Please specify" only while "Other" is ticked, as online (survey.js). */
  function showOther(form) {
    [].forEach.call(form.querySelectorAll("input[value=other]"), function (box) {
      var text = document.getElementById("f-" + box.name + ".other");
      if (!text) return;  // a matrix or list whose own choice is called "other"
      text.hidden = form.querySelector('label[for="f-' + box.name + '.other"]').hidden = !box.checked;
    });
  }
  function readPage(page) {
    var form = app.querySelector("form"), raw = {};
    page.questions.forEach(function (q) {
      keys(q).forEach(function (k) {
        var inputs = form.querySelectorAll('[name="' + k + '"]');
        if (!inputs.length) return;
        var list = (q.type === "select_multiple" || q.type === "ranking") && k === q.id;
        var vals = [].filter.call(inputs, function (i) { return i.type !== "radio" && i.type !== "checkbox" || i.checked; })
          .map(function (i) { return i.value; });
        if (list) raw[k] = vals.filter(function (v) { return v.trim(); });
        else if (vals.length) raw[k] = vals[0];
      });
    });
    return raw;
  }
  function visiblePages() {
    return doc.pages.filter(function (p) { return pageShown(p, current.answers); });
  }
  function setLanguage(l) {
    lang = l;
    document.documentElement.lang = l;
    document.documentElement.dir = doc.directions[l] || "ltr";
    Object.keys(said).forEach(function (id) { say(id, said[id]); });
  }
  /* The language switcher of the online pages (_switcher.html): each language by its own
     name, the current one marked; pick(l) redraws the screen in l. */
  function switcher(pick) {
    var nav = el("nav", { "class": "langs", "aria-label": ui("language") });
    doc.languages.forEach(function (l) {
      var name = (doc.language_names || {})[l] || l;
      if (l === lang) return nav.append(el("span", { "aria-current": "true", lang: l }, [name]));
      var b = el("button", { type: "button", "class": "link", lang: l, value: l }, [name]);
      b.onclick = function () { pick(l); };
      nav.append(b);
    });
    document.getElementById("langs").replaceChildren(doc.languages.length > 1 ? nav : "");
  }
  /* The first screen of every response: what taking part means, in the resident's language,
     and nothing is stored before they agree. A draft left by an older version of this app,
     which asked no consent, is shown it too before it goes on. */
  function showConsent(draft) {
    current = null; sentSince = 0;
    setLanguage(draft ? draft.language : lang);
    switcher(function (l) {
      if (draft) { draft.language = l; put(draft); }
      setLanguage(l); showConsent(draft);
    });
    var agree = el("button", { type: "button", "class": "primary", id: "agree" }, [ui("agree")]);
    agree.onclick = function () { begin(draft); };
    var paragraphs = tr(doc.consent).split("\n\n").filter(function (p) { return p.trim(); })
      .map(function (p) { return el("p", {}, [p]); });
    var buttons = [agree], entry = doc.panel === "follow_up" ? codeEntry(draft, buttons) : "";
    document.title = tr(doc.title);
    app.replaceChildren(el("h1", {}, [tr(doc.title)]),
      el("section", { "class": "consent", "aria-labelledby": "consent-h" },
         [el("h2", { id: "consent-h" }, [ui("before")])].concat(paragraphs)),
      entry, el("div", { "class": "nav" }, buttons));
    say("synced", null);
  }
  /* A follow-up asks for the code from last time (optional), checked here as the server
     checks it: a wrong one is explained, to fix or to leave out ("go on without"). */
  var typedCode = "";
  function codeEntry(draft, buttons) {
    var input = el("input", { id: "panel_code", dir: "ltr", autocomplete: "off", autocapitalize: "characters",
                              spellcheck: "false", maxlength: "40", "aria-describedby": "panel_code-hint" });
    var error = el("p", { "class": "error", id: "panel_code-error", role: "alert" });
    var without = el("button", { type: "button", id: "without" }, [ui("panel_without")]);
    input.value = typedCode;
    input.oninput = function () { typedCode = input.value; };
    without.hidden = true;
    without.onclick = function () { typedCode = ""; begin(draft); };
    buttons[0].onclick = function () {
      var r = window.PanelCode.check(input.value);
      if (r.valid || r.reason === "empty") { typedCode = ""; return begin(draft, r.code); }
      error.textContent = r.reason === "bad_character" ? ui("panel_character", { character: r.character })
        : ui(r.reason === "wrong_length" ? "panel_length" : "panel_typo");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", "panel_code-hint panel_code-error");
      without.hidden = false;
      input.focus();
    };
    buttons.push(without);
    return el("div", { "class": "q panel-entry" }, [el("label", { "for": "panel_code" }, [ui("panel_label")]),
      el("p", { "class": "hint", id: "panel_code-hint" }, [ui("panel_hint")]), error, input]);
  }
  function begin(draft, code) {
    current = draft || { id: uuid(), campaign: doc.campaign, language: lang, status: "draft",
                         answers: {}, raw: {}, page: visibleFirst(), started_at: new Date().toISOString() };
    if (code) current.panel_code = code;
    current.consented_at = new Date().toISOString();
    put(current).then(function () { render(); window.scrollTo(0, 0); });
  }
  function render(errors) {
    setLanguage(current.language);
    var page = doc.pages.find(function (p) { return p.id === current.page; }) || doc.pages[0];
    switcher(function (l) {
      current.raw = Object.assign(current.raw, readPage(page));
      current.language = l; put(current).then(function () { render(); });
    });
    var pages = visiblePages(), idx = pages.indexOf(page);
    var number = idx >= 0 ? idx + 1 : 1, total = Math.max(pages.length, 1);  // navigation.position_of
    var form = el("form", { novalidate: "" }, [el("h1", {}, [page.title ? tr(page.title) : tr(doc.title)])]);
    page.questions.forEach(function (q) { form.append(field(q, current.raw)); });
    var nav = el("div", { "class": "nav" }), last = idx === pages.length - 1;
    nav.append(el("button", { "class": "primary", id: "next" }, [ui(last ? "submit" : "next")]));
    if (idx > 0) {
      var back = el("button", { type: "button", id: "back", value: "back" }, [ui("back")]);
      back.onclick = function () { current.raw = Object.assign(current.raw, readPage(page)); go(pages[idx - 1]); };
      nav.append(back);
    }
    form.append(nav);
    form.oninput = form.onchange = function () {
      current.raw = Object.assign(current.raw, readPage(page));
      var shown = validate(page.questions, current.raw, otherPages(page, current.answers)).shown;
      page.questions.forEach(function (q) { document.getElementById("q-" + q.id).hidden = shown.indexOf(q.id) < 0; });
      showOther(form);
      put(current);
    };
    form.onsubmit = function (ev) { ev.preventDefault(); forward(page); };
    document.title = (page.title ? tr(page.title) : tr(doc.title)) + " (" + number + "/" + total + ")";
    app.replaceChildren(
      el("p", { "class": "progress", id: "progress" }, [ui("page", { n: number, total: total })]),
      el("progress", { max: String(total), value: String(number), "aria-labelledby": "progress" }), form);
    form.oninput();
    var first = null;
    (errors || []).forEach(function (e) {
      var p = document.getElementById("e-" + e.key) || document.getElementById("e-" + e.key.split(".")[0]);
      if (!p) return;
      p.textContent = message(e);
      var input = document.getElementById("f-" + e.key);
      if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", p.id); }
      first = first || input;
    });
    if (first) (first.querySelector("input, select") || first).focus();
  }
  function go(page) { current.page = page.id; put(current).then(function () { render(); window.scrollTo(0, 0); }); }
  function forward(page) {
    current.raw = Object.assign(current.raw, readPage(page));
    var prior = otherPages(page, current.answers), r = validate(page.questions, current.raw, prior);
    if (r.errors.length) return render(r.errors);
    current.answers = Object.assign(prior, r.values);
    var pages = visiblePages(), idx = pages.findIndex(function (p) { return p.id === page.id; });
    if (idx < pages.length - 1) return go(pages[idx + 1]);
    // The whole response once more, as the server will: hidden answers are dropped.
    var all = [].concat.apply([], doc.pages.map(function (p) { return p.questions; }));
    var whole = validate(all, current.answers, {});
    current.answers = whole.values;
    current.status = "queued";
    current.submitted_at = new Date().toISOString();
    var done = current;
    put(current).then(function () { finished(done); keepSafe(); send(); });
  }
  function finished(rec) {
    current = null;
    switcher(function (l) { setLanguage(l); finished(rec); });
    var button = el("button", { type: "button", "class": "primary", id: "start" }, [ui("start")]);
    button.onclick = function () { showConsent(); window.scrollTo(0, 0); };
    document.title = tr(doc.title);
    app.replaceChildren(el("h1", {}, [tr(doc.title)]), el("p", { "class": "confirm", id: "saved" }, [ui("saved")]),
                        panelOffer(rec), el("div", { "class": "nav" }, [button]));
    announce();
    showQueue();
  }
  /* The baseline's offer of a code, made on this device (static/offline/panel_code.js), and
     the code once taken, large, for the enumerator to copy onto the resident's card. */
  function panelOffer(rec) {
    if (!rec || doc.panel !== "baseline") return "";
    var box = el("section", { "class": "panel-offer", "aria-labelledby": "panel-h" });
    if (rec.panel_code) {
      box.append(el("h2", { id: "panel-h" }, [ui("panel_yours")]),
                 el("p", { "class": "panel-code", id: "panel-code", dir: "ltr", translate: "no" }, [rec.panel_code]),
                 el("p", {}, [ui("panel_next_time")]), el("p", { "class": "panel-once" }, [ui("panel_once")]));
      return box;
    }
    var give = el("button", { type: "button", id: "give-code" }, [ui("panel_give")]);
    // The response is already queued, perhaps sent: it goes (again) with its code. The
    // server answers a resent submission as a retry (200) and links it then.
    give.onclick = function () {
      var code = window.PanelCode.newCode();
      get(rec.id).then(function (now) {
        now = now || rec;
        now.panel_code = rec.panel_code = code;
        if (now.status === "sent") { now.status = "queued"; now.resent = true; }
        return put(now);
      }).then(function () { finished(rec); send(); });
    };
    box.append(el("h2", { id: "panel-h" }, [ui("panel_offer")]), el("p", {}, [ui("panel_offer_text")]), give);
    return box;
  }
  /* Once a response is kept here, ask the browser not to clear it under storage pressure. A
     refusal is said once on this device, calmly: the answers are safe until space runs out. */
  function keepSafe() {
    var storage = navigator.storage;
    if (!db || !storage || !storage.persist) return;
    storage.persisted().then(function (kept) {
      return kept || storage.persist();
    }).then(function (kept) {
      if (kept) return;
      var noted = false;
      try { noted = localStorage.getItem(NOTED) === "1"; localStorage.setItem(NOTED, "1"); }
      catch (e) { noted = false; }  // no localStorage either: the note is all the more true
      if (!noted) say("storage", words("storage_evictable"));
    }).catch(function () {});
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;
    var h = [].map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function visibleFirst() { var p = doc.pages.find(function (p) { return pageShown(p, {}); }); return (p || doc.pages[0]).id; }

  // ---- queue
  function showQueue() {
    return all().then(function (rows) {
      var count = function (s) { return rows.filter(function (r) { return r.status === s; }).length; };
      var queued = count("queued"), sent = count("sent");  // nothing to count on a new device: nothing said
      say("queue", queued + sent ? function () { return ui("queued", queued) + " · " + ui("sent", sent); } : null);
      var refused = rows.filter(function (r) { return r.status === "refused"; }), box = document.getElementById("problems");
      box.replaceChildren();
      if (refused.length) {
        box.append(el("p", {}, [ui("refused")]));
        refused.forEach(function (r) { box.append(el("p", { "class": "error refused" }, [r.id + ": " + r.message])); });
      }
      return rows;
    });
  }
  /* "2 responses were sent.", in the language on screen, once a pass has sent some. */
  function announce() {
    var n = sentSince;
    if (n) say("synced", function () { return plural("sent_now", n); });
  }
  function retry() {
    clearTimeout(timer);
    timer = setTimeout(send, backoff);
    backoff = Math.min(backoff * 2, 60000);
  }
  /* Send every queued response, one at a time. 200/201 mark it sent; a lasting 4xx keeps it as
     refused with the server's message; anything else (no network, 5xx, 429) retries. */
  function send() {
    clearTimeout(timer);
    if (sending) { again = true; return; }  // a call during a pass runs one more pass after it
    sending = true; again = false;
    all().then(function (rows) {
      var queued = rows.filter(function (r) { return r.status === "queued"; });
      return queued.reduce(function (chain, rec) {
        return chain.then(function () {
          return fetch(doc.submit_url, {
            method: "POST", headers: { "Content-Type": "application/json" }, cache: "no-store",
            body: JSON.stringify({ submission_id: rec.id, campaign: rec.campaign, language: rec.language,
              answers: rec.answers, started_at: rec.started_at, submitted_at: rec.submitted_at, source: "offline",
              panel_code: rec.panel_code })
          }).then(function (resp) {
            if (resp.status === 200 || resp.status === 201) return get(rec.id).then(function (now) {
              now = now || rec;
              // A code taken while this was on its way: leave it queued for one more pass.
              if (now.panel_code !== rec.panel_code) { again = true; return; }
              if (!now.resent) sentSince++;
              now.status = "sent"; delete now.resent;
              return put(now);
            });
            // Any other 4xx (409 conflict, 422 invalid, 404 campaign closed, 400) will not change on a
            // retry: keep the record, show the server's words. 408 and 429 are worth retrying.
            if (resp.status >= 400 && resp.status < 500 && resp.status !== 408 && resp.status !== 429)
              return resp.json().catch(function () { return { message: "HTTP " + resp.status }; }).then(function (j) {
              rec.status = "refused";
              rec.message = j.message || (j.errors || []).map(function (e) { return e.question + ": " + e.message; }).join("; ");
              return put(rec);
            });
            throw new Error("retry " + resp.status);
          });
        });
      }, Promise.resolve());
    }).then(function () { backoff = 2000; }, retry)
      .then(function () {
        sending = false;
        announce();
        if (again) send();
        return showQueue();
      });
  }

  // ---- start-up
  function cacheApp() {
    if (!("serviceWorker" in navigator) || !window.caches) return Promise.resolve();
    return navigator.serviceWorker.register(body.dataset.worker, { scope: body.dataset.scope }).then(function () {
      var urls = [location.pathname, body.dataset.instrument].concat(
        [].map.call(document.querySelectorAll("script[src],link[rel=stylesheet]"), function (e) { return e.getAttribute("src") || e.getAttribute("href"); }));
      return caches.open("surveyapp-offline").then(function (c) { return c.addAll(urls); });
    }).then(function () { ready = true; say("status", words("ready")); });
  }
  function loadInstrument() {
    return fetch(body.dataset.instrument).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .catch(function () {
        return caches.match(body.dataset.instrument).then(function (r) { if (!r) throw new Error("not cached"); return r.json(); });
      });
  }
  loadInstrument().then(function (d) {
    doc = d; lang = doc.languages.indexOf(document.documentElement.lang) >= 0 ? document.documentElement.lang : doc.default_language;
    setLanguage(lang);
    return openDb().catch(function () { return null; });
  }).then(function (d) {
    db = d;
    if (!db) { memory = {}; say("storage", words("storage_failed")); }  // really refused: say so now
    function connection() {  // "No connection" only while there is none
      say("status", !navigator.onLine ? words("offline") : ready ? words("ready") : null);
    }
    connection();
    cacheApp().catch(function () {});
    window.addEventListener("offline", connection);
    window.addEventListener("online", function () { connection(); backoff = 2000; send(); });
    return all();
  }).then(function (rows) {
    var draft = rows.filter(function (r) { return r.status === "draft"; })
      .sort(function (a, b) { return a.started_at < b.started_at ? 1 : -1; })[0];
    if (draft && draft.consented_at) { current = draft; render(); } else showConsent(draft);
    send();
  });
})();
