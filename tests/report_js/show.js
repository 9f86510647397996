// Screenshot mode: open one dataset's score plot, as a person would after clicking it.
window.addEventListener("load", async () => {
  await new Promise((r) => setTimeout(r, 100));
  const ds = window.__hardneg_dataset;
  app.setView({navbarMode: "subcategory", category: "Datasets", subcategory: ds});
  await new Promise((r) => setTimeout(r, 100));
  const path = categories["Datasets"][ds].find((p) => p.endsWith("/scores.svg"));
  new ToggleViewManager(app).handleSelectedResult(path);
});
