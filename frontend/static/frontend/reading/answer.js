// The case form as a small state machine. A case moves through steps; each step says what the
// form shows and what "submit" does:
//
//   answering ──submit──▶ (confirming: decision and confidence disagree, rule "ask") ──▶ sending
//   revising  ──submit──▶ (confirming) ──▶ sending            (a correction, with a reason)
//
// `sending` ends in the next case (`onNext(next, response)`); a page that shows something about
// the answer first (the practice cases' pathology) holds the form (`hold`) until it moves on.
// A study design that needs more steps per case (a locked unassisted read, then the AI, then
// the final read) adds states to `STEPS` and the transitions between them; the checks, the
// consistency prompt and the sending are shared.
import { ApiError, clearErrors, postJson, showErrors } from "../api.js";

const SUBMIT_ATTEMPTS = 4;
// Answers that mean "not now" rather than "no": a proxy without its app, the app without its database.
const TRANSIENT_STATUS = new Set([502, 503, 504]);

export const STEPS = Object.freeze({
  answering: { button: "Submit and next", reason: false },
  revising: { button: "Submit correction", reason: true },
});

// A sequential read's two submits (the payload's `step`): the first locks the unassisted read.
const SEQUENTIAL_BUTTONS = Object.freeze({ locked: "Lock my read", final: "Submit final read and next" });

export class AnswerForm {
  constructor({ $, form, rule, threshold, onNext, collect }) {
    this.$ = $; this.form = form; this.rule = rule; this.threshold = threshold;
    this.onNext = onNext; this.collect = collect; // collect(): { measurements, ... } from the viewer
    this.confidence = $("confidence");
    // The page names its submit (the practice cases: "Submit and see the pathology").
    this.answerLabel = $("submit").firstChild.textContent.trim() || STEPS.answering.button;
    this.step = "answering"; this.confirming = false; this.busy = false; this.touched = false;
    this.held = false;
    this.case = null; this.url = null; this.nonce = null; this.confirmed = null;
    this.confidence.addEventListener("input", () => this.touch());
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    form.addEventListener("change", (event) => { if (event.target.name === "decision") this.hidePrompt(); });
    $("consistency-keep").addEventListener("click", () => { this.confirmed = this.answerKey(); this.hidePrompt(); this.submit(); });
    $("consistency-change").addEventListener("click", () => { this.hidePrompt(); this.confidence.focus(); });
  }

  /** Start a case in a step: `read` prefills a correction. */
  begin({ item, step = "answering", url, read = null }) {
    this.case = item; this.step = step; this.url = url;
    this.nonce = crypto.randomUUID(); this.confirmed = null; this.busy = false;
    this.hold(false);
    this.form.reset(); this.hidePrompt(); this.showError("");
    this.confidence.value = 50; this.touched = false; this.confidence.classList.add("untouched");
    this.$("confidence-value").textContent = "not set";
    if (read) {
      this.setDecision(read.decision); this.confidence.value = read.confidence; this.touch();
      for (const [name, value] of Object.entries(read.features || {})) {
        const field = this.form.elements.namedItem(name);
        if (field) field.value = value;
      }
      this.form.elements.namedItem("comment").value = read.comment || "";
    }
    const { button, reason } = STEPS[step];
    const label = step === "answering" ? this.answerLabel : button;
    this.$("submit").firstChild.textContent = `${SEQUENTIAL_BUTTONS[item.step] || label} `;
    this.$("reason-wrap").hidden = !reason;
    this.$("revise-cancel").hidden = step !== "revising";
    this.$("submit").disabled = false;
  }

  /** Freeze the answer on screen (true) or free it (false): no key or click changes or sends it. */
  hold(held) {
    this.held = held;
    this.form.querySelectorAll("input[name=decision]").forEach((input) => { input.disabled = held; });
    this.confidence.disabled = held;
    this.$("submit").hidden = held;
  }

  touch() {
    this.touched = true; this.confidence.classList.remove("untouched");
    this.$("confidence-value").textContent = this.confidence.value; this.hidePrompt();
  }

