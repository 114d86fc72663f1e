// The console's reply form: choosing a canned reply puts its text in the reply box, to adapt before sending
// (without JavaScript, an empty reply sends the chosen canned reply as it is).
(function () {
  const select = document.querySelector("select[data-canned]");
  const box = document.querySelector("textarea[name=body]");
  const texts = document.getElementById("canned-texts");
  if (!select || !box || !texts) return;
  const bodies = JSON.parse(texts.textContent);
  select.addEventListener("change", () => {
    if (bodies[select.value] !== undefined) box.value = bodies[select.value];
  });
})();
