// The jobs view: sweeps sent as durable jobs (POST /api/jobs), followed live and picked up again
// after a reload. The job followed is in the address (#jobs/ID) and in localStorage; its events
// come through EventSource, which reconnects by itself with Last-Event-ID after a dropped
// connection (the server then sends only what was missed). `progress` carries the best rows so far,
// which the table shows while the job runs; once it is over, the table is the first page of the
// ranked results.
import { sweepRequest } from "./sweep.js";
import { $, METRICS, cell, clearError, formatMetric, showDataNote, showErrorIn } from "./ui.js";

const KEPT = "orchestrator.job";  // localStorage: the id of the job followed
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const ROWS_SHOWN = 20;  // of a finished job's table; "Every row as CSV" has the rest
const SHOWN = ["total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades"];

let followed = null;  // { id, job, events, done }

// ---- Talking to /api/jobs ------------------------------------------------------------------

// The answer's data, or throws its error envelope's error.
async function api(path, options = {}) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  const answer = await response.json().catch(() => null);
  if (!answer?.success) throw answer?.error || { code: `HTTP_${response.status}`, message: response.statusText };
  return answer.data;
}

function submitJob(body) {
  return api("/api/jobs", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ kind: "sweep", ...body }),
  });
}

// ---- Following one job -----------------------------------------------------------------------

function follow(id) {
  stopFollowing();
  followed = { id, job: null, events: null, done: 0 };
  localStorage.setItem(KEPT, id);
  if (location.hash.startsWith("#jobs")) history.replaceState(null, "", `#jobs/${id}`);
  clearError($("jobs-error"), $("view-jobs"));
  $("job-id").textContent = id;
  $("job-csv").href = `/api/jobs/${encodeURIComponent(id)}/results?format=csv`;
  $("job-table").tBodies[0].replaceChildren();
  $("job-data-note").hidden = true;
  $("job").hidden = false;
  $("job-status").textContent = "Loading…";
  api(`/api/jobs/${encodeURIComponent(id)}`).then((job) => {
    if (followed?.id !== id) return;
    followed.job = job;
    renderHead(job);
    showState(job);
    listen(id);
  }, (error) => forget(id, error));
}

function stopFollowing() {
  followed?.events?.close();
  followed = null;
}

// A job that is gone (expired, or of another server's memory) is forgotten, and said so.
function forget(id, error) {
  if (followed?.id === id) stopFollowing();
  if (localStorage.getItem(KEPT) === id) localStorage.removeItem(KEPT);
  $("job").hidden = true;
  showErrorIn($("jobs-error"), $("view-jobs"), error);
}

function listen(id) {
  const events = new EventSource(`/api/jobs/${encodeURIComponent(id)}/events`);
  followed.events = events;
  events.addEventListener("result", () => {
    followed.done += 1;
    showCount(followed.done, followed.job.total);
  });
  events.addEventListener("progress", (event) => {
    const progress = JSON.parse(event.data);
    followed.done = progress.done;
    showState({ ...followed.job, ...progress });
    renderRows(followed.job, progress.top, "so far");
  });
  events.addEventListener("summary", (event) => {
    events.close();
    finish(JSON.parse(event.data));
  });
  // The server's own `error` event carries data (its store failed); a dropped connection does not,
  // and EventSource reconnects by itself unless the answer was not a stream (a job gone: 404).
  events.addEventListener("error", (event) => {
    if (event.data) {
      events.close();
      showErrorIn($("jobs-error"), $("view-jobs"), JSON.parse(event.data).error);
    } else if (events.readyState === EventSource.CLOSED) {
      api(`/api/jobs/${encodeURIComponent(id)}`).then(() => listen(id), (error) => forget(id, error));
    }
  });
}

async function finish(summary) {
  followed.job = summary;
  followed.done = summary.done;
  showState(summary);
  showDataNote($("job-data-note"), summary);
  const page = await api(`/api/jobs/${encodeURIComponent(summary.id)}/results?limit=${ROWS_SHOWN}`);
  if (followed?.id === summary.id) renderRows(summary, page.rows, "final");
  refreshList();
}

// ---- Showing it ------------------------------------------------------------------------------

function showCount(done, total) {
  $("job-count").textContent = `${done} / ${total}`;
  $("job-bar").max = total || 1;
  $("job-bar").value = Math.min(done, total);
}

function showState(job) {
  showCount(job.done, job.total);
  const failed = job.failed ? `, ${job.failed} failed` : "";
  const left = job.status === "running" && job.eta_s != null ? `, about ${timeLeft(job.eta_s)} left` : "";
  const kept = job.durable === false ? " Kept in the server's memory only: a restart loses it." : "";
  $("job-status").textContent = `${capitalised(job.status)}: ${job.done} of ${job.total} done${failed}${left}.${kept}`;
  $("job-status").dataset.status = job.status;
  $("job-cancel").disabled = FINISHED.has(job.status);
}

