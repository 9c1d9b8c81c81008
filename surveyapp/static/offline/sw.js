/* Service worker of the offline app. The page puts the app's files and the instrument in
   the "surveyapp-offline" cache; here every GET is tried on the network first (so a
   device online sees the current instrument) and answered from that cache when the
   network fails. Submissions (POST) are never touched: the page's queue handles them. */
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET" || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith(fetch(req).then(function (resp) {
    if (resp.ok) {
      var copy = resp.clone();
      caches.open("surveyapp-offline").then(function (c) {
        return c.match(req, { ignoreSearch: false }).then(function (hit) { if (hit) return c.put(req, copy); });
      });
    }
    return resp;
  }, function () {
    return caches.match(req).then(function (hit) { return hit || Response.error(); });
  }));
});
