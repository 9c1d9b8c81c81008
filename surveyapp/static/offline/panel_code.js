/* Panel codes on the device: domain/panel_code.py in JavaScript (the same alphabet, check
   symbol and forgiving input), held to it by tests/data/panel_code_vectors.json. A baseline
   code is made here, not fetched: the enumerator writes it on the resident's card with no
   connection, and the server keeps only its keyed hash when the response arrives. */
(function () {
  "use strict";
  var ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ", M = 31, PAYLOAD = 10, LENGTH = 11, GROUPS = [4, 4, 3];
  // Python's str.isspace() (not JavaScript's \s, which takes U+FEFF and leaves U+001C-U+001F),
  // every dash (phones turn "-" into "–" on their own) and the minus sign.
  var SEPARATOR = /^[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\p{Pd}\u2212]$/u;

  function sum(symbols) {  // weights 1..11, modulo 31
    var s = 0;
    for (var i = 0; i < symbols.length; i++) s += (i + 1) * ALPHABET.indexOf(symbols[i]);
    return s % M;
  }
  function checkSymbol(payload) {
    var inverse = 1;  // 11^-1 modulo 31, found as domain/panel_code.py's pow(11, -1, 31)
    while ((LENGTH * inverse) % M !== 1) inverse++;
    return ALPHABET[(((M - sum(payload)) % M) * inverse) % M];
  }
  /* check(text) -> {valid, reason, character, code}: panel_code.check. */
  function check(text) {
    var typed = [...String(text || "").normalize("NFKC")].filter(function (c) { return !SEPARATOR.test(c); });
    if (!typed.length) return { valid: false, reason: "empty" };
    for (var i = 0; i < typed.length; i++)
      if (ALPHABET.indexOf(typed[i].toUpperCase()) < 0 || typed[i].toUpperCase().length !== 1)
        return { valid: false, reason: "bad_character", character: typed[i] };
    var code = typed.join("").toUpperCase();
    if (code.length !== LENGTH) return { valid: false, reason: "wrong_length" };
    if (sum(code) !== 0) return { valid: false, reason: "check_failed" };
    return { valid: true, code: code };
  }
  function format(code) {
    var out = [], start = 0;
    GROUPS.forEach(function (n) { out.push(code.slice(start, start + n)); start += n; });
    return out.join("-");
  }
  /* A new code in grouped form, from the browser's cryptographic generator; each symbol
     uniform over 31 (bytes of 248 and more are drawn again, 248 = 8 * 31). */
  function newCode() {
    var payload = "";
    while (payload.length < PAYLOAD) {
      var bytes = crypto.getRandomValues(new Uint8Array(16));
      for (var i = 0; i < bytes.length && payload.length < PAYLOAD; i++)
        if (bytes[i] < 248) payload += ALPHABET[bytes[i] % M];
    }
    return format(payload + checkSymbol(payload));
  }
  window.PanelCode = { check: check, format: format, newCode: newCode, withCheck: function (payload) { return payload + checkSymbol(payload); } };
})();
