// My reading: "Start round" starts (or resumes) my session, then opens its reading screen.
import { ApiError, postJson, withId } from "./api.js";

const table = document.getElementById("rounds");
const startError = document.getElementById("start-error");

document.querySelectorAll("button.start").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const session = await postJson(button.dataset.url);
      window.location = withId(table.dataset.readingUrlTemplate, session.id);
    } catch (error) {
      startError.textContent = error instanceof ApiError ? error.message : "Could not reach the server; try again.";
      startError.hidden = false;
      button.disabled = false;
    }
  });
  // It comes disabled, so that a click before this module has run is not lost.
  button.disabled = false;
});
