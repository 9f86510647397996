window.__hardneg = {errors: [], warnings: []};
window.addEventListener("error", (e) => window.__hardneg.errors.push("uncaught: " + (e.message || e.target && (e.target.src || e.target.href))), true);
window.addEventListener("unhandledrejection", (e) => window.__hardneg.errors.push("unhandled rejection: " + e.reason));
(() => {
  const err = console.error.bind(console), warn = console.warn.bind(console);
  console.error = (...a) => { window.__hardneg.errors.push("console.error: " + a.join(" ")); err(...a); };
  console.warn = (...a) => { window.__hardneg.warnings.push(a.join(" ")); warn(...a); };
})();
