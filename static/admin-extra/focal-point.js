// The focal point of a library picture: a click on the picture sets it (into the form's hidden
// focal_x / focal_y fields), and each placement's crop is redrawn beside it with the same
// arithmetic as pictures/placements.py: the largest box of that shape, centred on the point,
// moved back inside the picture.
(() => {
  const root = document.querySelector("[data-focal-point]");
  if (!root) return;
  const width = Number(root.dataset.width), height = Number(root.dataset.height);
  const source = root.querySelector("[data-focal-source]");
  const marker = root.querySelector("[data-focal-marker]");
  const fx = document.getElementById("id_focal_x"), fy = document.getElementById("id_focal_y");

  function cropBox(ratio, x, y) {
    let w = width, h = height;
    if (ratio) {
      if (width / height > ratio) w = Math.round(height * ratio); else h = Math.round(width / ratio);
    }
    const left = Math.min(Math.max(0, Math.round(x * width - w / 2)), width - w);
    const top = Math.min(Math.max(0, Math.round(y * height - h / 2)), height - h);
    return { left, top, w, h };
  }

  function draw() {
    const x = Number(fx.value), y = Number(fy.value);
    marker.style.left = `${x * 100}%`;
    marker.style.top = `${y * 100}%`;
    root.querySelectorAll("[data-crop-ratio]").forEach((view) => {
      const ratio = Number(view.dataset.cropRatio) || width / height;
      const box = cropBox(Number(view.dataset.cropRatio) || null, x, y);
      const scale = view.clientWidth / box.w;
      view.style.height = `${view.clientWidth / ratio}px`;
      const img = view.querySelector("img");
      img.style.width = `${width * scale}px`;
      img.style.left = `${-box.left * scale}px`;
      img.style.top = `${-box.top * scale}px`;
    });
  }

  source.addEventListener("click", (event) => {
    const rect = source.getBoundingClientRect();
    fx.value = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)).toFixed(3);
    fy.value = Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height)).toFixed(3);
    draw();
  });
  if (source.complete) draw(); else source.addEventListener("load", draw);
  window.addEventListener("resize", draw);
})();
