// Veil web application: live job progress (Server-Sent Events) and small conveniences.
// Loaded from this server only (Content-Security-Policy: script-src 'self'); no inline script.
"use strict";

function showRunStatus(state) {
  const badge = document.getElementById("run-status");
  if (!badge || !state.run_status) return;
  if (badge.textContent !== state.run_status_label) badge.textContent = state.run_status_label;
  badge.className = "status status-" + state.run_status;
}

function followJobs(table) {
  const url = table.getAttribute("data-live");
  if (!url || !window.EventSource) return;
  const source = new EventSource(url);
  let changed = false;
  source.addEventListener("job", (event) => {
    const job = JSON.parse(event.data);
    showRunStatus(job);
    const row = document.getElementById("job-" + job.id);
    if (!row) { changed = true; return; }
    if (row.getAttribute("data-status") !== job.status) changed = true;
    row.setAttribute("data-status", job.status);
    const status = row.querySelector("[data-field=status]");
    if (status.textContent !== job.status_label) status.textContent = job.status_label;
    status.className = "status status-" + job.status;
    const bar = row.querySelector("[data-field=progress]");
    bar.value = job.progress;
    bar.textContent = Math.round(job.progress * 100) + " %";
    row.querySelector("[data-field=percent]").textContent = Math.round(job.progress * 100) + " %";
    row.querySelector("[data-field=phase]").textContent = job.phase || "";
    if (job.done) {
      const cancel = row.querySelector("[data-field=cancel]");
      if (cancel) cancel.remove();
    }
  });
  // The session ended (signed out elsewhere, password reset, account disabled): sign in again.
  source.addEventListener("signed_out", (event) => {
    source.close();
    window.location.assign(JSON.parse(event.data || "{}").login || "/login");
  });
  source.addEventListener("end", (event) => {
    source.close();
    showRunStatus(JSON.parse(event.data || "{}"));
    // Results appear once jobs end; offer them rather than reload under the reader's feet.
    if (changed) {
      const note = document.getElementById("live-note");
      if (note) note.hidden = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  // Secure cookies are dropped outside secure contexts (plain HTTP to another host): say so.
  const insecure = document.getElementById("insecure-note");
  if (insecure && !window.isSecureContext) insecure.hidden = false;
  document.querySelectorAll("table[data-live]").forEach(followJobs);
  // The privacy-targeted search takes a while (the engine tries a dozen parameter sets): say so.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      document.querySelectorAll('button[form="' + form.id + '"]').forEach((button) => {
        button.textContent = form.getAttribute("data-busy");
        button.setAttribute("aria-disabled", "true");
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
});
