// The coordinator console: open and close rounds, grant washout overrides, set image regions,
// follow the AI's training, run the AI precompute and import cases. Every URL comes from the
// page's data attributes.
import { ApiError, getJson, postJson, request, showErrors, withId } from "./api.js";

const root = document.getElementById("console");
const pageError = document.getElementById("console-error");
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fail = (error, form = null) => showErrors(form, error instanceof ApiError ? error : { message: error.message }, pageError);

// Opening or closing a round: a refusal is shown next to the button that was pressed.
document.querySelectorAll("button.action").forEach((button) => button.addEventListener("click", async () => {
  const note = button.parentElement.querySelector(".action-error");
  button.disabled = true;
  try { await postJson(button.dataset.url); location.reload(); } catch (error) {
    button.disabled = false;
    if (!note) { fail(error); return; }
    showErrors(null, error instanceof ApiError ? error : { message: error.message }, note);
  }
}));

// A washout override: the reason is typed next to the reader; errors appear beside it.
document.querySelectorAll("form.override-form").forEach((form) => form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const note = form.querySelector(".form-message");
  try {
    await postJson(form.dataset.url, { reader: Number(form.dataset.reader), reason: form.reason.value });
    location.reload();
  } catch (error) {
    const shown = error instanceof ApiError ? error : { message: error.message };
    // The field's own message sits by the field; the overall one only when there is no field.
    showErrors(form, shown.fields && shown.fields.reason ? { ...shown, message: "" } : shown, note);
  }
}));

document.querySelectorAll("form.region").forEach((form) => form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = Object.fromEntries([...new FormData(form)].map(([key, value]) => [key, Number(value)]));
  try { await postJson(form.dataset.url, box); location.reload(); } catch (error) { fail(error, form); }
}));

// A training job still pending or running (the demo's AI, say): its epoch and validation AUC,
// followed until it ends; then the page reloads to offer the new model version.
const training = document.getElementById("training");
if (training && (training.dataset.status === "pending" || training.dataset.status === "running")) {
  (async () => {
    const status = document.getElementById("training-status");
    const bar = document.getElementById("training-progress");
    const url = withId(root.dataset.trainingJobUrlTemplate, training.dataset.job);
    try {
      let job = await getJson(url);
      while (job.status === "pending" || job.status === "running") {
        const stage = job.stage ? ` (${job.stage})` : "";
        const auc = job.validation_case_auc === null ? "" : `, validation case AUC ${job.validation_case_auc.toFixed(3)}`;
        status.textContent = job.epochs ? `${job.status}${stage}, epoch ${job.epoch} of at most ${job.epochs}${auc}` : job.status;
        bar.max = job.epochs || 1;
        bar.value = job.epoch;
        await pause(2000);
        job = await getJson(url);
      }
      status.textContent = job.status === "succeeded" ? `succeeded: model version ${job.model} registered` : `${job.status}: ${job.error}`;
      setTimeout(() => location.reload(), 1500);
    } catch (error) { status.textContent = `The training's progress could not be read: ${error.message}`; }
  })();
}

const precomputeForm = document.getElementById("precompute-form");
precomputeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("precompute-status");
  try {
    let job = await postJson(root.dataset.precomputeUrl, { model: precomputeForm.model.value });
    while (job.status === "pending" || job.status === "running") {
      status.textContent = `${job.status}: ${job.done_images} of ${job.total_images} images`;
      await pause(1500);
      job = await getJson(withId(root.dataset.precomputeJobUrlTemplate, job.id));
    }
    status.textContent = job.status === "succeeded" ? "done" : `failed: ${job.error}`;
    setTimeout(() => location.reload(), 1000);
  } catch (error) { fail(error, precomputeForm); }
});

// An import (a zip upload, or a worklist a worker retrieves from the PACS): upload, then follow
// the job's progress (and phase: resolving, retrieving, importing) until it ends.
function importFollow(form, url, prefix) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById(`${prefix}-status`);
    const bar = document.getElementById(`${prefix}-progress`);
    const errors = document.getElementById(`${prefix}-errors`);
    const listErrors = (lines) => {
      for (const line of lines || []) {
        const item = document.createElement("li");
        item.textContent = line;
        errors.append(item);
      }
    };
    errors.replaceChildren();
    status.textContent = "uploading…";
    let job;
    try {
      job = await request(url, { method: "POST", body: new FormData(form) });
    } catch (error) {
      showErrors(form, error instanceof ApiError ? error : { message: error.message }, null);
      status.textContent = error.message;
      if (error instanceof ApiError && Array.isArray(error.extra.errors)) listErrors(error.extra.errors);
      return;
    }
    bar.hidden = false;
    while (job.status === "pending" || job.status === "running") {
      const phase = job.phase ? `${job.phase} ` : "";
      status.textContent = `${job.status}: ${phase}${job.done_images} of ${job.total_images || "?"} images`;
      bar.max = job.total_images || 1;
      bar.value = job.done_images;
      await pause(1000);
      job = await getJson(withId(root.dataset.importJobUrlTemplate, job.id));
    }
    status.textContent = job.status === "succeeded"
      ? `imported ${job.summary.cases} cases, ${job.summary.images} images`
      : "rejected: nothing was imported";
    listErrors(job.errors);
    if (job.status === "succeeded") setTimeout(() => location.reload(), 1500);
  });
}

importFollow(document.getElementById("import-form"), root.dataset.importUrl, "import");
const pacsForm = document.getElementById("pacs-import-form");
if (pacsForm) importFollow(pacsForm, root.dataset.pacsImportUrl, "pacs-import");

// Whether the audit log's hash chain holds: every event links to the one before, so an edited or
// deleted row shows here (and in `manage.py audit_verify`).
(async () => {
  const status = document.getElementById("audit-status");
  try {
    const chain = await getJson(root.dataset.auditVerifyUrl);
    const counts = (chain.studies || []).map((study) => `${study.slug}: ${study.count} events`).join(", ");
    status.textContent = chain.ok
      ? `The hash chain holds${counts ? ` (${counts})` : ""}.`
      : "The hash chain is BROKEN: an audit event was changed or removed. Run manage.py audit_verify.";
    status.className = chain.ok ? "ok" : "error";
  } catch (error) { status.textContent = `The audit trail could not be checked: ${error.message}`; }
})();

// The buttons come disabled, so that a click before this module has run is not lost.
document.querySelectorAll("[data-needs-script]").forEach((button) => { button.disabled = false; });
