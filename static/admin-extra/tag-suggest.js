// Suggests existing tags while one types into the comma-separated tags field: the last term is
// looked up through the admin's own autocomplete endpoint, and each suggestion is offered as
// the whole field's value (the earlier tags, then the suggested one), which a plain <datalist>
// can complete. New tags can still be typed freely.
function startTagSuggestions() {
  "use strict";
  const input = document.getElementById("id_tags");
  if (!input || !input.dataset.autocompleteUrl) return;
  const list = document.createElement("datalist");
  list.id = "tag-suggestions";
  input.after(list);
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");
  let timer = null;
  let asked = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 200);
  });
  async function suggest() {
    const parts = input.value.split(",");
    const term = parts.pop().trim();
    if (!term || term === asked) return;
    asked = term;
    const url = new URL(input.dataset.autocompleteUrl, window.location.href);
    url.searchParams.set("term", term);
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const before = parts.map((p) => p.trim()).filter(Boolean);
    list.replaceChildren(
      ...data.results.map((result) => {
        const option = document.createElement("option");
        option.value = [...before, result.text].join(", ");
        return option;
      })
    );
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", startTagSuggestions);
} else {
  startTagSuggestions();
}