function timeLeft(seconds) {
  const minutes = Math.floor(seconds / 60), rest = Math.round(seconds % 60);
  return minutes ? `${minutes} min ${rest} s` : `${rest} s`;
}

const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// The grid's paths are the rows' params: their last part heads the column.
function columns(job, rows) {
  const paths = [...new Set(rows.flatMap((row) => Object.keys(row.params)))];
  const metrics = [job.rank_by, ...SHOWN.filter((field) => field !== job.rank_by)];
  return { paths, metrics };
}

function renderHead(job) {
  $("job-caption").textContent = `Settings ranked by ${METRICS[job.rank_by][0].toLowerCase()}, best first`;
  $("job-table").tHead.replaceChildren();
}

function renderRows(job, rows, when) {
  const { paths, metrics } = columns(job, rows);
  const head = document.createElement("tr");
  head.append(cell("Rank", { tag: "th" }), ...paths.map((path) => cell(path.split(".").pop(), { tag: "th" })),
    ...metrics.map((field) => cell(METRICS[field][0], { tag: "th", cls: field === job.rank_by ? "ranked-by" : undefined })));
  for (const th of head.children) th.scope = "col";
  $("job-table").tHead.replaceChildren(head);
  $("job-table").dataset.when = when;
  $("job-table").tBodies[0].replaceChildren(...rows.map((row) => {
    const line = document.createElement("tr");
    line.dataset.testid = "job-row";
    line.dataset.index = row.index;
    line.append(Object.assign(cell(row.rank ?? "—", { tag: "th", testid: "job-rank" }), { scope: "row" }));
    line.append(...paths.map((path) => cell(String(row.params[path]))));
    if (row.error) {
      const failed = cell(`${row.error.code}: ${row.error.message}`, { cls: "row-error" });
      failed.colSpan = metrics.length;
      line.append(failed);
    } else {
      line.append(...metrics.map((field) => {
        const value = cell(formatMetric(field, row.summary[field]));
        value.dataset.field = field;
        value.dataset.value = row.summary[field] ?? "";
        return value;
      }));
    }
    return line;
  }));
}

// ---- The list ----------------------------------------------------------------------------------

async function refreshList() {
  let jobs;
  try {
    ({ jobs } = await api("/api/jobs"));
  } catch (error) {
    showErrorIn($("jobs-error"), $("view-jobs"), error);
    return;
  }
  $("jobs-list").tBodies[0].replaceChildren(...jobs.map((job) => {
    const line = document.createElement("tr");
    line.dataset.testid = "jobs-row";
    const open = document.createElement("a");
    open.href = `#jobs/${job.id}`;
    open.textContent = job.id;
    open.addEventListener("click", (event) => { event.preventDefault(); follow(job.id); });
    const id = cell("", { tag: "th" });
    id.scope = "row";
    id.append(open);
    line.append(id, cell(job.status), cell(`${job.done} / ${job.total}`), cell(job.created_at.replace("T", " ").slice(0, 19)));
    return line;
  }));
}

// ---- Wiring ------------------------------------------------------------------------------------

async function sendSweep() {
  const form = $("sweep-form"), button = $("sweep-job");
  if (!form.reportValidity()) return;
  button.disabled = true;
  try {
    const job = await submitJob(sweepRequest(form));
    history.replaceState(null, "", `#jobs/${job.id}`);
    $("tab-jobs").click();
    follow(job.id);
  } catch (error) {
    showErrorIn($("sweep-error"), form, error);
  } finally {
    button.disabled = false;
  }
}

async function cancelJob() {
  const id = followed?.id;
  if (!id) return;
  try {
    showState({ ...followed.job, ...(await api(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" })) });
  } catch (error) {
    showErrorIn($("jobs-error"), $("view-jobs"), error);
  }
}

export function initJobs() {
  $("sweep-job").addEventListener("click", sendSweep);
  $("job-cancel").addEventListener("click", cancelJob);
  $("jobs-refresh").addEventListener("click", refreshList);
  $("tab-jobs").addEventListener("view-shown", () => {
    if (followed) history.replaceState(null, "", `#jobs/${followed.id}`);  // so a reload comes back to it
    refreshList();
  });
  // After a reload: the job in the address, else the one followed last.
  const linked = location.hash.match(/^#jobs\/([\w-]+)$/)?.[1];
  const kept = linked || localStorage.getItem(KEPT);
  if (kept) follow(kept);
  if (location.hash.startsWith("#jobs")) refreshList();
}
