// Reads: on a story page, one beacon when the story has been on screen for a moment (cached
// pages never reach the server, so the page says it was read); on any page with a rails slot,
// the "Most read" and "Trending now" rails fetched into it. No cookie, nothing personal; a
// browser asking not to be tracked sends nothing.
(function () {
  "use strict";
  var quiet = navigator.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  var story = document.querySelector("[data-read-id]");
  if (story && !quiet && navigator.sendBeacon) {
    var sent = false;
    var send = function () {
      if (sent || document.visibilityState !== "visible") return;
      sent = true;
      // In the address, with no body: nginx answers the beacon itself and logs these fields.
      var fields = new URLSearchParams();
      fields.set("id", story.getAttribute("data-read-id"));
      fields.set("from", document.referrer || "");
      if (/[?&]utm_medium=email\b/.test(location.search)) fields.set("nl", "1");
      navigator.sendBeacon(story.getAttribute("data-read-beacon") + "?" + fields.toString());
    };
    window.setTimeout(send, 3000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") window.setTimeout(send, 3000);
    });
  }
  document.querySelectorAll("[data-reads-rails]").forEach(function (slot) {
    fetch(slot.getAttribute("data-reads-rails"), { credentials: "omit" })
      .then(function (answer) { return answer.ok ? answer.text() : ""; })
      .then(function (html) {
        if (!html.trim()) return;
        slot.innerHTML = html;
        slot.hidden = false;
      })
      .catch(function () {});
  });
})();
