// The report page: its print button (a handler here, since CSP refuses inline onclick).
document.querySelectorAll("[data-action=print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
