// The console's only script: conveniences on pages that also work without it.
// - [data-autosubmit]: a choice re-renders the page with it (the form's default submit button).
// - dialog[data-modal]: a confirmation the server rendered opens as a modal dialog; Cancel closes
//   it here (nothing is sent, nothing stored). Without this script it shows in the page.
// - [data-select-all=NAME]: ticks or unticks every check box named NAME in its form.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const field of document.querySelectorAll("[data-autosubmit]")) {
    field.addEventListener("change", () => {
      const form = field.form;
      if (!form) return;
      const button = form.querySelector("[data-default-submit]") ||
        form.querySelector('button[name="action"][value="update"]');
      form.requestSubmit(button || undefined);
    });
  }

  for (const dialog of document.querySelectorAll("dialog[data-modal]")) {
    dialog.close();
    dialog.showModal();
    const note = dialog.parentElement.querySelector("[data-cancel-note]");
    const cancel = (event) => {
      event.preventDefault();
      dialog.close();
      if (note) note.hidden = false;
    };
    for (const button of dialog.querySelectorAll("[data-close]")) {
      button.addEventListener("click", cancel);
    }
    dialog.addEventListener("cancel", cancel);
  }

  for (const box of document.querySelectorAll("[data-select-all]")) {
    box.addEventListener("change", () => {
      const name = box.dataset.selectAll;
      for (const item of box.form.querySelectorAll(`input[type="checkbox"][name="${name}"]`)) {
        item.checked = box.checked;
      }
    });
  }
});
