// Calipers: distances drawn on a view, kept in the original image's pixels and shown in
// millimetres from the image's physical spacing (DICOM ultrasound region or PixelSpacing), or
// in pixels, said so, when the file gives none. The server recomputes the millimetres it stores.

/** Length of a → b (original pixels) in mm, or null without a spacing. */
export const lengthMm = (a, b, spacing) =>
  spacing ? Math.hypot((b.x - a.x) * spacing.x_mm, (b.y - a.y) * spacing.y_mm) : null;

export const lengthPx = (a, b) => Math.hypot(b.x - a.x, b.y - a.y);

export const formatLength = (a, b, spacing) => {
  const mm = lengthMm(a, b, spacing);
  return mm === null ? `${lengthPx(a, b).toFixed(0)} px (no physical scale)` : `${mm.toFixed(1)} mm`;
};

export const spacingText = (image) => {
  if (!image) return "";
  if (!image.spacing) return "No physical scale in this image: distances are in pixels.";
  const source = image.spacing.source === "pixel_spacing" ? "DICOM Pixel Spacing" : "DICOM ultrasound region";
  return `Scale ${image.spacing.x_mm.toFixed(3)} × ${image.spacing.y_mm.toFixed(3)} mm per pixel (${source}).`;
};

export class Calipers {
  constructor({ onChange = () => {} } = {}) {
    this.items = []; // { image (payload), frame, a, b (original px), fillsMaxDiameter }
    this.draft = null;
    this.onChange = onChange;
  }

  clear() { this.items = []; this.draft = null; this.onChange(); }

  /** Begin a distance at a display-pixel point of a viewport's image. */
  start(viewport, point) {
    const image = viewport.image;
    const original = { x: point.x / image.scale, y: point.y / image.scale };
    this.draft = { image, frame: viewport.frame, a: original, b: original, fillsMaxDiameter: false };
  }

  move(point) {
    if (!this.draft) return;
    const { image } = this.draft;
    const clamp = (v, max) => Math.max(0, Math.min(max, v));
    const width = image.width / image.scale, height = image.height / image.scale;
    this.draft.b = { x: clamp(point.x / image.scale, width), y: clamp(point.y / image.scale, height) };
  }

  finish() {
    const draft = this.draft;
    this.draft = null;
    if (draft && lengthPx(draft.a, draft.b) >= 2) this.items.push(draft);
    this.onChange();
  }

  cancel() { this.draft = null; this.onChange(); }

  remove(item) { this.items = this.items.filter((other) => other !== item); this.onChange(); }

  useAsMaxDiameter(item) { this.items.forEach((other) => { other.fillsMaxDiameter = other === item; }); this.onChange(); }

  /** What the read stores: endpoints in original pixels; the server computes the length. */
  payload() {
    return this.items.map((item) => ({
      image: item.image.id, frame: item.frame,
      x0: round2(item.a.x), y0: round2(item.a.y), x1: round2(item.b.x), y1: round2(item.b.y),
      fills_max_diameter: item.fillsMaxDiameter,
    }));
  }

  /** A viewport layer: this image's (and frame's) distances, drawn in screen pixels. */
  layer = (context, viewport) => {
    const ratio = devicePixelRatio || 1;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const shown = [...this.items, ...(this.draft ? [this.draft] : [])].filter(
      (item) => item.image.id === viewport.image.id && (viewport.frameCount === 1 || item.frame === viewport.frame));
    for (const item of shown) {
      const scale = viewport.image.scale;
      const a = viewport.toCanvas({ x: item.a.x * scale, y: item.a.y * scale });
      const b = viewport.toCanvas({ x: item.b.x * scale, y: item.b.y * scale });
      context.strokeStyle = item.fillsMaxDiameter ? "#34d399" : "#38bdf8";
      context.lineWidth = 1.5;
      context.beginPath(); context.moveTo(a.x, a.y); context.lineTo(b.x, b.y); context.stroke();
      const angle = Math.atan2(b.y - a.y, b.x - a.x) + Math.PI / 2;
      for (const end of [a, b]) { // end ticks across the line
        context.beginPath();
        context.moveTo(end.x - 6 * Math.cos(angle), end.y - 6 * Math.sin(angle));
        context.lineTo(end.x + 6 * Math.cos(angle), end.y + 6 * Math.sin(angle));
        context.stroke();
      }
      const text = formatLength(item.a, item.b, item.image.spacing);
      context.font = "600 13px system-ui, sans-serif";
      const x = (a.x + b.x) / 2 + 8, y = (a.y + b.y) / 2 - 8;
      context.fillStyle = "rgba(0,0,0,.7)";
      context.fillRect(x - 3, y - 13, context.measureText(text).width + 6, 17);
      context.fillStyle = "#fff"; context.fillText(text, x, y);
    }
  };
}

const round2 = (v) => Math.round(v * 100) / 100;
