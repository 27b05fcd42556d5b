// The story form's desk: character counts under the headline fields against each one's limit,
// the body's word count and reading time as one types (counted as the site counts them), a
// confirmation before the buttons that put a story in front of readers or take it off, and
// names for the widgets that come without one. Loaded in the page's head (the admin's form
// media), so it waits for the document.
(function () {
  "use strict";
  var limits = { id_headline: 110, id_seo_headline: 65, id_social_headline: 100, id_standfirst: 300 };

  function counters() {
    Object.keys(limits).forEach(function (id) {
      var field = document.getElementById(id);
      if (!field || field.dataset.counted) return;
      field.dataset.counted = "1";
      var count = document.createElement("span");
      count.className = "desk-count";
      count.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", count);
      function update() {
        var length = field.value.length;
        count.textContent = length + " of " + limits[id] + " characters";
        count.classList.toggle("desk-count--over", length > limits[id]);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  // Words as the server counts them (`articles.body.plain_text`): marked paragraphs (teasers,
  // the sign-up slot, pictures, galleries, embeds) are not the story, block boundaries separate
  // words and inline tags do not; minutes at the reading speed the textarea carries. Read from
  // the editor's live HTML while it runs, else from the textarea.
  var MARKED = /<p class="(?:teaser|newsletter-signup|picture|gallery|embed)"[^>]*>[\s\S]*?<\/p>/g;
  var BLOCK = /<\/?(?:p|blockquote|h[1-6]|ul|ol|li|div|br)\b[^>]*>/gi;
  var decoder = document.createElement("textarea"); // parses entities only, runs nothing
  function wordsIn(html) {
    decoder.innerHTML = html.replace(MARKED, " ").replace(BLOCK, " ").replace(/<[^>]+>/g, "");
    return (decoder.value.match(/\S+/g) || []).length;
  }
  function wordCount() {
    var body = document.getElementById("id_body");
    if (!body || body.dataset.wordsCounted) return;
    body.dataset.wordsCounted = "1";
    var perMinute = parseInt(body.dataset.wordsPerMinute, 10) || 230;
    var row = body.closest(".form-row") || body.parentElement;
    var count = document.createElement("p");
    count.className = "desk-count desk-words";
    count.id = "desk-words";
    row.appendChild(count);
    var pending = null;
    function update() {
      pending = null;
      var editor = row.querySelector(".ProseMirror[contenteditable]");
      var words = wordsIn(editor ? editor.innerHTML : body.value);
      var minutes = Math.max(1, Math.ceil(words / perMinute));
      count.textContent = words + (words === 1 ? " word" : " words") + " · " + minutes + " min read";
    }
    function soon() { if (!pending) pending = window.setTimeout(update, 150); }
    new MutationObserver(function (changes) {
      if (changes.some(function (change) { return !count.contains(change.target); })) soon();
    }).observe(row, { childList: true, subtree: true, characterData: true });
    update();
  }

  // The body's rich-text editor, and the search box of each autocomplete field (Django's
  // select2), named by their field's own label; select2's list of chosen items holds spans,
  // not list items, so it is not announced as a list.
  function labelOf(id) {
    var label = id && document.querySelector('label[for="' + id + '"]');
    return label ? label.textContent.replace(/:\s*$/, "").trim() : "";
  }
  function name() {
    document.querySelectorAll(".ProseMirror[contenteditable]").forEach(function (editor) {
      if (!editor.hasAttribute("aria-label")) editor.setAttribute("aria-label", labelOf("id_body") || "Body");
    });
    // Django's date and time boxes are headed "Date:" and "Time:" in plain text, not labels.
    document.querySelectorAll("p.datetime input[id$='_0'], p.datetime input[id$='_1']").forEach(function (input) {
      if (input.hasAttribute("aria-label")) return;
      var field = labelOf(input.id.replace(/_[01]$/, "_0")) || labelOf(input.id.replace(/_[01]$/, ""));
      var part = /_0$/.test(input.id) ? "date" : "time";
      input.setAttribute("aria-label", (field ? field + ", " : "") + part);
    });
    document.querySelectorAll(".select2-container").forEach(function (box) {
      var select = box.previousElementSibling;
      var search = box.querySelector(".select2-search__field");
      if (search && !search.hasAttribute("aria-label")) {
        search.setAttribute("aria-label", "Search " + (labelOf(select && select.id) || "").toLowerCase());
      }
      box.querySelectorAll("ul.select2-selection__rendered").forEach(function (list) {
        list.setAttribute("role", "presentation");
      });
    });
  }

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  function start() {
    counters();
    wordCount();
    name();
    new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
