// The story form's picture panel: find library pictures (thumbnails), upload one in place, and
// put them in the story: as its picture, in the body where the cursor is (a marked paragraph,
// "Picture 12", which the page renders from the library), or as a gallery; and embeds, as a
// marked paragraph holding the link (the server makes the snapshot when the story is saved).
// Loaded in the page's head (the form's media), so it hears the editor announce itself.
(() => {
  let editor = null;
  document.addEventListener("prose-editor:ready", (event) => {
    if (event.detail.textarea.id === "id_body") editor = event.detail.editor;
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

function start() {
  const panel = document.querySelector("[data-picture-panel]");
  if (!panel) return;
  const results = panel.querySelector("[data-picture-results]");
  const message = panel.querySelector("[data-picture-message]");
  const galleryList = panel.querySelector("[data-gallery-list]");
  const gallery = [];

  function say(text, isError = false) {
    message.textContent = text;
    message.classList.toggle("is-error", isError);
  }

  function insert(html) {
    if (!editor) { say("The body editor is not ready yet.", true); return; }
    editor.chain().focus().insertContent(html).run();
  }

  function escapeText(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function button(label, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.addEventListener("click", action);
    return b;
  }

  function card(image) {
    const item = document.createElement("div");
    item.className = "picture-panel__item" + (image.expired ? " is-expired" : "");
    item.dataset.pictureId = image.id;
    const thumb = document.createElement("img");
    thumb.src = image.thumbnail;
    thumb.alt = image.alt || "";
    const text = document.createElement("p");
    text.textContent = `${image.id}: ${image.caption || image.alt || "(no caption)"}` +
      (image.credit ? ` (${image.credit})` : "") + (image.expired ? " (licence run out)" : "") +
      (image.width < 1200 ? ` (only ${image.width} px wide)` : "");
    item.append(thumb, text,
      button("Use as story picture", () => {
        const field = document.getElementById("id_hero_image");
        if (field) { field.value = image.id; field.dispatchEvent(new Event("change")); }
        say(`Picture ${image.id} is the story's picture once you save.`);
      }),
      button("Insert in body", () => insert(`<p class="picture">Picture ${image.id}</p>`)),
      button("Add to gallery", () => {
        if (!gallery.includes(image.id)) gallery.push(image.id);
        galleryList.textContent = `Gallery: ${gallery.join(", ")}`;
      }));
    if (!image.alt) {
      const warn = document.createElement("p");
      warn.textContent = "No alt text yet: add it before publishing.";
      item.append(warn);
    }
    return item;
  }

  async function search() {
    const query = panel.querySelector("[data-picture-query]").value;
    const response = await fetch(`${panel.dataset.pickerUrl}?q=${encodeURIComponent(query)}`, {
      credentials: "same-origin",
    });
    const data = await response.json();
    results.replaceChildren(...data.results.map(card));
    say(data.results.length ? "" : "No picture matches.");
  }

  async function upload() {
    const file = panel.querySelector("[data-upload-file]").files[0];
    if (!file) { say("Choose a picture to upload.", true); return; }
    const form = new FormData();
    form.append("file", file);
    panel.querySelectorAll("[data-upload-field]").forEach((input) => {
      form.append(input.dataset.uploadField, input.value);
    });
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    say("Uploading…");
    const response = await fetch(panel.dataset.uploadUrl, {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": token },
    });
    const data = await response.json();
    if (!response.ok) { say(data.errors.join(" "), true); return; }
    results.prepend(card(data.image));
    say(`Uploaded as picture ${data.image.id}` + (data.image.note ? `: ${data.image.note}` : "."));
  }

  panel.querySelector("[data-picture-search]").addEventListener("click", search);
  panel.querySelector("[data-picture-query]").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); search(); }
  });
  panel.querySelector("[data-upload-send]").addEventListener("click", upload);
  panel.querySelector("[data-gallery-insert]").addEventListener("click", () => {
    if (!gallery.length) { say("Add pictures to the gallery first.", true); return; }
    insert(`<p class="gallery">Gallery ${gallery.join(", ")}</p>`);
    gallery.length = 0;
    galleryList.textContent = "Gallery: choose pictures with “Add to gallery”.";
  });
  panel.querySelector("[data-embed-insert]").addEventListener("click", () => {
    const link = panel.querySelector("[data-embed-link]").value.trim();
    if (!/^https?:\/\//.test(link)) { say("Paste the link of the post or video.", true); return; }
    insert(`<p class="embed">${escapeText(link)}</p>`);
  });
  search();
}
})();
