/* The expression language of instruments (relevant, constraint), evaluated on the device.
   A port of surveyapp/domain/expressions.py with the same semantics: unanswered names are
   null and fail comparisons closed, equality is strict, evaluation never throws.
   tests/data/expression_vectors.json runs against both evaluators so they cannot drift.
   Instruments are checked on the server, so a parse error here only throws. */
(function (root) {
  "use strict";
  var KW = { and: 1, or: 1, not: 1, "in": 1, "true": 1, "false": 1, "null": 1 };
  var CONST = { "true": true, "false": false, "null": null };
  var OPS = ["==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ","];
  var CMP = { "==": 1, "!=": 1, "<": 1, "<=": 1, ">": 1, ">=": 1 };
  var IDENT = /[A-Za-z_][A-Za-z0-9_]*/y, NUM = /[0-9]+(?:\.[0-9]+)?/y;
  var NUMERIC_TEXT = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;

  function isNum(x) { return typeof x === "number"; }
  function isObj(x) { return x !== null && typeof x === "object" && !Array.isArray(x); }
  function eq(a, b) {
    if (a === null || b === null || a === undefined || b === undefined) return false;
    if (Array.isArray(a) && Array.isArray(b))
      return a.length === b.length && a.every(function (x, i) { return eq(x, b[i]); });
    return typeof a === typeof b && !isObj(a) && !Array.isArray(a) && a === b;
  }
  function order(op, a, b) {
    if (!((isNum(a) && isNum(b)) || (typeof a === "string" && typeof b === "string"))) return false;
    if (typeof a === "string") { a = [...a]; b = [...b]; return cmpCode(op, a, b); }
    return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
  }
  function cmpCode(op, a, b) { // by code point, as Python compares str
    var c = 0;
    for (var i = 0; i < Math.min(a.length, b.length) && !c; i++) c = a[i].codePointAt(0) - b[i].codePointAt(0);
    if (!c) c = a.length - b.length;
    return op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
  }
  function contains(item, box) {
    if (Array.isArray(box)) return box.some(function (x) { return eq(item, x); });
    return typeof box === "string" && typeof item === "string" && box.indexOf(item) >= 0;
  }
  function arith(op, a, b) {
    if (!isNum(a) || !isNum(b)) return null;
    if (op === "/") return b === 0 ? null : a / b;
    return op === "+" ? a + b : op === "-" ? a - b : a * b;
  }
  function truthy(x) {
    if (Array.isArray(x)) return x.length > 0;
    if (isObj(x)) return Object.keys(x).length > 0;
    return x !== null && x !== undefined && x !== false && x !== 0 && x !== "";
  }
  function lookup(answers, name) {
    if (!answers) return null;
    if (Object.prototype.hasOwnProperty.call(answers, name)) return answers[name];
    var v = answers, parts = name.split(".");
    for (var i = 0; i < parts.length; i++) {
      if (!isObj(v) || !Object.prototype.hasOwnProperty.call(v, parts[i])) return null;
      v = v[parts[i]];
    }
    return v === undefined ? null : v;
  }
  function sized(x) { return typeof x === "string" || Array.isArray(x) || isObj(x); }
  function size(x) { return typeof x === "string" ? [...x].length : Array.isArray(x) ? x.length : Object.keys(x).length; }
  var FUNCS = {
    answered: [1, function (x) { return x !== null && !(sized(x) && size(x) === 0); }],
    count: [1, function (x) { return x === null ? 0 : sized(x) ? size(x) : null; }],
    length: [1, function (x) { return x === null ? 0 : typeof x === "string" ? size(x) : null; }],
    matches: [2, null],
    number: [1, function (x) {
      if (isNum(x)) return x;
      var t = typeof x === "string" ? x.trim() : "";
      return NUMERIC_TEXT.test(t) ? Number(t) : null;
    }],
    selected: [2, function (x, v) { return Array.isArray(x) ? contains(v, x) : eq(x, v); }]
  };

  function tokenize(src) {
    var toks = [], i = 0, n = src.length, m;
    while (i < n) {
      var c = src[i];
      if (/\s/.test(c)) { i++; continue; }
      if (c === "'" || c === '"') {
        var j = i + 1, s = "";
        while (j < n && src[j] !== c) {
          if (src[j] === "\\" && j + 1 < n && "'\"\\".indexOf(src[j + 1]) >= 0) j++;
          s += src[j++];
        }
        if (j >= n) throw new Error("unterminated string");
        toks.push({ k: "str", v: s }); i = j + 1; continue;
      }
      NUM.lastIndex = i;
      if (/[0-9]/.test(c) && (m = NUM.exec(src))) { toks.push({ k: "num", v: Number(m[0]) }); i += m[0].length; continue; }
      IDENT.lastIndex = i;
      if ((m = IDENT.exec(src))) {
        var end = IDENT.lastIndex, p;
        while (end < n && src[end] === ".") {
          IDENT.lastIndex = end + 1;
          if (!(p = IDENT.exec(src))) break;
          end = IDENT.lastIndex;
        }
        var text = src.slice(i, end);
        toks.push(KW[text] ? { k: "kw", v: text } : { k: "name", v: text }); i = end; continue;
      }
      if (c === "@") {
        IDENT.lastIndex = i + 1; m = IDENT.exec(src);
        if (!m) throw new Error("bad context name");
        toks.push({ k: "ctx", v: m[0] }); i = IDENT.lastIndex; continue;
      }
      if (c === ".") { toks.push({ k: "self" }); i++; continue; }
      var op = OPS.find(function (o) { return src.startsWith(o, i); });
      if (!op) throw new Error("unexpected character " + c);
      toks.push({ k: "op", v: op }); i += op.length;
    }
    toks.push({ k: "end" });
    return toks;
  }

  function parse(src) {
    var t = tokenize(src), pos = 0;
    function peek(a) { return t[Math.min(pos + (a || 0), t.length - 1)]; }
    function at(k, vs, a) { var x = peek(a); return x.k === k && vs.indexOf(x.v) >= 0; }
    function expect(op) { if (!at("op", [op])) throw new Error("expected " + op); pos++; }
    function logic(op) {
      var sub = op === "or" ? function () { return logic("and"); } : negation, items = [sub()];
      while (at("kw", [op])) { pos++; items.push(sub()); }
      return items.length === 1 ? items[0] : { t: "logic", op: op, items: items };
    }
    function negation() {
      if (!at("kw", ["not"])) return comparison();
      pos++; return { t: "not", x: negation() };
    }
    function cmpOp() {
      if ((peek().k === "op" && CMP[peek().v]) || at("kw", ["in"])) return peek().v;
      if (at("kw", ["not"]) && at("kw", ["in"], 1)) return "not in";
      return null;
    }
    function comparison() {
      var left = sum(), op = cmpOp();
      if (op === null) return left;
      pos += op === "not in" ? 2 : 1;
      var node = { t: "cmp", op: op, l: left, r: sum() };
      if (cmpOp() !== null) throw new Error("comparisons cannot be chained");
      return node;
    }
    function chain(ops, sub) {
      var first = sub(), rest = [];
      while (at("op", ops)) rest.push([t[pos++].v, sub()]);
      return rest.length ? { t: "arith", first: first, rest: rest } : first;
    }
    function sum() { return chain(["+", "-"], product); }
    function product() { return chain(["*", "/"], unary); }
    function unary() {
      if (!at("op", ["-"])) return atom();
      pos++;
      var x = unary();
      return x.t === "lit" && isNum(x.v) ? { t: "lit", v: -x.v } : { t: "neg", x: x };
    }
    function items(closer) {
      var found = [];
      while (!at("op", [closer])) {
        if (found.length) expect(",");
        found.push(logic("or"));
      }
      return found;
    }
    function atom() {
      var tok = t[pos++];
      if (tok.k === "num" || tok.k === "str") return { t: "lit", v: tok.v };
      if (tok.k === "kw" && tok.v in CONST) return { t: "lit", v: CONST[tok.v], isNull: tok.v === "null" };
      if (tok.k === "self") return { t: "self" };
      if (tok.k === "ctx") return { t: "ctx", name: tok.v };
      if (tok.k === "name" && at("op", ["("])) {
        var f = FUNCS[tok.v];
        if (!f) throw new Error("unknown function " + tok.v);
        pos++;
        var args = items(")"); expect(")");
        if (args.length !== f[0]) throw new Error("wrong number of arguments");
        var re = null;
        if (tok.v === "matches") re = new RegExp("^(?:" + args[1].v + ")$");
        return { t: "call", f: tok.v, args: args, re: re };
      }
      if (tok.k === "name") return { t: "name", name: tok.v };
      if (tok.k === "op" && tok.v === "(") { var x = logic("or"); expect(")"); return x; }
      if (tok.k === "op" && tok.v === "[") { var xs = items("]"); expect("]"); return { t: "list", items: xs }; }
      throw new Error("unexpected token");
    }
    var node = logic("or");
    if (peek().k !== "end") throw new Error("unexpected token");
    return node;
  }

  function ev(n, env) {
    switch (n.t) {
      case "lit": return n.v;
      case "name": return lookup(env.answers, n.name);
      case "ctx": return lookup(env.context, n.name);
      case "self": return env.self === undefined ? null : env.self;
      case "list": return n.items.map(function (x) { return ev(x, env); });
      case "not": return !truthy(ev(n.x, env));
      case "neg": return arith("-", 0, ev(n.x, env));
      case "arith":
        var v = ev(n.first, env);
        n.rest.forEach(function (r) { v = arith(r[0], v, ev(r[1], env)); });
        return v;
      case "logic":
        var decisive = n.op === "or";
        for (var i = 0; i < n.items.length; i++) if (truthy(ev(n.items[i], env)) === decisive) return decisive;
        return !decisive;
      case "cmp":
        var a = ev(n.l, env), b = ev(n.r, env);
        if (n.op === "==" || n.op === "!=") {
          if (n.l.isNull || n.r.isNull) return (a === null && b === null) === (n.op === "==");
          return a !== null && b !== null && eq(a, b) === (n.op === "==");
        }
        if (n.op === "in") return contains(a, b);
        if (n.op === "not in") return a !== null && b !== null && !contains(a, b);
        return order(n.op, a, b);
      case "call":
        var vals = n.args.map(function (x) { return ev(x, env); });
        try {
          if (n.re) return typeof vals[0] === "string" && n.re.test(vals[0]);
          var r = FUNCS[n.f][1].apply(null, vals);
          return r === undefined ? null : r;
        } catch (e) { return null; }
    }
    return null;
  }

  var cache = {};
  function compile(src) { return cache[src] || (cache[src] = parse(src)); }
  /* evaluate(source, answers, context, self) -> the value; test(...) -> its truthiness. */
  function evaluate(src, answers, context, self) {
    return ev(compile(src), { answers: answers || {}, context: context || {}, self: self });
  }
  root.SurveyExpr = {
    evaluate: evaluate,
    test: function (src, answers, context, self) { return truthy(evaluate(src, answers, context, self)); },
    truthy: truthy
  };
})(this);
