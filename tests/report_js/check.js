// Drives the report's own React app through every dataset's plots, the summary page, the
// examples and the evaluation pages, then writes what rendered into a PRE element (id hardneg-check) for the
// test to read.
window.addEventListener("load", async () => {
  const out = {datasets: {}, summary: null, errors: window.__hardneg.errors, warnings: window.__hardneg.warnings};
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // the document of an HTML result, from its data URI (what the report's iframe shows)
  const resultDoc = (path) => new DOMParser().parseFromString(
    decodeURIComponent(escape(atob(results[path].data_uri.split(",")[1]))), "text/html");
  try {
    await sleep(100);
    out.app_rendered = document.querySelector("#app").children.length > 0;
    out.home = document.querySelector("#app").innerText;
    const views = new ToggleViewManager(app);
    for (const [ds, paths] of Object.entries(categories["Datasets"] || {})) {
      out.datasets[ds] = {listed: paths.length, rendered: 0, plots: []};
      app.setView({navbarMode: "subcategory", category: "Datasets", subcategory: ds});
      await sleep(50);
      out.datasets[ds].menu_entries = document.querySelectorAll("#app a, #app button, #app tr").length;
      for (const path of paths) {
        views.handleSelectedResult(path);
        await sleep(50);
        const img = document.querySelector("#app img[src^='data:image/svg']");
        if (img) {
          try { await img.decode(); } catch (e) { out.errors.push("decode " + path + ": " + e); }
          if (img.naturalWidth > 0 && img.naturalHeight > 0) {
            out.datasets[ds].rendered += 1;
            out.datasets[ds].plots.push(results[path].labels.plot);
          }
        }
      }
    }
    for (const paths of Object.values(categories["Summary"] || {})) {
      for (const path of paths) {
        views.handleSelectedResult(path);
        await sleep(100);
        const frame = document.querySelector("#app iframe[src^='data:text/html']");
        const doc = resultDoc(path);
        out.summary = {iframe: !!frame, rows: doc.querySelectorAll("#summary tbody tr").length};
        // laid out at the width the report gives a result at a 1400 px window (1100 px)
        const probe = document.createElement("iframe");
        probe.style.width = "1100px";
        probe.style.height = "800px";
        const loaded = new Promise((r) => probe.addEventListener("load", r));
        probe.srcdoc = doc.documentElement.outerHTML;
        document.body.appendChild(probe);
        await loaded;
        const root = probe.contentDocument.documentElement;
        out.summary.overflow_px = root.scrollWidth - root.clientWidth;
        probe.remove();
      }
    }
    out.evaluation = {};
    for (const [ds, paths] of Object.entries(categories["Evaluation"] || {})) {
      const got = {listed: paths.length, plot: false, table_rows: 0, comparisons: 0};
      app.setView({navbarMode: "subcategory", category: "Evaluation", subcategory: ds});
      await sleep(50);
      for (const path of paths) {
        views.handleSelectedResult(path);
        await sleep(100);
        if (results[path].labels.view === "plot") {
          const img = document.querySelector("#app img[src^='data:image/svg']");
          if (img) {
            try { await img.decode(); } catch (e) { out.errors.push("decode " + path + ": " + e); }
            got.plot = img.naturalWidth > 0 && img.naturalHeight > 0;
          }
        } else {
          const frame = document.querySelector("#app iframe[src^='data:text/html']");
          const doc = resultDoc(path);
          got.iframe = !!frame;
          got.table_rows = doc.querySelectorAll("#metrics tbody tr").length;
          got.comparisons = doc.querySelectorAll("#comparisons tbody tr").length;
          got.warnings = [...doc.querySelectorAll("p.warning")].map((p) => p.textContent);
          got.sweep_rows = doc.querySelectorAll("#sweep tbody tr").length;
          const verdict = doc.querySelector("#sweep-verdict");
          got.sweep_verdict = verdict ? verdict.textContent : null;
          const svg = doc.querySelector("#sweep-plot svg");
          if (svg) {  // laid out in this page: its size and the drawn error bars' extent
            const host = document.createElement("div");
            host.appendChild(document.importNode(svg, true));
            document.body.appendChild(host);
            const box = host.firstChild.getBoundingClientRect();
            const drawn = host.firstChild.getBBox();
            got.sweep_plot = [Math.round(box.width), Math.round(box.height), Math.round(drawn.width)];
            host.remove();
          }
        }
      }
      out.evaluation[ds] = got;
    }
    out.examples = {};
    for (const [ds, paths] of Object.entries(categories["Examples"] || {})) {
      app.setView({navbarMode: "subcategory", category: "Examples", subcategory: ds});
      await sleep(50);
      for (const path of paths) {
        views.handleSelectedResult(path);
        await sleep(100);
        const frame = document.querySelector("#app iframe[src^='data:text/html']");
        const doc = resultDoc(path);
        out.examples[ds] = {
          listed: paths.length,
          iframe: !!frame,
          scripts: doc.querySelectorAll("script").length,
          rows: [...doc.querySelectorAll(".example")].map((e) => ({
            row: +e.dataset.row,
            query: e.querySelector("h4").textContent.replace(/^line \d+: /, ""),
            negatives: e.querySelectorAll("tr.neg").length,
            positives: e.querySelectorAll("tr.pos").length,
          })),
          suspicious: [...doc.querySelectorAll("#suspicious tbody tr")].map((r) => ({
            row: +r.dataset.row, cosine: +r.children[1].textContent,
          })),
        };
      }
    }
    out.fetched = performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith("data:"));
  } catch (e) {
    out.errors.push("driver: " + e);
  }
  const pre = document.createElement("pre");
  pre.id = "hardneg-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
