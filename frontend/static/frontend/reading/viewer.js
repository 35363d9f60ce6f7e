// The image viewports of the reading screen: each draws one view of the case on a canvas, with
// window/level and invert applied to its pixels, zoom at the cursor, fit, 1:1, pan and cine frames.
//
// Hand-written rather than a viewer library, after trying the candidates against what we serve:
// - Cornerstone3D renders DICOM volumes through WebGL and WASM codecs, loaded as web workers; it
//   needs 'wasm-unsafe-eval' in the CSP and ships several MB, for renditions that are already
//   de-identified 8-bit JPEGs (readers never get DICOM: its header is the identifiable part).
// - dwv reads DICOM too, and its tools (draw, window/level) sit on Konva: about 1 MB of code to
//   display a JPEG, with its own DOM, keyboard and layout model to fight at every screen size.
// Window/level on an 8-bit rendition is a 256-entry lookup table; the rest is a 2-D affine
// transform. This file is that, small enough to read whole, and it works under our strict CSP.

export const FULL_WINDOW = Object.freeze({ width: 256, level: 128 });
export const PRESETS = Object.freeze([
  { name: "Full range", width: 256, level: 128 },
  { name: "High contrast", width: 128, level: 128 },
  { name: "Dark tissue", width: 128, level: 80 },
  { name: "Bright tissue", width: 128, level: 176 },
]);
const MIN_WIDTH = 2;
const MAX_WIDTH = 512;
const MAX_ZOOM = 32;

const images = new Map(); // url → Promise<HTMLImageElement>, shared by the viewports
export const loadImage = (url) => {
  if (!images.has(url)) {
    images.set(url, new Promise((resolve, reject) => {
      const image = new Image();
      image.decoding = "async";
      image.onload = () => resolve(image);
      image.onerror = () => { images.delete(url); reject(new Error("An image could not be loaded.")); };
      image.src = url;
    }));
  }
  return images.get(url);
};

/** The 256-entry table for a window (width, level) and invert, on 0..255 input. */
export const windowTable = ({ width, level }, invert) => {
  const table = new Uint8ClampedArray(256);
  const low = level - width / 2;
  for (let v = 0; v < 256; v += 1) {
    const out = ((v - low) / width) * 255;
    table[v] = invert ? 255 - out : out;
  }
  return table;
};

export class Viewport {
  /** `element` holds a canvas; `layers` draw over the image in image space: (ctx, viewport). */
  constructor(element, { onChange = () => {}, layers = [] } = {}) {
    this.element = element;
    this.canvas = element.querySelector("canvas");
    this.context = this.canvas.getContext("2d");
    this.windowed = document.createElement("canvas");
    this.onChange = onChange;
    this.layers = layers;
    this.image = null; // the payload's image
    this.index = 0; // which image of the case
    this.frame = 0;
    this.source = null; // ImageData of the current frame
    this.view = { scale: 1, x: 0, y: 0 };
    this.window = { ...FULL_WINDOW };
    this.invert = false;
    this.pending = 0;
  }

  get frameCount() { return this.image ? Math.max(1, this.image.frames.length) : 1; }

  frameUrl(frame) {
    const { frames, display } = this.image;
    return frames.length && frame !== this.image.frame ? frames[frame] : display;
  }

  async show(image, index) {
    this.image = image; this.index = index; this.frame = image.frame;
    this.window = { ...FULL_WINDOW }; this.invert = false;
    this.source = null;
    await this.setFrame(image.frame);
    this.fit();
  }

  async setFrame(frame) {
    if (!this.image) return;
    const wanted = Math.max(0, Math.min(this.frameCount - 1, frame));
    this.frame = wanted;
    const token = ++this.pending;
    const picture = await loadImage(this.frameUrl(wanted));
    if (token !== this.pending) return; // a later frame was asked for meanwhile
    const { width, height } = this.image;
    const scratch = document.createElement("canvas");
    scratch.width = width; scratch.height = height;
    const context = scratch.getContext("2d", { willReadFrequently: true });
    context.drawImage(picture, 0, 0, width, height);
    this.source = context.getImageData(0, 0, width, height);
    this.windowed.width = width; this.windowed.height = height;
    this.applyWindow();
  }

