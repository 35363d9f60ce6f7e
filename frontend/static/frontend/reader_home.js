// My reading: "Start round" starts (or resumes) my session, "Start practice" my practice cases,
// then each opens its reading screen.
import { ApiError, postJson, withId } from "./api.js";

const startError = document.getElementById("start-error");

const starter = (selector, template) => {
  document.querySelectorAll(selector).forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const session = await postJson(button.dataset.url);
        window.location = withId(template(), session.id);
      } catch (error) {
        startError.textContent = error instanceof ApiError ? error.message : "Could not reach the server; try again.";
        startError.hidden = false;
        button.disabled = false;
      }
    });
    // It comes disabled, so that a click before this module has run is not lost.
    button.disabled = false;
  });
};

starter("button.start", () => document.getElementById("rounds").dataset.readingUrlTemplate);
starter("button.practice-start", () => document.getElementById("practice").dataset.practiceUrlTemplate);
