// The reading screen: one case at a time, server-ordered; time on case counts only while visible.
// The parts: reading/viewer.js (canvases, window/level, zoom), reading/tools.js (mouse tools,
// layouts, cine, fullscreen), reading/calipers.js (distances in mm), reading/answer.js (the case
// form's steps), reading/ai_panel.js (assisted rounds only, loaded on demand), reading/practice.js
// (the practice cases: the same screen, with the pathology after each answer).
import { getJson, withId } from "./api.js";
import { AnswerForm } from "./reading/answer.js";
import { Calipers, formatLength, lengthMm, spacingText } from "./reading/calipers.js";
import { Tools } from "./reading/tools.js";
import { PracticeFeedback } from "./reading/practice.js";
import { loadImage } from "./reading/viewer.js";

const root = document.getElementById("reading");
const $ = (id) => document.getElementById(id);
const assisted = root.dataset.assisted === "true";
const revisionsAllowed = root.dataset.revisions === "true";
const practice = root.dataset.mode === "practice";
const form = $("answer");

// --- active time: paused while the tab is hidden -------------------------------------------
const clock = { ms: 0, since: null };
const clockStart = () => { if (!document.hidden && clock.since === null) clock.since = performance.now(); };
const clockStop = () => { if (clock.since !== null) { clock.ms += performance.now() - clock.since; clock.since = null; } };
const clockReset = () => { clock.ms = 0; clock.since = null; clockStart(); };
const activeMs = () => Math.round(clock.ms + (clock.since === null ? 0 : performance.now() - clock.since));
document.addEventListener("visibilitychange", () => (document.hidden ? clockStop() : clockStart()));

// --- the viewer ------------------------------------------------------------------------------
const showRoi = $("show-roi");
const roiLayer = (context, viewport) => {
  if (!showRoi.checked) return;
  const [x, y, w, h] = viewport.image.roi;
  const ratio = devicePixelRatio || 1;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const a = viewport.toCanvas({ x, y }), b = viewport.toCanvas({ x: x + w, y: y + h });
  context.strokeStyle = "#facc15"; context.lineWidth = 1.5; context.setLineDash([6, 4]);
  context.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
};

let ai = null;
const layers = [];
const redraw = () => tools.viewports.forEach((v) => v.draw());
const calipers = new Calipers({ onChange: () => { listMeasurements(); redraw(); } });

const status = (viewportOrMessage) => {
  if (typeof viewportOrMessage === "string") { $("status-line").textContent = viewportOrMessage; return; }
  const v = viewportOrMessage;
  if (!v.image) return;
  const zoom = Math.round(v.view.scale * v.image.scale ** -1 * (devicePixelRatio || 1) * 100);
  $("status-line").textContent = `W ${v.window.width} L ${v.window.level}${v.invert ? " · inverted" : ""} · zoom ${zoom}% of the original's pixels · ${spacingText(v.image)}`;
  $("spacing-note").textContent = `${spacingText(v.image)} Choose Distance (D) and drag across the lesion.`;
};

const tools = new Tools({ $, container: $("viewports"), layers, onStatus: status, onCalipers: calipers });
layers.push((context, viewport) => ai?.layer(context, viewport), roiLayer, calipers.layer);
showRoi.addEventListener("change", redraw);

const listMeasurements = () => {
  const list = $("measurements");
  list.replaceChildren();
  calipers.items.forEach((item, i) => {
    const entry = document.createElement("li");
    const view = tools.images.findIndex((image) => image.id === item.image.id) + 1;
    const text = document.createElement("span");
    text.textContent = `${i + 1}. ${formatLength(item.a, item.b, item.image.spacing)} · view ${view}${item.fillsMaxDiameter ? " · max diameter" : ""}`;
    entry.append(text);
    const mm = lengthMm(item.a, item.b, item.image.spacing);
    if (mm !== null && form.elements.namedItem("max_diameter_mm")) {
      const use = document.createElement("button");
      use.type = "button"; use.textContent = "Use as max diameter";
      use.addEventListener("click", () => { calipers.useAsMaxDiameter(item); answer.setMaxDiameter(mm); });
      entry.append(use);
    }
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "Delete"; remove.setAttribute("aria-label", `Delete measurement ${i + 1}`);
    remove.addEventListener("click", () => calipers.remove(item));
    entry.append(remove);
    list.append(entry);
  });
};

