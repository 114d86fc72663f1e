// A button that copies the text of the field it names (a file, not an inline script, for the
// Content-Security-Policy; without JS the field is there to select and copy by hand).
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", () => {
    const field = document.getElementById(button.dataset.copy);
    field.select();
    navigator.clipboard.writeText(field.value).then(() => { button.textContent = button.dataset.copied || "Copied"; });
  });
}
