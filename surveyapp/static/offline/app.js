/* The offline survey app: renders the campaign's instrument page by page from its JSON
   document, validates with the server's rules (domain/answers.py), keeps every response
   in IndexedDB, and sends completed ones through POST /api/v1/submissions with their
   UUID, retrying with backoff. A 409 or 422 is kept and shown, never dropped. */
(function () {
  "use strict";
  var body = document.body, app = document.getElementById("app"), E = window.SurveyExpr;
  var doc = null, lang = null, current = null, db = null, backoff = 2000, timer = null, sending = false, again = false;
  var CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

  // ------------------------------------------------------------------ storage
  function openDb() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open("surveyapp-offline", 1);
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
  function put(rec) { return tx("readwrite", function (s) { s.put(rec); }); }
  function all() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (rows) {
      return rows.filter(function (r) { return r.campaign === doc.campaign; });
    });
  }

  // ------------------------------------------------------------------ text
  function tr(text) { return text ? text[lang] || text[doc.default_language] || "" : ""; }
  function ui(key, n) { return (doc.ui[lang] || doc.ui[doc.default_language])[key].replace("{n}", n); }
  function message(err, q) {
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

  // ------------------------------------------------------------------ rules (answers.py)
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

  // ------------------------------------------------------------------ rendering
  function field(q, raw) {
    var id = "f-" + q.id, wrap = el("div", { "class": "q", id: "q-" + q.id });
    var label = tr(q.label) + (q.required ? " *" : "");
    function opts() { return q.choices ? doc.choice_lists[q.choices] : []; }
    function box(type, name, value, checked, text) {
      var i = el("input", { type: type, name: name, value: String(value) });
      i.checked = checked;
      return el("label", {}, [i, " " + text]);
    }
    if (q.type === "note") wrap.append(el("p", { "class": "note" }, [tr(q.label)]));
    else if (["text", "integer", "decimal", "date", "textarea"].indexOf(q.type) >= 0) {
      var inp = el(q.type === "textarea" ? "textarea" : "input", {
        id: id, name: q.id, dir: "auto", type: q.type === "date" ? "date" : null,
        inputmode: q.type === "integer" ? "numeric" : q.type === "decimal" ? "decimal" : null });
      inp.value = raw[q.id] === undefined || raw[q.id] === null ? "" : String(raw[q.id]);
      wrap.append(el("label", { "for": id }, [label]), inp);
    } else if (q.type === "matrix") {
      var fs = el("fieldset", { id: id }, [el("legend", {}, [label])]);
      q.items.forEach(function (item) {
        var k = q.id + "." + item.id, row = el("fieldset", { id: "f-" + k, role: "radiogroup" }, [el("legend", {}, [tr(item.label)])]);
        opts().forEach(function (c) { row.append(box("radio", k, c.value, String(raw[k]) === String(c.value), tr(c.label))); });
        row.append(el("p", { "class": "error", id: "e-" + k }));
        fs.append(row);
      });
      wrap.append(fs);
    } else if (q.type === "ranking") {
      var rf = el("fieldset", { id: id }, [el("legend", {}, [label])]), chosen = raw[q.id] || [];
      for (var n = 0; n < (q.max_choices || opts().length); n++) {
        var sel = el("select", { name: q.id, "aria-label": String(n + 1) }, [el("option", { value: "" }, ["—"])]);
        opts().forEach(function (c) { sel.append(el("option", { value: String(c.value) }, [tr(c.label)])); });
        sel.value = chosen[n] === undefined ? "" : String(chosen[n]);
        rf.append(el("label", {}, [(n + 1) + ". ", sel]));
      }
      wrap.append(rf);
    } else {
      var multi = q.type === "select_multiple", cur = raw[q.id];
      var is = function (v) { return Array.isArray(cur) ? cur.map(String).indexOf(String(v)) >= 0 : cur !== undefined && String(cur) === String(v); };
      var f = el("fieldset", { id: id, role: multi ? null : "radiogroup" }, [el("legend", {}, [label])]);
      opts().forEach(function (c) { f.append(box(multi ? "checkbox" : "radio", q.id, c.value, is(c.value), tr(c.label))); });
      if (q.other) {
        f.append(box(multi ? "checkbox" : "radio", q.id, "other", is("other"), ui("other")));
        var o = el("input", { id: id + ".other", name: q.id + ".other", dir: "auto" });
        o.value = raw[q.id + ".other"] || "";
        f.append(el("label", { "for": id + ".other" }, [ui("other_specify")]), o, el("p", { "class": "error", id: "e-" + q.id + ".other" }));
      }
      wrap.append(f);
    }
    if (q.hint) wrap.append(el("p", { "class": "hint" }, [tr(q.hint)]));
    wrap.append(el("p", { "class": "error", id: "e-" + q.id }));
    return wrap;
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
  }
  function render(errors) {
    setLanguage(current.language);
    var page = doc.pages.find(function (p) { return p.id === current.page; }) || doc.pages[0];
    var switcher = el("select", { id: "language", "aria-label": ui("language") });
    doc.languages.forEach(function (l) { switcher.append(el("option", { value: l }, [l])); });
    switcher.value = lang;
    switcher.onchange = function () {
      current.raw = Object.assign(current.raw, readPage(page));
      current.language = switcher.value; put(current).then(function () { render(); });
    };
    var form = el("form", { novalidate: "" });
    page.questions.forEach(function (q) { form.append(field(q, current.raw)); });
    var nav = el("div", { "class": "nav" }), pages = visiblePages(), idx = pages.indexOf(page);
    if (idx > 0) {
      var back = el("button", { type: "button", id: "back" }, [ui("back")]);
      back.onclick = function () { current.raw = Object.assign(current.raw, readPage(page)); go(pages[idx - 1]); };
      nav.append(back);
    }
    var last = idx === pages.length - 1;
    nav.append(el("button", { "class": "primary", id: "next" }, [ui(last ? "submit" : "next")]));
    form.append(nav);
    form.oninput = form.onchange = function () {
      current.raw = Object.assign(current.raw, readPage(page));
      var shown = validate(page.questions, current.raw, otherPages(page, current.answers)).shown;
      page.questions.forEach(function (q) { document.getElementById("q-" + q.id).hidden = shown.indexOf(q.id) < 0; });
      put(current);
    };
    form.onsubmit = function (ev) { ev.preventDefault(); forward(page); };
    app.replaceChildren(el("h1", {}, [tr(doc.title)]), switcher, page.title ? el("h2", {}, [tr(page.title)]) : "", form);
    form.oninput();
    (errors || []).forEach(function (e) {
      var p = document.getElementById("e-" + e.key) || document.getElementById("e-" + e.key.split(".")[0]);
      if (p) p.textContent = message(e);
    });
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
    put(current).then(function () { finished(); send(); });
  }
  function finished() {
    var button = el("button", { "class": "primary", id: "start" }, [ui("start")]);
    button.onclick = start;
    app.replaceChildren(el("p", { "class": "notice", id: "saved" }, [ui("saved")]), button);
    showQueue();
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;
    var h = [].map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  /* Enumerator mode: a new response starts on the device, with no connection needed. */
  function start() {
    current = { id: uuid(), campaign: doc.campaign, language: lang || doc.default_language, status: "draft",
                answers: {}, raw: {}, page: visibleFirst(), started_at: new Date().toISOString() };
    put(current).then(function () { render(); });
  }
  function visibleFirst() { var p = doc.pages.find(function (p) { return pageShown(p, {}); }); return (p || doc.pages[0]).id; }

  // ------------------------------------------------------------------ queue
  function showQueue() {
    return all().then(function (rows) {
      var count = function (s) { return rows.filter(function (r) { return r.status === s; }).length; };
      document.getElementById("queue").textContent = ui("queued", count("queued")) + " · " + ui("sent", count("sent"));
      var refused = rows.filter(function (r) { return r.status === "refused"; }), box = document.getElementById("problems");
      box.replaceChildren();
      if (refused.length) {
        box.append(el("p", {}, [ui("refused")]));
        refused.forEach(function (r) { box.append(el("p", { "class": "error refused" }, [r.id + ": " + r.message])); });
      }
      return rows;
    });
  }
  function later() {
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
              answers: rec.answers, started_at: rec.started_at, submitted_at: rec.submitted_at, source: "offline" })
          }).then(function (resp) {
            if (resp.status === 200 || resp.status === 201) { rec.status = "sent"; return put(rec); }
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
    }).then(function () { backoff = 2000; }, function () { later(); })
      .then(function () { sending = false; if (again) send(); return showQueue(); });
  }

  // ------------------------------------------------------------------ start-up
  function cacheApp() {
    if (!("serviceWorker" in navigator) || !window.caches) return Promise.resolve();
    return navigator.serviceWorker.register(body.dataset.worker, { scope: body.dataset.scope }).then(function () {
      var urls = [location.pathname, body.dataset.instrument].concat(
        [].map.call(document.querySelectorAll("script[src],link[rel=stylesheet]"), function (e) { return e.getAttribute("src") || e.getAttribute("href"); }));
      return caches.open("surveyapp-offline").then(function (c) { return c.addAll(urls); });
    }).then(function () { document.getElementById("status").textContent = ui("ready"); });
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
    return openDb();
  }).then(function (d) {
    db = d;
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().then(function (granted) {
      if (!granted) document.getElementById("storage").textContent = ui("persist_refused");
    });
    if (!navigator.onLine) document.getElementById("status").textContent = ui("offline");
    cacheApp().catch(function () {});
    window.addEventListener("online", function () { backoff = 2000; send(); });
    return all();
  }).then(function (rows) {
    current = rows.filter(function (r) { return r.status === "draft"; })
      .sort(function (a, b) { return a.started_at < b.started_at ? 1 : -1; })[0];
    if (current) render(); else start();
    send();
  });
})();
