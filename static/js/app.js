// Small enhancements htmx does not cover. Every page works without them; the CSP allows only
// scripts from our own static files, so nothing here is inline.
document.documentElement.classList.add("js");

function boxesOf(selectAll) {
  const scope = selectAll.form || selectAll.closest("form") || document;
  return scope.querySelectorAll(`input[type=checkbox][name="${selectAll.dataset.selectAll}"]`);
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") return;
  if (target.dataset.selectAll) {
    for (const box of boxesOf(target)) box.checked = target.checked;
    target.indeterminate = false;
    return;
  }
  // One box changed: the "all" box says whether all, none or some are ticked.
  const scope = target.form || document;
  for (const selectAll of scope.querySelectorAll(`input[data-select-all="${target.name}"]`)) {
    const boxes = [...boxesOf(selectAll)];
    const ticked = boxes.filter((box) => box.checked).length;
    selectAll.checked = ticked > 0 && ticked === boxes.length;
    selectAll.indeterminate = ticked > 0 && ticked < boxes.length;
  }
});

// The header's Menu button (shown on phones only, by CSS): a disclosure, closed by Escape or a
// click elsewhere; without this script the links simply wrap.
const menuToggle = document.querySelector(".menu-toggle");
function setMenu(open) {
  menuToggle.setAttribute("aria-expanded", String(open));
}
if (menuToggle) {
  menuToggle.addEventListener("click", () => setMenu(menuToggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || menuToggle.getAttribute("aria-expanded") !== "true") return;
    setMenu(false);
    menuToggle.focus();
  });
  document.addEventListener("click", (event) => {
    if (!menuToggle.closest(".topbar").contains(event.target)) setMenu(false);
  });
}
