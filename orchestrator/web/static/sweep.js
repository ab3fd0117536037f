// The sweep view: posts a grid of settings to /api/sweep and follows its event stream. A table
// fills as each combination's `result` arrives, kept ranked by the chosen metric, and a heatmap
// shows that metric when the grid has two dimensions. The `summary` event then gives the final
// ranking, which replaces the page's own.
import { postStream } from "./stream.js";
import {
  $, METRICS, cell, clearError, formatMetric, formatNumber, labelOf, readFields, setCount, shownValue,
  showDataNote, showErrorIn,
} from "./ui.js";

// Ranked lowest first (docs/api.md); every other metric ranks highest first.
const LOWEST_FIRST = new Set([
  "volatility_annualized_pct", "max_drawdown_duration_days", "total_transaction_costs",
]);
// The metrics each row shows after the one it is ranked by.
const SHOWN = ["total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades"];

// ---- The request -------------------------------------------------------------------------

// Each list with more than one value is a dimension of the grid, in the form's order. A sweep
// needs at least one, so when every list has a single value the first one stands in.
export function sweepRequest(form) {
  const { body, lists } = readFields(form);
  const varied = Object.entries(lists).filter(([, values]) => values.length > 1);
  body.grid = Object.fromEntries(varied.length ? varied : Object.entries(lists).slice(0, 1));
  // The baseline buys and holds with the same money, so the comparison is like for like.
  body.baseline_params = { initial_capital: body.portfolio_params.initial_capital };
  return body;
}

function combinations(grid) {
  return Object.values(grid).reduce((product, values) => product * values.length, 1);
}

// "3 × 2 = 6 combinations"
function describePlan(grid) {
  const sizes = Object.values(grid).map((values) => values.length);
  const total = combinations(grid);
  return `${sizes.length > 1 ? sizes.join(" × ") + " = " : ""}${total} combination${total === 1 ? "" : "s"}`;
}

// ---- Ranking -----------------------------------------------------------------------------

// Best first by `rankBy`; then rows whose metric is null; failed rows last; ties in grid order.
function byRank(rankBy) {
  const sign = LOWEST_FIRST.has(rankBy) ? 1 : -1;
  const place = (row) => (row.error ? 2 : typeof row.summary[rankBy] === "number" ? 0 : 1);
  return (a, b) => place(a) - place(b)
    || (place(a) === 0 ? sign * (a.summary[rankBy] - b.summary[rankBy]) : 0)
    || a.index - b.index;
}

// A view of one sweep: its request, its rows (in arrival order until the summary ranks them), and
// the indices the latest progress event named among the best. `final` once the summary is in.
function newView(form, request) {
  return { form, request, rows: [], top: new Set(), final: false, frame: 0 };
}

// Results may arrive faster than the screen repaints: re-rank and redraw at most once a frame.
function scheduleRender(view) {
  view.frame ||= requestAnimationFrame(() => {
    view.frame = 0;
    render(view);
  });
}

function render(view) {
  const rows = view.final ? view.rows : [...view.rows].sort(byRank(view.request.rank_by));
  renderTable(view, rows);
  if (Object.keys(view.request.grid).length === 2) renderHeatmap(view);
}

// ---- The table ---------------------------------------------------------------------------

// The columns after the rank: one per grid path (headed by its input's label, values shown as
// typed), then the rank metric, then a few others.
function columns({ form, request }) {
  const params = Object.keys(request.grid).map((path) => ({
    key: path, label: labelOf(form, path), text: (row) => shownValue(form, path, row.params[path]),
  }));
  const metrics = [request.rank_by, ...SHOWN.filter((field) => field !== request.rank_by)].map((field) => ({
    key: field, label: METRICS[field][0], text: (row) => formatMetric(field, row.summary[field]),
  }));
  return { params, metrics };
}

