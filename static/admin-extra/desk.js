// The story form's desk: character counts under the headline fields against each one's limit,
// and a confirmation before the buttons that put a story in front of readers or take it off.
(function () {
  "use strict";
  var limits = { id_headline: 110, id_seo_headline: 65, id_social_headline: 100, id_standfirst: 300 };
  Object.keys(limits).forEach(function (id) {
    var field = document.getElementById(id);
    if (!field) return;
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
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);
})();