// --- the case ----------------------------------------------------------------------------------
const answer = new AnswerForm({
  $, form,
  rule: root.dataset.consistency,
  threshold: Number(root.dataset.threshold),
  onNext: (next, response) => (feedback ? feedback.show(response.feedback, next) : render(next)),
  collect: () => ({ measurements: calipers.payload() }),
});
answer.activeMs = activeMs;
const feedback = practice ? new PracticeFeedback({ $, answer, onNext: (next) => render(next) }) : null;

// The strip shows each view's display rendition scaled down: the browser fetches it once for the
// strip and the viewport (one URL, kept by its cache), not a second, thumbnail-sized file.
const showThumbs = (item) => {
  const thumbs = $("thumbs");
  thumbs.replaceChildren();
  item.images.forEach((img, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.title = `View ${i + 1}${img.plane ? ` (${img.plane})` : ""}${img.frames.length ? `, cine of ${img.frames.length} frames` : ""}`;
    const thumb = document.createElement("img"); thumb.src = img.display; thumb.alt = button.title;
    button.append(thumb); button.addEventListener("click", () => tools.showImage(i)); thumbs.append(button);
  });
};

/** What a sequential read's step means for the reader (empty for other designs). */
const sequentialNote = (item) => {
  if (item.step === "locked") return "Step 1 of 2: your own read, without the AI. It is locked once submitted; then the AI's output appears.";
  if (item.step !== "final") return "";
  const locked = item.locked_read ? ` Your locked read: ${item.locked_read.decision}, confidence ${item.locked_read.confidence}.` : "";
  return item.bias_control
    ? `Step 2 of 2: this case stays without the AI (a check the study makes on some cases).${locked} Give your final read.`
    : `Step 2 of 2: the AI's output is shown.${locked} Give your final read.`;
};

const showCase = async (item, { step = "answering", url = root.dataset.readsUrl } = {}) => {
  clockReset();
  $("case-label").textContent = item.case;
  $("revising-badge").hidden = step !== "revising";
  calipers.clear();
  answer.begin({ item, step, url, read: step === "revising" ? item.read : null });
  showThumbs(item);
  if (ai) {
    // Crossover and sequential sessions mix conditions: the panel is there only for the cases
    // read with the AI (the payload carries nothing of the AI for the others).
    $("ai-panel").hidden = item.assisted === false;
    tools.labelFor = item.assisted === false ? null : ai.viewLabel;
    if (item.assisted !== false) ai.showCase(item);
    else ai.clear();
  }
  $("sequential-note").hidden = !item.step;
  $("sequential-note").textContent = sequentialNote(item);
  await tools.showCase(item.images);
  $("viewports").focus();
};

const render = async (payload) => {
  $("progress").max = payload.total; $("progress").value = payload.done;
  $("progress-text").textContent = `${Math.min(payload.done + 1, payload.total)} of ${payload.total}`;
  if (payload.complete) {
    clockStop(); tools.stop();
    $("viewer-area").hidden = true; $("done").hidden = false;
    $("progress-text").textContent = `${payload.done} of ${payload.total}`;
    $("case-label").textContent = "–";
    if (payload.questionnaire) {
      // The round asks a questionnaire this session has not answered: that comes first.
      $("questionnaire-link").href = payload.questionnaire;
      $("questionnaire-link").hidden = false; $("questionnaire-ask").hidden = false;
      $("home-link").classList.remove("primary");
      $("questionnaire-link").focus();
    }
    return;
  }
  $("viewer-area").hidden = false; $("done").hidden = true;
  await showCase(payload.case);
};

const loadCurrent = async () => render(await getJson(root.dataset.currentUrl));

