// The practice cases' step after each answer: the pathology, the reader's own answer beside it
// and, in assisted practice, how the AI called the case; then "Next case". The answer stays on
// screen, held, until the reader moves on.

const percent = (p) => `${Math.round(p * 100)}%`;

export class PracticeFeedback {
  constructor({ $, answer, onNext }) {
    this.$ = $; this.answer = answer; this.onNext = onNext; this.pending = null;
    $("practice-next").addEventListener("click", () => this.next());
  }

  get open() { return this.pending !== null; }

  /** After the answer is stored: `feedback` from the server, `next` the state to go on to. */
  show(feedback, next) {
    const $ = this.$;
    const decision = this.answer.decision();
    const confidence = this.answer.confidence.value;
    const right = decision === feedback.pathology;
    this.pending = next;
    $("feedback-truth").textContent = `Pathology: ${feedback.pathology}.`;
    $("feedback-answer").textContent = `Your answer: ${decision}, confidence ${confidence} — ${right ? "agrees with" : "differs from"} the pathology.`;
    $("practice-feedback").classList.toggle("right", right);
    $("practice-feedback").classList.toggle("wrong", !right);
    const ai = feedback.ai;
    if (ai && $("feedback-ai")) {
      const call = ai.malignant ? "malignant" : "benign";
      $("feedback-ai").textContent = ai.available
        ? `The AI: probability of malignancy ${percent(ai.probability)}, class ${call} — ${call === feedback.pathology ? "agrees with" : "differs from"} the pathology.`
        : "The AI has no output for this case.";
    }
    this.answer.hold(true);
    $("practice-feedback").hidden = false;
    $("practice-next").hidden = false;
    $("practice-next").firstChild.textContent = next.complete ? "Finish practice " : "Next case ";
    $("practice-next").focus();
  }

  next() {
    if (!this.open) return;
    const next = this.pending;
    this.pending = null;
    this.$("practice-feedback").hidden = true;
    this.$("practice-next").hidden = true;
    this.onNext(next);
  }
}
