// The viewer's tools: the mouse tool (window/level, pan, distance), presets, invert, fit, 1:1,
// layouts of the case's views, cine playback and fullscreen, and the pointer handling that turns
// drags into them. Right-drag always windows and Ctrl+drag always pans, so no tool fights another.
import { PRESETS, Viewport } from "./viewer.js";

export const LAYOUTS = Object.freeze({ "1x1": 1, "1x2": 2, "2x2": 4 });
const WINDOW_PER_PIXEL = 1; // grey levels per CSS pixel of drag
const CINE_FPS = 25; // the files carry no frame rate we keep; 25 Hz is a scanner's usual

export class Tools {
  constructor({ $, container, layers, onStatus, onCalipers }) {
    this.$ = $; this.container = container; this.layers = layers;
    this.onStatus = onStatus; this.calipers = onCalipers;
    this.viewports = []; this.active = 0; this.layout = "1x1"; this.tool = "window";
    this.images = []; this.playing = null; this.labelFor = null;
    this.buildViewports(1);
    PRESETS.forEach((preset, i) => {
      const option = new Option(`${i + 1} ${preset.name}`, String(i));
      $("preset").append(option);
    });
    $("preset").addEventListener("change", () => this.preset(Number($("preset").value)));
    document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => this.setTool(b.dataset.tool)));
    document.querySelectorAll("[data-layout]").forEach((b) => b.addEventListener("click", () => this.setLayout(b.dataset.layout)));
    $("invert").addEventListener("click", () => this.toggleInvert());
    $("fit").addEventListener("click", () => this.current().fit());
    $("one-to-one").addEventListener("click", () => this.current().oneToOne());
    $("reset").addEventListener("click", () => this.reset());
    $("fullscreen").addEventListener("click", () => this.toggleFullscreen());
    $("cine-play").addEventListener("click", () => this.togglePlay());
    $("cine-frame").addEventListener("input", () => this.setFrame(Number($("cine-frame").value)));
    new ResizeObserver(() => this.viewports.forEach((v) => v.fit())).observe(container);
    this.bindPointer();
  }

  current() { return this.viewports[this.active]; }

  buildViewports(count) {
    this.container.replaceChildren();
    this.viewports = [];
    for (let i = 0; i < count; i += 1) {
      const element = document.createElement("div");
      element.className = "viewport";
      element.dataset.index = String(i);
      const canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      const label = document.createElement("div");
      label.className = "vp-label";
      element.append(canvas, label);
      this.container.append(element);
      this.viewports.push(new Viewport(element, { layers: this.layers, onChange: (v) => this.changed(v) }));
    }
    this.active = 0;
  }

  async showCase(images) {
    this.stop();
    this.images = images;
    await this.setLayout(this.layout, true);
  }

  async setLayout(layout, force = false) {
    if (!force && layout === this.layout) return;
    this.layout = layout;
    document.querySelectorAll("[data-layout]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.layout === layout)));
    this.container.className = `viewports layout-${layout}`;
    const count = Math.min(LAYOUTS[layout], Math.max(1, this.images.length));
    const first = this.viewports[this.active]?.index ?? 0;
    this.buildViewports(count);
    await Promise.all(this.viewports.map((v, i) =>
      this.images.length ? v.show(this.images[(first + i) % this.images.length], (first + i) % this.images.length) : null));
    this.markActive();
  }

  cycleLayout() {
    const names = Object.keys(LAYOUTS);
    this.setLayout(names[(names.indexOf(this.layout) + 1) % names.length]);
  }

  /** Show image `index` of the case in the active viewport. */
  async showImage(index) {
    if (!this.images.length) return;
    this.stop();
    const wrapped = (index + this.images.length) % this.images.length;
    await this.current().show(this.images[wrapped], wrapped);
    this.markActive();
  }

  step(delta) { this.showImage(this.current().index + delta); }

  setActive(i) { if (i !== this.active) { this.stop(); this.active = i; this.markActive(); } }

  markActive() {
    this.viewports.forEach((v, i) => v.element.classList.toggle("active", i === this.active && this.viewports.length > 1));
    document.querySelectorAll("#thumbs button").forEach((b, i) => b.classList.toggle("active", i === this.current().index));
    this.$("invert").setAttribute("aria-pressed", String(this.current().invert));
    this.updateCine();
    this.changed(this.current());
  }

  setTool(tool) {
    this.tool = tool;
    document.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
    this.container.dataset.tool = tool;
    this.changed(this.current());
  }

  preset(i) {
    const preset = PRESETS[i];
    if (!preset) return;
    this.$("preset").value = String(i);
    this.current().setWindow(preset.width, preset.level);
  }

  toggleInvert() { const v = this.current(); v.setInvert(!v.invert); this.$("invert").setAttribute("aria-pressed", String(v.invert)); }

  reset() { this.$("preset").value = "0"; this.viewports.forEach((v) => v.reset()); this.$("invert").setAttribute("aria-pressed", "false"); }

  zoom(factor) { this.current().zoomCentre(factor); }

  toggleFullscreen() {
    const target = this.$("viewer-column");
    if (document.fullscreenElement) document.exitFullscreen();
    else target.requestFullscreen().catch(() => this.onStatus("This browser refused fullscreen."));
  }

  // --- cine ------------------------------------------------------------------------------------
  updateCine() {
    const v = this.current();
    const count = v.frameCount;
    this.$("cine").hidden = count < 2;
    this.$("cine-frame").max = String(count - 1);
    this.$("cine-frame").value = String(v.frame);
    this.$("cine-text").textContent = `${v.frame + 1} / ${count}`;
    this.$("cine-play").firstChild.textContent = this.playing ? "Pause " : "Play ";
  }

  async setFrame(frame) { await this.current().setFrame(frame); this.updateCine(); }

  stepFrame(delta) {
    const v = this.current();
    if (v.frameCount < 2) return;
    this.setFrame((v.frame + delta + v.frameCount) % v.frameCount);
  }

  togglePlay() { if (this.playing) this.stop(); else this.play(); }

  play() {
    if (this.current().frameCount < 2) return;
    this.playing = setInterval(() => this.stepFrame(1), 1000 / CINE_FPS);
    this.updateCine();
  }

  stop() { if (this.playing) { clearInterval(this.playing); this.playing = null; this.updateCine(); } }

  // --- pointer ---------------------------------------------------------------------------------
  bindPointer() {
    const container = this.container;
    let drag = null;
    const viewportAt = (event) => {
      const element = event.target.closest(".viewport");
      return element ? Number(element.dataset.index) : null;
    };
    container.addEventListener("contextmenu", (event) => event.preventDefault());
    container.addEventListener("pointerdown", (event) => {
      const index = viewportAt(event);
      if (index === null) return;
      this.setActive(index);
      const v = this.current();
      const mode = event.button === 2 ? "window" : event.ctrlKey || event.button === 1 ? "pan" : this.tool;
      drag = { mode, x: event.clientX, y: event.clientY, window: { ...v.window } };
      if (mode === "caliper") this.calipers.start(v, v.toImage(event.clientX, event.clientY));
      container.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    container.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const v = this.current();
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (drag.mode === "pan") { v.panBy(event.movementX, event.movementY); }
      else if (drag.mode === "window") {
        // right widens, up brightens (the level falls), as in PACS viewers
        v.setWindow(drag.window.width + dx * WINDOW_PER_PIXEL, drag.window.level - dy * WINDOW_PER_PIXEL);
      } else if (drag.mode === "caliper") { this.calipers.move(v.toImage(event.clientX, event.clientY)); v.draw(); }
    });
    const end = () => {
      if (drag?.mode === "caliper") { this.calipers.finish(); this.current().draw(); }
      drag = null;
    };
    container.addEventListener("pointerup", end);
    container.addEventListener("pointercancel", end);
    container.addEventListener("wheel", (event) => {
      const index = viewportAt(event);
      if (index === null) return;
      event.preventDefault();
      this.setActive(index);
      const v = this.current();
      const rect = v.canvas.getBoundingClientRect();
      if (event.shiftKey && v.frameCount > 1) { this.stepFrame(event.deltaY > 0 ? 1 : -1); return; }
      v.zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });
  }

  changed(viewport) {
    const label = viewport.element.querySelector(".vp-label");
    if (viewport.image) {
      const { plane } = viewport.image;
      const parts = [`View ${viewport.index + 1} of ${this.images.length}${plane ? ` · ${plane}` : ""}`];
      if (viewport.frameCount > 1) parts.push(`frame ${viewport.frame + 1}/${viewport.frameCount}`);
      if (this.labelFor) parts.push(this.labelFor(viewport.image));
      label.textContent = parts.join(" · ");
      viewport.canvas.setAttribute("aria-label", `Ultrasound view ${viewport.index + 1}`);
    }
    if (viewport === this.current()) this.onStatus(viewport, this.tool);
  }
}
