// Embeds: the page shows our snapshot of a post or video and loads nothing from its provider
// until the reader asks. A click on the snapshot puts the provider's player in its place
// (the page's Content-Security-Policy allows exactly those players to be framed); without
// JavaScript the same link opens the original on the provider's site.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-player]");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const player = document.createElement("iframe");
  player.src = link.dataset.player;
  player.title = link.dataset.title || "Embedded post";
  player.className = "embed__player";
  player.allow = "autoplay; encrypted-media; picture-in-picture; fullscreen";
  player.allowFullscreen = true;
  player.referrerPolicy = "strict-origin-when-cross-origin";
  link.closest(".embed__frame").replaceChildren(player);
  player.focus();
});
