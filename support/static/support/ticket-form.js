// The new-ticket form shows only the chosen type's fields (without JavaScript it shows them all, labelled).
(function () {
  const form = document.getElementById("ticket-form");
  if (!form) return;
  const kind = form.querySelector("[name=kind]");
  const show = () => {
    for (const fieldset of form.querySelectorAll("fieldset[data-kind]")) {
      fieldset.hidden = fieldset.dataset.kind !== kind.value;
    }
  };
  kind.addEventListener("change", show);
  show();
})();