// --- going back (where the study allows corrections) -------------------------------------------
const openEarlier = async () => {
  const dialog = $("earlier");
  const list = $("earlier-list");
  list.replaceChildren();
  const reads = await getJson(root.dataset.myReadsUrl);
  if (!reads.length) { const none = document.createElement("li"); none.textContent = "No case read yet."; list.append(none); }
  for (const read of reads) {
    const entry = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Case ${read.case} (#${read.position}): ${read.decision}, ${read.confidence}${read.revision > 1 ? ` · revision ${read.revision}` : ""}`;
    button.addEventListener("click", async () => {
      dialog.close();
      const item = await getJson(withId(root.dataset.caseUrlTemplate, read.case));
      $("viewer-area").hidden = false; $("done").hidden = true;
      await showCase(item, { step: "revising", url: root.dataset.reviseUrlTemplate.replace("/cases/0/", `/cases/${encodeURIComponent(read.case)}/`) });
    });
    entry.append(button);
    list.append(entry);
  }
  dialog.showModal();
};
if (revisionsAllowed) {
  $("earlier-open").addEventListener("click", () => openEarlier().catch((e) => answer.showError(e.message)));
  $("earlier-open-done")?.addEventListener("click", () => openEarlier().catch((e) => answer.showError(e.message)));
  $("revise-cancel").addEventListener("click", () => loadCurrent().catch((e) => answer.showError(e.message)));
}
$("help-open").addEventListener("click", () => $("help").showModal());

// --- keyboard ----------------------------------------------------------------------------------
const KEYS = {
  b: () => answer.setDecision("benign"),
  m: () => answer.setDecision("malignant"),
  w: () => tools.setTool("window"),
  p: () => tools.setTool("pan"),
  d: () => tools.setTool("caliper"),
  i: () => tools.toggleInvert(),
  r: () => tools.reset(),
  z: () => tools.current().oneToOne(),
  0: () => tools.current().fit(),
  l: () => tools.cycleLayout(),
  f: () => tools.toggleFullscreen(),
  "?": () => $("help").showModal(),
  "+": () => tools.zoom(1.25), "=": () => tools.zoom(1.25), "-": () => tools.zoom(0.8),
  1: () => tools.preset(0), 2: () => tools.preset(1), 3: () => tools.preset(2), 4: () => tools.preset(3),
  " ": () => tools.togglePlay(),
  ",": () => tools.stepFrame(-1), ".": () => tools.stepFrame(1),
  PageUp: () => tools.stepFrame(-1), PageDown: () => tools.stepFrame(1),
  ArrowLeft: () => tools.step(-1), ArrowRight: () => tools.step(1),
  ArrowUp: () => answer.nudge(5), ArrowDown: () => answer.nudge(-5),
  Escape: () => calipers.cancel(),
  Enter: () => (feedback?.open ? feedback.next() : answer.submit()),
};
if (assisted) KEYS.h = () => ai?.toggle();

document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = ["TEXTAREA", "SELECT"].includes(target.tagName) || (target.tagName === "INPUT" && ["number", "text"].includes(target.type));
  if (typing || event.altKey || event.metaKey || (event.ctrlKey && event.key !== "Enter")) return;
  if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard
  // A button of the form or a dialog does its own action; the viewer's tool buttons leave the
  // keys to the reading (Enter submits, whichever tool was clicked last).
  if (target.tagName === "BUTTON" && target.closest("form, dialog") && (event.key === "Enter" || event.key === " ")) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  // On the slider, arrows move it (the browser does) and mark it set; ←/→ stay with the slider.
  if (target === $("confidence") && key.startsWith("Arrow")) { if (key === "ArrowUp" || key === "ArrowDown") answer.touch(); return; }
  const action = KEYS[key] ?? KEYS[event.key];
  if (!action) return;
  event.preventDefault();
  action();
});

// --- start -------------------------------------------------------------------------------------
const start = async () => {
  if (assisted) {
    const { createAiPanel } = await import("./reading/ai_panel.js");
    ai = createAiPanel({ $, loadImage, redraw });
    tools.labelFor = ai.viewLabel;
  }
  await loadCurrent();
};
start().catch((error) => answer.showError(error.message));