function renderHead(view) {
  const { params, metrics } = columns(view);
  const rankBy = view.request.rank_by;
  const row = document.createElement("tr");
  row.append(cell("Rank", { tag: "th" }), ...[...params, ...metrics].map(({ key, label }) => {
    const head = cell(label, { tag: "th", cls: key === rankBy ? "ranked-by" : undefined });
    head.scope = "col";
    if (key === rankBy) head.setAttribute("aria-sort", LOWEST_FIRST.has(rankBy) ? "ascending" : "descending");
    return head;
  }));
  row.firstChild.scope = "col";
  $("sweep-table").tHead.replaceChildren(row);
  $("sweep-caption").textContent = `Settings ranked by ${METRICS[rankBy][0].toLowerCase()}, best first`;
}

function renderTable(view, rows) {
  const { params, metrics } = columns(view);
  $("sweep-table").tBodies[0].replaceChildren(...rows.map((row, position) => {
    const line = document.createElement("tr");
    line.dataset.testid = "sweep-row";
    line.dataset.index = row.index;
    line.classList.toggle("best", isBest(view, row));
    const rank = view.final ? row.rank : row.error ? null : position + 1;
    line.append(cell(rank ?? "—", { tag: "th", testid: "sweep-rank" }));
    line.lastChild.scope = "row";
    line.append(...params.map(({ key, text }) => fieldCell(key, text(row))));
    if (row.error) {
      const message = `${row.error.code}: ${row.error.message}`;
      const failed = cell(message, { testid: "sweep-row-error", cls: "row-error" });
      failed.colSpan = metrics.length;
      line.append(failed);
    } else {
      line.append(...metrics.map(({ key, text }) => fieldCell(key, text(row), row.summary[key])));
    }
    return line;
  }));
}

// Cells say which field they show, and metrics their exact value, for whoever reads the page's DOM.
function fieldCell(key, text, value) {
  const element = cell(text);
  element.dataset.field = key;
  if (value !== undefined) element.dataset.value = value ?? "";
  return element;
}

// Highlighted: the best top_k rows, as the latest progress event named them, then as ranked.
function isBest(view, row) {
  if (!view.final) return view.top.has(row.index);
  return row.rank != null && row.rank <= view.request.top_k;
}

// ---- The heatmap: the rank metric over a two-dimension grid ------------------------------

// Rows are the first path's values, columns the second's. The grid's last key varies fastest,
// so the combination at row i and column j has index i * columns + j.
function renderHeatmap(view) {
  const { form, request } = view;
  const [rowPath, colPath] = Object.keys(request.grid);
  const [rowValues, colValues] = [request.grid[rowPath], request.grid[colPath]];
  const byIndex = new Map(view.rows.map((row) => [row.index, row]));
  const shade = colourScale(view.rows, request.rank_by);

  const axis = document.createElement("tr");
  axis.append(cell("", { cls: "corner" }), cell(labelOf(form, colPath), { tag: "th" }));
  axis.lastChild.colSpan = colValues.length;
  axis.lastChild.scope = "colgroup";
  const heads = document.createElement("tr");
  heads.append(...[labelOf(form, rowPath), ...colValues.map((v) => shownValue(form, colPath, v))].map(
    (text) => Object.assign(cell(text, { tag: "th" }), { scope: "col" })));
  const body = rowValues.map((rowValue, i) => {
    const line = document.createElement("tr");
    line.append(Object.assign(cell(shownValue(form, rowPath, rowValue), { tag: "th" }), { scope: "row" }));
    line.append(...colValues.map((_, j) =>
      heatCell(byIndex.get(i * colValues.length + j), request.rank_by, shade)));
    return line;
  });
  $("sweep-heatmap").replaceChildren(axis, heads, ...body);
  $("sweep-heatmap-caption").textContent =
    `${METRICS[request.rank_by][0]} of each combination: greener is better.`;
  $("sweep-heatmap-figure").hidden = false;
}

