// Keeps the text being typed in an article form, so an expired login, a closed tab or a
// change of device loses nothing: in this browser's storage at once, and on the server every
// few seconds (articles/admin/drafts.py), which another device asks for when the form opens.
// The newest copy that differs from the saved story is offered back; saving clears both.
(function () {
  "use strict";
  const script = document.currentScript;
  const key = script.dataset.key;
  const serverUrl = script.dataset.serverUrl;
  const savedAt = Number(script.dataset.savedAt || 0) * 1000;
  const form = document.querySelector("#article_form");
  if (!form || !window.localStorage) return;
  const names = ["headline", "standfirst", "body", "seo_headline", "social_headline"];
  const fields = names.map((n) => form.elements[n]).filter(Boolean);
  const banner = document.getElementById("autosave-banner");
  const token = form.elements.csrfmiddlewaretoken && form.elements.csrfmiddlewaretoken.value;
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
  function differs(copy) {
    return copy && fields.some((f) => (copy.values[f.name] ?? f.value) !== f.value);
  }

  function offer(copy, where) {
    if (!banner) return;
    banner.hidden = false;
    banner.querySelector("[data-autosave-time]").textContent = new Date(copy.time).toLocaleString();
    const place = banner.querySelector("[data-autosave-where]");
    if (place) place.textContent = where;
    banner.querySelector("[data-autosave-restore]").onclick = () => {
      fields.forEach((f) => { if (f.name in copy.values) put(f, copy.values[f.name]); });
      fields.forEach((f) => f.dispatchEvent(new Event("input", { bubbles: true })));
      banner.hidden = true;
    };
    banner.querySelector("[data-autosave-discard]").onclick = () => {
      localStorage.removeItem(key);
      banner.hidden = true;
    };
  }

  let local = null;
  try { local = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { local = null; }
  if (local && script.dataset.clear && local.time <= savedAt) {
    localStorage.removeItem(key); // the server has a newer save than this browser's copy
    local = null;
  }
  const fromServer = serverUrl
    ? fetch(serverUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.status === 200 ? r.json() : null))
        .catch(() => null)
    : Promise.resolve(null);
  fromServer.then((remote) => {
    const candidates = [[local, "in this browser"], [remote, "on the server (from any device)"]]
      .filter(([copy]) => copy && copy.time > savedAt && differs(copy))
      .sort((a, b) => b[0].time - a[0].time);
    if (candidates.length) offer(candidates[0][0], candidates[0][1]);
  });

  function values() {
    const found = {};
    fields.forEach((f) => { found[f.name] = f.value; });
    return found;
  }
  function keep() {
    try { localStorage.setItem(key, JSON.stringify({ time: Date.now(), values: values() })); } catch (e) { /* full */ }
  }
  let sentValues = JSON.stringify(values());
  function send() {
    const now = JSON.stringify(values());
    if (!serverUrl || !token || now === sentValues) return;
    sentValues = now;
    fetch(serverUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ values: JSON.parse(now) }),
    }).catch(() => { sentValues = ""; }); // try again with the next keystroke
  }
  let timer = null;
  let sendTimer = null;
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(keep, 800);
    if (!sendTimer) sendTimer = setTimeout(() => { sendTimer = null; send(); }, 3000);
  });
  setInterval(() => { keep(); send(); }, 15000);
})();
