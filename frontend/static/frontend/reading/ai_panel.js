// The AI panel of an assisted round: the case's soft vote, each view's own probability on that
// view, the Grad-CAM heatmap over it with its colour bar and opacity. Loaded only when the round
// is assisted (reading.js imports it on demand), so an unassisted page never holds this code's
// output, and its markup exists only in an assisted round's template.

/** A blue → green → yellow → red map for the 8-bit map value; low values stay transparent. */
export const colour = (v) => {
  const t = v / 255;
  const channel = (centre) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre))));
  return [channel(3), channel(2), channel(1), Math.round(255 * Math.min(1, t * 1.6))];
};

const coloured = new Map(); // heatmap url → Promise<canvas>

const colouredHeatmap = (url, loadImage) => {
  if (!coloured.has(url)) {
    coloured.set(url, loadImage(url).then((source) => {
      const canvas = document.createElement("canvas");
      canvas.width = source.naturalWidth; canvas.height = source.naturalHeight;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(source, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < pixels.data.length; i += 4) {
        const [r, g, b, a] = colour(pixels.data[i]);
        pixels.data[i] = r; pixels.data[i + 1] = g; pixels.data[i + 2] = b; pixels.data[i + 3] = a;
      }
      context.putImageData(pixels, 0, 0);
      return canvas;
    }));
  }
  return coloured.get(url);
};

const percent = (p) => `${Math.round(p * 100)}%`;

export function createAiPanel({ $, loadImage, redraw }) {
  const state = { visible: true, opacity: Number($("heatmap-opacity").value) / 100, ready: new Map() };

  const bar = $("colour-bar").getContext("2d");
  for (let x = 0; x < 256; x += 1) {
    const [r, g, b] = colour(x);
    bar.fillStyle = `rgb(${r},${g},${b})`; bar.fillRect(x, 0, 1, 12);
  }

  const setVisible = (visible) => { state.visible = visible; $("show-heatmap").checked = visible; redraw(); };
  $("show-heatmap").addEventListener("change", () => setVisible($("show-heatmap").checked));
  $("heatmap-opacity").addEventListener("input", () => { state.opacity = Number($("heatmap-opacity").value) / 100; redraw(); });

  /** The viewport layer: this view's heatmap, in image space. */
  const layer = (context, viewport) => {
    const url = viewport.image.heatmap;
    if (!state.visible || !url) return;
    const canvas = state.ready.get(url);
    if (!canvas) {
      colouredHeatmap(url, loadImage).then((ready) => { state.ready.set(url, ready); redraw(); });
      return;
    }
    context.globalAlpha = state.opacity;
    context.globalCompositeOperation = "screen";
    context.drawImage(canvas, 0, 0, viewport.image.width, viewport.image.height);
  };

  /** The label a view carries: its own probability, said to be the view's. */
  const viewLabel = (image) =>
    typeof image.probability === "number" ? `AI, this view: ${percent(image.probability)} malignant` : "AI: no output for this view";

  const showCase = (item) => {
    const ai = item.ai || {};
    const n = item.images.length;
    $("ai-result").textContent = ai.available
      ? `Case (soft vote, mean of ${n} view${n === 1 ? "" : "s"}): probability of malignancy ${percent(ai.probability)} — AI class ${ai.malignant ? "malignant" : "benign"} (threshold ${percent(ai.threshold)})`
      : "No AI output for this case.";
    $("heatmap-explains").textContent = ai.available
      ? `The heatmap shows which parts of each view drove the AI towards the class it predicts for that view (malignant above ${percent(ai.threshold)}, else benign). Its scale is relative within each view: 1 is the strongest part of that view, not a probability.`
      : "";
    setVisible(true);
  };

  /** A case read without the AI: the panel keeps nothing of the previous case's output. */
  const clear = () => { $("ai-result").textContent = "–"; $("heatmap-explains").textContent = ""; };

  return { layer, viewLabel, showCase, clear, toggle: () => setVisible(!state.visible), isVisible: () => state.visible };
}