function heatCell(row, rankBy, shade) {
  const value = row?.summary?.[rankBy];
  const text = !row ? "…" : row.error ? "failed" : formatMetric(rankBy, value);
  const element = cell(text, { testid: "heatmap-cell" });
  if (row) element.dataset.index = row.index;
  if (row?.error) element.title = `${row.error.code}: ${row.error.message}`;
  if (typeof value === "number") {
    element.dataset.value = value;
    element.style.background = shade(value);
  }
  return element;
}

// Red for the worst value so far, green for the best, whichever way the metric ranks.
function colourScale(rows, rankBy) {
  const values = rows.map((row) => row.summary?.[rankBy]).filter((v) => typeof v === "number");
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return (value) => {
    let t = high > low ? (value - low) / (high - low) : 1;
    if (LOWEST_FIRST.has(rankBy)) t = 1 - t;
    return `hsl(${Math.round(t * 130)} 65% 80%)`;
  };
}

// ---- Progress, the summary, errors -------------------------------------------------------

function showProgress(view, progress) {
  setCount($("sweep-count"), $("sweep-bar"), progress.done, progress.total);
  view.top = new Set((progress.top || []).map((row) => row.index));
  const failed = progress.failed ? `, ${progress.failed} failed` : "";
  $("sweep-status").textContent = `Running: ${progress.done} of ${progress.total} done${failed}.`;
  scheduleRender(view);
}

function showSummary(view, data) {
  view.rows = data.rows;
  view.final = true;
  render(view);  // at once, not on the next frame: the status below says the table is final
  const meta = data.metadata;
  setCount($("sweep-count"), $("sweep-bar"), meta.combinations, meta.combinations);
  showDataNote($("sweep-data-note"), meta);
  $("sweep-status").textContent = `Done: ${meta.combinations} combinations, ${meta.succeeded} succeeded, ` +
    `${meta.failed} failed, in ${formatNumber(meta.execution_time_ms, 0)} ms.`;
}

function showError(error) {
  showErrorIn($("sweep-error"), $("sweep-form"), error);
  $("sweep-status").textContent = `Failed: ${error.code || "ERROR"}`;
}

function startView(form, request) {
  clearError($("sweep-error"), form);
  const view = newView(form, request);
  renderHead(view);
  $("sweep-table").tBodies[0].replaceChildren();
  $("sweep-heatmap-figure").hidden = true;
  $("sweep-data-note").hidden = true;
  $("sweep-results").hidden = true;  // shown once the stream starts; a refused request has no table
  setCount($("sweep-count"), $("sweep-bar"), 0, combinations(request.grid));
  $("sweep-status").textContent = `Starting ${describePlan(request.grid)}…`;
  return view;
}

// ---- Running ------------------------------------------------------------------------------

async function run(submit) {
  submit.preventDefault();
  const form = submit.target, button = $("sweep-run");
  const request = sweepRequest(form);
  const view = startView(form, request);
  button.disabled = true;
  try {
    const failure = await postStream("/api/sweep", request, {
      result: (row) => { view.rows.push(row); scheduleRender(view); },
      progress: (progress) => showProgress(view, progress),
      summary: (answer) => showSummary(view, answer.data),
      error: (answer) => showError(answer.error),
    }, { endsWith: ["summary", "error"], onStream: () => { $("sweep-results").hidden = false; } });
    if (failure) showError(failure);
  } catch (error) {
    showError({ code: "PAGE_ERROR", message: `The sweep could not be shown: ${error.message}` });
  } finally {
    button.disabled = false;
  }
}

export function initSweep() {
  const form = $("sweep-form");
  $("sweep-rank-by").append(...Object.entries(METRICS).map(([field, [label]]) =>
    new Option(label, field, false, field === "sharpe_ratio")));
  // Say how many combinations the lists make, as they are typed.
  const plan = () => {
    if (!$("sweep-run").disabled) $("sweep-status").textContent = `${describePlan(sweepRequest(form).grid)}.`;
  };
  form.addEventListener("input", plan);
  plan();
  form.addEventListener("submit", run);
}