  applyWindow() {
    if (!this.source) return;
    const table = windowTable(this.window, this.invert);
    const out = new ImageData(this.source.width, this.source.height);
    const from = this.source.data;
    const to = out.data;
    for (let i = 0; i < from.length; i += 4) {
      to[i] = table[from[i]]; to[i + 1] = table[from[i + 1]]; to[i + 2] = table[from[i + 2]]; to[i + 3] = 255;
    }
    this.windowed.getContext("2d").putImageData(out, 0, 0);
    this.draw();
  }

  setWindow(width, level) {
    this.window = {
      width: Math.round(Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, width))),
      level: Math.round(Math.max(-128, Math.min(384, level))),
    };
    this.applyWindow();
  }

  setInvert(invert) { this.invert = invert; this.applyWindow(); }

  size() {
    const rect = this.canvas.getBoundingClientRect();
    return { width: Math.max(1, rect.width), height: Math.max(1, rect.height) };
  }

  fitScale() {
    if (!this.image) return 1;
    const { width, height } = this.size();
    return Math.min(width / this.image.width, height / this.image.height);
  }

  /** The whole image in the viewport, centred. */
  fit() {
    if (!this.image) return;
    const { width, height } = this.size();
    const scale = this.fitScale();
    this.view = { scale, x: (width - this.image.width * scale) / 2, y: (height - this.image.height * scale) / 2 };
    this.draw();
  }

  /** One original image pixel per device pixel, about the viewport's centre. */
  oneToOne() {
    if (!this.image) return;
    const { width, height } = this.size();
    this.zoomAt(1 / (this.image.scale * devicePixelRatio) / this.view.scale, width / 2, height / 2);
  }

  /** Zoom by `factor` keeping the image point under (x, y) — CSS pixels in the canvas — in place. */
  zoomAt(factor, x, y) {
    const minimum = this.fitScale() / 4;
    const scale = Math.max(minimum, Math.min(MAX_ZOOM, this.view.scale * factor));
    const applied = scale / this.view.scale;
    this.view = { scale, x: x - (x - this.view.x) * applied, y: y - (y - this.view.y) * applied };
    this.draw();
  }

  zoomCentre(factor) { const { width, height } = this.size(); this.zoomAt(factor, width / 2, height / 2); }

  panBy(dx, dy) { this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy }; this.draw(); }

  reset() { this.window = { ...FULL_WINDOW }; this.invert = false; this.applyWindow(); this.fit(); }

  /** A client (page) point → display-image pixels. */
  toImage(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: (clientX - rect.left - this.view.x) / this.view.scale, y: (clientY - rect.top - this.view.y) / this.view.scale };
  }

  /** Display-image pixels → CSS pixels in the canvas. */
  toCanvas(point) {
    return { x: point.x * this.view.scale + this.view.x, y: point.y * this.view.scale + this.view.y };
  }

  draw() {
    const { width, height } = this.size();
    const ratio = devicePixelRatio || 1;
    const w = Math.round(width * ratio), h = Math.round(height * ratio);
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    const context = this.context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000"; context.fillRect(0, 0, w, h);
    if (!this.image || !this.source) return;
    context.setTransform(ratio * this.view.scale, 0, 0, ratio * this.view.scale, ratio * this.view.x, ratio * this.view.y);
    // Past 2 screen pixels per image pixel, show the pixels as they are (no smoothing invents detail).
    context.imageSmoothingEnabled = this.view.scale * ratio < 2;
    context.drawImage(this.windowed, 0, 0);
    context.imageSmoothingEnabled = true;
    for (const layer of this.layers) {
      context.save();
      layer(context, this);
      context.restore();
    }
    context.setTransform(1, 0, 0, 1, 0, 0);
    this.onChange(this);
  }
}
