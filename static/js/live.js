// A live blog's page, kept current: polls the blog's updates fragment (a cached public page:
// the edge answers a poll that finds nothing new with a 304) and offers what is new behind an
// "N new updates" button, so nothing moves under the reader's eyes. Edited and removed
// entries are changed where they are, the scroll position kept. When coverage ends, polling
// stops. Older updates page in below without leaving the page. Without this script the page
// is whole: a refresh shows new updates, and older ones are on further pages.
(function () {
  "use strict";
  var blog = document.querySelector("[data-live]");
  if (!blog || !window.fetch || !window.DOMParser) return;
  var list = blog.querySelector("[data-live-entries]");
  var bar = blog.querySelector("[data-live-new]");
  var button = blog.querySelector("[data-live-show]");
  var announce = blog.querySelector("[data-live-announce]");
  var seconds = parseInt(blog.getAttribute("data-poll-seconds"), 10) || 0;
  var url = blog.getAttribute("data-updates-url");
  var waiting = []; // new entries not shown yet, newest first
  var timer = null;

  function entries(root) {
    return Array.prototype.slice.call(root.querySelectorAll("[data-entry]"));
  }
  function onPage(id) {
    return list.querySelector('[data-entry="' + id + '"]');
  }
  function isWaiting(id) {
    return waiting.some(function (node) { return node.getAttribute("data-entry") === id; });
  }
  function say(text) {
    announce.textContent = text;
  }

  // Replace `old` by `fresh`, keeping what the reader sees still when it is above them.
  function replace(old, fresh) {
    var above = old.getBoundingClientRect().bottom <= 0;
    var before = old.offsetHeight;
    old.replaceWith(fresh);
    if (above) window.scrollBy(0, fresh.offsetHeight - before);
  }

  function showButton() {
    if (!waiting.length) {
      bar.hidden = true;
      return;
    }
    var count = waiting.length;
    button.textContent = count + (count === 1 ? " new update" : " new updates") + ": show";
    bar.hidden = false;
  }

  function merge(fragment) {
    var fresh = entries(fragment);
    var seenOne = false;
    var arrived = [];
    fresh.forEach(function (node) {
      var id = node.getAttribute("data-entry");
      var shown = onPage(id);
      if (shown) {
        seenOne = true;
        if (shown.getAttribute("data-version") !== node.getAttribute("data-version")) {
          replace(shown, document.importNode(node, true));
        }
      } else if (!seenOne && !isWaiting(id)) {
        arrived.push(document.importNode(node, true)); // newer than anything on the page
      } else {
        waiting.forEach(function (held, i) {
          if (held.getAttribute("data-entry") === id) waiting[i] = document.importNode(node, true);
        });
      }
    });
    if (arrived.length) {
      waiting = arrived.concat(waiting);
      showButton();
      say(waiting.length + (waiting.length === 1 ? " new update" : " new updates"));
    }
  }

  function ended() {
    stop();
    var status = blog.querySelector(".live__status");
    if (status) {
      status.className = "live__status live__status--ended";
      status.textContent = "Live coverage has ended. Refresh the page for its final version.";
    }
    say("Live coverage has ended.");
  }

  function poll() {
    timer = null;
    fetch(url, { cache: "no-cache", credentials: "omit", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status === 404 || response.status === 410) {
          stop();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (text) {
        if (text === null || text === undefined) return;
        var root = new DOMParser().parseFromString(text, "text/html").querySelector("[data-live-updates]");
        if (!root) return;
        merge(root);
        if (root.getAttribute("data-state") !== "live") ended();
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(schedule);
  }

  function schedule() {
    if (seconds && !timer && !document.hidden && blog.getAttribute("data-polling") !== "stopped") {
      timer = window.setTimeout(poll, seconds * 1000);
    }
  }
  function stop() {
    blog.setAttribute("data-polling", "stopped");
    if (timer) window.clearTimeout(timer);
    timer = null;
  }

  button.addEventListener("click", function () {
    var first = list.firstElementChild;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    waiting.slice().reverse().forEach(function (node) {
      list.insertBefore(node, list.firstElementChild);
      first = node;
    });
    waiting = [];
    showButton();
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.scrollIntoView({ block: "start" });
      first.focus({ preventScroll: true });
    }
  });

  // Older updates, added below the last one.
  blog.addEventListener("click", function (event) {
    var link = event.target.closest("[data-live-older]");
    if (!link) return;
    event.preventDefault();
    fetch(link.href, { credentials: "omit" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(); })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        entries(page.querySelector("[data-live-entries]") || page).forEach(function (node) {
          if (!onPage(node.getAttribute("data-entry"))) list.appendChild(document.importNode(node, true));
        });
        var next = page.querySelector("[data-live-older]");
        var nav = link.closest("nav");
        if (next) link.href = next.href;
        else if (nav) nav.remove();
      })
      .catch(function () { window.location.href = link.href; });
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer) window.clearTimeout(timer);
      timer = null;
    } else if (blog.getAttribute("data-polling") !== "stopped") {
      poll(); // back on the page: look at once
    }
  });
  schedule();
})();
