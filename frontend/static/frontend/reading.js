// The reading screen: one case at a time, server-ordered; time on case counts only while visible.
import { ApiError, clearErrors, getJson, postJson, showErrors } from "./api.js";

const SUBMIT_ATTEMPTS = 4;
// Answers that mean "not now" rather than "no": a proxy without its app, the app without its database.
const TRANSIENT_STATUS = new Set([502, 503, 504]);

{
  const root = document.getElementById("reading");
  const assisted = root.dataset.assisted === "true";
  const $ = (id) => document.getElementById(id);
  const form = $("answer");
  const confidence = $("confidence");
  const image = $("main-image");
  const stage = $("stage");
  const viewer = $("viewer");
  const state = { case: null, imageIndex: 0, zoom: 1, panX: 0, panY: 0, nonce: null,
                  activeMs: 0, visibleSince: null, touched: false, busy: false };

  // --- active time: paused while the tab is hidden -------------------------------------------
  const clockStart = () => { if (!document.hidden && state.visibleSince === null) state.visibleSince = performance.now(); };
  const clockStop = () => { if (state.visibleSince !== null) { state.activeMs += performance.now() - state.visibleSince; state.visibleSince = null; } };
  const activeMs = () => Math.round(state.activeMs + (state.visibleSince === null ? 0 : performance.now() - state.visibleSince));
  document.addEventListener("visibilitychange", () => (document.hidden ? clockStop() : clockStart()));

  // --- view: zoom, pan, brightness / contrast, lesion box, heatmap ----------------------------
  const applyTransform = () => {
    stage.style.transform = `translate(${state.panX}px, ${state.panY}px) scale(${state.zoom})`;
  };
  const applyFilter = () => {
    image.style.filter = `brightness(${$("brightness").value}%) contrast(${$("contrast").value}%)`;
  };
  const resetView = () => {
    state.zoom = 1; state.panX = 0; state.panY = 0;
    $("brightness").value = 100; $("contrast").value = 100;
    applyTransform(); applyFilter();
  };
  const zoomBy = (factor) => { state.zoom = Math.min(8, Math.max(1, state.zoom * factor)); applyTransform(); };
  $("zoom-in").addEventListener("click", () => zoomBy(1.25));
  $("zoom-out").addEventListener("click", () => zoomBy(0.8));
  $("reset").addEventListener("click", resetView);
  $("brightness").addEventListener("input", applyFilter);
  $("contrast").addEventListener("input", applyFilter);
  viewer.addEventListener("wheel", (event) => { event.preventDefault(); zoomBy(event.deltaY < 0 ? 1.1 : 0.9); }, { passive: false });
  let drag = null;
  viewer.addEventListener("pointerdown", (event) => { drag = { x: event.clientX - state.panX, y: event.clientY - state.panY }; viewer.setPointerCapture(event.pointerId); });
  viewer.addEventListener("pointermove", (event) => { if (drag) { state.panX = event.clientX - drag.x; state.panY = event.clientY - drag.y; applyTransform(); } });
  viewer.addEventListener("pointerup", () => { drag = null; });
  $("show-roi").addEventListener("change", () => { $("roi").hidden = !$("show-roi").checked; });

  const heatmapCanvas = $("heatmap");
  const setHeatmapVisible = (visible) => {
    if (!heatmapCanvas) return;
    $("show-heatmap").checked = visible;
    heatmapCanvas.hidden = !visible;
  };
  if (assisted) {
    $("show-heatmap").addEventListener("change", () => setHeatmapVisible($("show-heatmap").checked));
    $("heatmap-opacity").addEventListener("input", () => { heatmapCanvas.style.opacity = $("heatmap-opacity").value / 100; });
    heatmapCanvas.style.opacity = $("heatmap-opacity").value / 100;
  }
  // A perceptual-ish blue→red colour map for the 8-bit Grad-CAM map; low values stay transparent.
  const colour = (v) => {
    const t = v / 255;
    return [Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)))),
            Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)))),
            Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)))),
            Math.round(255 * Math.min(1, t * 1.6))];
  };
  const drawHeatmap = (url, width, height) => {
    const source = new Image();
    source.onload = () => {
      heatmapCanvas.width = width; heatmapCanvas.height = height;
      const context = heatmapCanvas.getContext("2d");
      context.drawImage(source, 0, 0, width, height);
      const pixels = context.getImageData(0, 0, width, height);
      for (let i = 0; i < pixels.data.length; i += 4) {
        const [r, g, b, a] = colour(pixels.data[i]);
        pixels.data[i] = r; pixels.data[i + 1] = g; pixels.data[i + 2] = b; pixels.data[i + 3] = a;
      }
      context.putImageData(pixels, 0, 0);
    };
    source.src = url;
  };

  const showImage = (index) => {
    const images = state.case.images;
    if (!images.length) return;
    state.imageIndex = (index + images.length) % images.length;
    const current = images[state.imageIndex];
    image.src = current.display;
    image.width = current.width; image.height = current.height;
    stage.style.width = `${current.width}px`; stage.style.height = `${current.height}px`;
    const [x, y, w, h] = current.roi;
    Object.assign($("roi").style, { left: `${x}px`, top: `${y}px`, width: `${w}px`, height: `${h}px` });
    document.querySelectorAll("#thumbs button").forEach((b, i) => b.classList.toggle("active", i === state.imageIndex));
    if (assisted && current.heatmap) drawHeatmap(current.heatmap, current.width, current.height);
  };

  // --- the answer ----------------------------------------------------------------------------
  const setConfidenceTouched = () => {
    state.touched = true;
    confidence.classList.remove("untouched");
    $("confidence-value").textContent = confidence.value;
  };
  confidence.addEventListener("input", setConfidenceTouched);
  const setDecision = (value) => { form.querySelector(`input[name=decision][value=${value}]`).checked = true; };

  const showError = (message) => { clearErrors(form); $("answer-error").textContent = message; $("answer-error").hidden = !message; };

  const render = (payload) => {
    $("progress").max = payload.total; $("progress").value = payload.done;
    $("progress-text").textContent = `${Math.min(payload.done + 1, payload.total)} of ${payload.total}`;
    if (payload.complete) {
      clockStop();
      document.querySelector(".viewer-area").hidden = true; $("done").hidden = false;
      $("progress-text").textContent = `${payload.done} of ${payload.total}`;
      return;
    }
    const item = payload.case;
    state.case = item; state.nonce = crypto.randomUUID(); state.activeMs = 0; state.visibleSince = null; state.touched = false;
    clockStart();
    $("case-label").textContent = item.case;
    form.reset(); confidence.value = 50; confidence.classList.add("untouched");
    $("confidence-value").textContent = "not set"; showError("");
    const thumbs = $("thumbs"); thumbs.replaceChildren();
    item.images.forEach((img, i) => {
      const button = document.createElement("button");
      button.type = "button"; button.title = `Image ${i + 1}${img.plane ? " (" + img.plane + ")" : ""}`;
      const thumb = document.createElement("img"); thumb.src = img.thumbnail; thumb.alt = button.title;
      button.append(thumb); button.addEventListener("click", () => showImage(i)); thumbs.append(button);
    });
    if (assisted) {
      const ai = item.ai || {};
      $("ai-result").textContent = ai.available
        ? `Probability of malignancy ${(ai.probability * 100).toFixed(0)}% — AI class: ${ai.malignant ? "malignant" : "benign"}`
        : "No AI output for this case.";
      setHeatmapVisible(true);
    }
    resetView(); showImage(0);
    viewer.focus();
  };

  const load = async () => render(await getJson(root.dataset.currentUrl));

  const submit = async () => {
    if (state.busy || !state.case) return;
    const decision = form.querySelector("input[name=decision]:checked");
    if (!decision) { showError("Choose benign (B) or malignant (M)."); return; }
    if (!state.touched) { showError("Set your confidence of malignancy (drag the slider or use ↑/↓)."); return; }
    const features = {};
    form.querySelectorAll("details select, details input").forEach((field) => { if (field.value) features[field.name] = field.value; });
    const body = { case: state.case.case, decision: decision.value, confidence: Number(confidence.value),
                   nonce: state.nonce, active_ms: activeMs(), features, comment: form.comment.value };
    state.busy = true; $("submit").disabled = true;
    // Retries reuse the nonce: the server stores one read however often this arrives.
    const kept = "Your answer is kept — press Enter to retry.";
    let failure = null;
    for (let attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt += 1) {
      try {
        const result = await postJson(root.dataset.readsUrl, body);
        state.busy = false; $("submit").disabled = false;
        render(result.next);
        return;
      } catch (error) {
        // The server answered no: retrying cannot help; show why, next to the field at fault.
        // It answered "briefly unavailable" (its database connection dropped): retry as if
        // the network had failed, since the nonce makes the retry safe.
        if (error instanceof ApiError && !TRANSIENT_STATUS.has(error.status)) {
          showErrors(form, error, $("answer-error")); failure = null; break;
        }
        failure = error instanceof ApiError ? `${error.message} ${kept}` : `Could not reach the server. ${kept}`;
        if (attempt + 1 < SUBMIT_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
    if (failure) showError(failure);
    state.busy = false; $("submit").disabled = false;
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });

  document.addEventListener("keydown", (event) => {
    const typing = ["TEXTAREA", "SELECT"].includes(event.target.tagName) || (event.target.tagName === "INPUT" && event.target.type === "number");
    if (typing) return;
    const key = event.key;
    if (key === "b" || key === "B") setDecision("benign");
    else if (key === "m" || key === "M") setDecision("malignant");
    else if (key === "ArrowUp" || key === "ArrowDown") {
      if (event.target === confidence) { setConfidenceTouched(); return; }
      confidence.value = Number(confidence.value) + (key === "ArrowUp" ? 5 : -5); setConfidenceTouched();
    } else if (key === "ArrowLeft" || key === "ArrowRight") {
      if (event.target === confidence) return;
      showImage(state.imageIndex + (key === "ArrowRight" ? 1 : -1));
    } else if ((key === "h" || key === "H") && assisted) setHeatmapVisible(!$("show-heatmap").checked);
    else if (key === "+" || key === "=") zoomBy(1.25);
    else if (key === "-") zoomBy(0.8);
    else if (key === "0") resetView();
    else if (key === "Enter") { event.preventDefault(); submit(); }
    else return;
    event.preventDefault();
  });

  load().catch((error) => showError(error.message));
}