  nudge(delta) { if (this.held) return; this.confidence.value = Number(this.confidence.value) + delta; this.touch(); }

  setDecision(value) { if (this.held) return; this.form.querySelector(`input[name=decision][value=${value}]`).checked = true; this.hidePrompt(); }

  decision() { return this.form.querySelector("input[name=decision]:checked")?.value ?? null; }

  setMaxDiameter(mm) {
    const field = this.form.elements.namedItem("max_diameter_mm");
    if (!field) return;
    field.value = mm.toFixed(1);
    field.closest("details").open = true;
  }

  answerKey() { return `${this.decision()}:${this.confidence.value}`; }

  isConsistent() {
    const confidence = Number(this.confidence.value);
    return this.decision() === "benign" ? confidence <= this.threshold : confidence >= this.threshold;
  }

  showError(message) {
    clearErrors(this.form);
    this.$("answer-error").textContent = message; this.$("answer-error").hidden = !message;
  }

  showPrompt() {
    const decision = this.decision();
    const confidence = this.confidence.value;
    const side = decision === "benign" ? "above" : "below";
    this.$("consistency-text").textContent =
      `You chose ${decision} with a confidence of malignancy of ${confidence}, ${side} this study's threshold of ${this.threshold}. Is that what you mean?`;
    this.$("consistency").hidden = false; this.confirming = true;
    this.$("consistency-keep").focus();
  }

  hidePrompt() { this.$("consistency").hidden = true; this.confirming = false; }

  body() {
    const features = {};
    this.form.querySelectorAll("[data-feature], input[name=max_diameter_mm]").forEach((field) => {
      if (field.value) features[field.name] = field.value;
    });
    const body = {
      decision: this.decision(), confidence: Number(this.confidence.value), nonce: this.nonce,
      features, comment: this.form.elements.namedItem("comment")?.value ?? "", ...this.collect(),
    };
    if (this.step === "answering") body.case = this.case.case;
    if (this.step === "answering" && this.case.step) body.phase = this.case.step; // sequential
    if (STEPS[this.step].reason) body.reason = this.form.elements.namedItem("reason").value;
    return body;
  }

  /** Checks, then the consistency step, then sending. */
  async submit() {
    if (this.busy || this.held || !this.case) return;
    if (!this.decision()) { this.showError("Choose benign (B) or malignant (M)."); return; }
    if (!this.touched) { this.showError("Set your confidence of malignancy (drag the slider or use ↑/↓)."); return; }
    if (STEPS[this.step].reason && !this.form.elements.namedItem("reason").value.trim()) {
      this.showError("Say why you correct this read."); return;
    }
    if (this.rule !== "off" && !this.isConsistent()) {
      if (this.rule === "require") {
        this.showError(`This study requires benign at or below ${this.threshold} and malignant at or above it: change the decision or the confidence.`);
        return;
      }
      if (this.confirmed !== this.answerKey()) { this.showError(""); this.showPrompt(); return; }
    }
    await this.send({ ...this.body(), active_ms: this.activeMs() });
  }

  activeMs() { return 0; } // replaced by the page's clock

  async send(body) {
    this.busy = true; this.$("submit").disabled = true;
    // Retries reuse the nonce: the server stores one read however often this arrives.
    const kept = "Your answer is kept — press Enter to retry.";
    let failure = null;
    for (let attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt += 1) {
      try {
        const result = await postJson(this.url, body);
        this.busy = false; this.$("submit").disabled = false;
        this.onNext(result.next, result);
        return;
      } catch (error) {
        // The server answered no: retrying cannot help; show why, next to the field at fault.
        // "Briefly unavailable" (its database connection dropped) is retried like a network
        // failure, since the nonce makes the retry safe.
        if (error instanceof ApiError && !TRANSIENT_STATUS.has(error.status)) {
          showErrors(this.form, error, this.$("answer-error")); failure = null; break;
        }
        failure = error instanceof ApiError ? `${error.message} ${kept}` : `Could not reach the server. ${kept}`;
        if (attempt + 1 < SUBMIT_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
    if (failure) this.showError(failure);
    this.busy = false; this.$("submit").disabled = false;
  }
}
