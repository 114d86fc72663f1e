// A form marked data-submit-once disables its buttons once it is sent, so a double click sends one request.
// Only a courtesy: the one-time token in the form is what makes the server act once.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !form.matches("[data-submit-once]")) return;
  // After the browser has taken the form's data, or a disabled button would leave it out.
  setTimeout(() => form.querySelectorAll("button").forEach((button) => { button.disabled = true; }));
});
// A page restored from the back-forward cache gets its buttons back.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) document.querySelectorAll("[data-submit-once] button").forEach((button) => { button.disabled = false; });
});
