// Keeps the text being typed in an article form in this browser's storage, so an expired
// login or a closed tab loses nothing. Offered back on the next visit; cleared once saved.
(function () {
  "use strict";
  const script = document.currentScript;
  const key = script.dataset.key;
  const savedAt = Number(script.dataset.savedAt || 0) * 1000;
  const form = document.querySelector("#article_form");
  if (!form || !window.localStorage) return;
  const names = ["headline", "standfirst", "body", "seo_headline", "social_headline"];
  const fields = names.map((n) => form.elements[n]).filter(Boolean);
  const banner = document.getElementById("autosave-banner");
  // The rich-text editor keeps its own copy of the body: restore through it once it is ready.
  const editors = {};
  document.addEventListener("prose-editor:ready", (event) => {
    editors[event.detail.textarea.name] = event.detail.editor;
  });
  function editorFor(field) {
    if (editors[field.name]) return editors[field.name];
    // Tiptap keeps its editor on the editing element, should the ready event have gone by.
    const dom = field.parentElement && field.parentElement.querySelector(".ProseMirror[contenteditable]");
    return dom && dom.editor;
  }
  function put(field, value) {
    const editor = editorFor(field);
    if (editor) editor.commands.setContent(value, true);
    field.value = value;
  }

  let stored = null;
  try { stored = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
  const differs = stored && fields.some((f) => (stored.values[f.name] ?? f.value) !== f.value);
  if (stored && differs && stored.time > savedAt && banner) {
    banner.hidden = false;
    banner.querySelector("[data-autosave-time]").textContent = new Date(stored.time).toLocaleString();
    banner.querySelector("[data-autosave-restore]").addEventListener("click", () => {
      fields.forEach((f) => { if (f.name in stored.values) put(f, stored.values[f.name]); });
      fields.forEach((f) => f.dispatchEvent(new Event("input", { bubbles: true })));
      banner.hidden = true;
    });
    banner.querySelector("[data-autosave-discard]").addEventListener("click", () => {
      localStorage.removeItem(key);
      banner.hidden = true;
    });
  } else if (stored && script.dataset.clear && stored.time <= savedAt) {
    localStorage.removeItem(key); // the server has a newer save than this browser's copy
  }

  function keep() {
    const values = {};
    fields.forEach((f) => { values[f.name] = f.value; });
    try { localStorage.setItem(key, JSON.stringify({ time: Date.now(), values })); } catch (e) { /* full */ }
  }
  let timer = null;
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(keep, 800); });
  setInterval(keep, 15000);
})();
