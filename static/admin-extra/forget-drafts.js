// Shown on the logged-out page: removes every draft autosave.js kept in this browser.
(function () {
  "use strict";
  if (!window.localStorage) return;
  const prefix = "newsroom-article-";
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const key = localStorage.key(i);
    if (key && key.startsWith(prefix)) localStorage.removeItem(key);
  }
})();
