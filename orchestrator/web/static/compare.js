// The compare view: a list of named strategies posted to /api/compare, run on the same prices
// against one baseline. Shows each strategy's summary in a table and every equity curve (and the
// baseline's) on one chart.
import { equityChart } from "./chart.js";
import { postStream } from "./stream.js";
import {
  $, METRICS, cell, clearError, formatMetric, formatNumber, readFields, setCount, showDataNote, showErrorIn,
} from "./ui.js";

const MAX_STRATEGIES = 10;  // the server's default COMPARE__MAX_STRATEGIES; a lower one answers an error
const FIRST_STRATEGIES = [
  { name: "dip 5%", strategy_type: "buy_the_dip", threshold: -5 },
  { name: "dip 10%", strategy_type: "buy_the_dip", threshold: -10 },
  { name: "monthly", strategy_type: "dollar_cost_average" },
];
const SHOWN = [
  "total_return_pct", "final_portfolio_value", "max_drawdown_pct", "volatility_annualized_pct",
  "sharpe_ratio", "total_trades",
];
// How each input of a row is named to assistive technology, after "Strategy <n>".
const FIELD_NAMES = { name: "name", strategy_type: "type", "config.price_change_threshold": "dip (%)" };

// ---- The list of strategies --------------------------------------------------------------

const field = (row, name) => row.querySelector(`[data-field="${name}"]`);

function addStrategy({ name = "", strategy_type = "buy_the_dip", threshold = -5 } = {}) {
  const row = $("compare-strategy-row").content.firstElementChild.cloneNode(true);
  field(row, "name").value = name;
  field(row, "strategy_type").value = strategy_type;
  field(row, "config.price_change_threshold").value = threshold;
  $("compare-strategies").append(row);
  syncRows();
}

// Inputs are named after their row's place (strategies.<i>.<field>), so readFields builds the
// list in order, and a field error of the answer ("strategies.1.name") marks its input.
function syncRows() {
  const rows = [...$("compare-strategies").rows];
  rows.forEach((row, i) => {
    for (const input of row.querySelectorAll("[data-field]")) {
      input.name = `strategies.${i}.${input.dataset.field}`;
      input.setAttribute("aria-label", `Strategy ${i + 1} ${FIELD_NAMES[input.dataset.field]}`);
    }
    // Only buy_the_dip takes a threshold; disabled, it stays out of the body.
    const dip = field(row, "strategy_type").value === "buy_the_dip";
    field(row, "config.price_change_threshold").disabled = !dip;
    const remove = row.querySelector('[data-action="remove"]');
    remove.setAttribute("aria-label", `Remove strategy ${i + 1}`);
    remove.disabled = rows.length === 1;  // a comparison needs one strategy at least
  });
  $("compare-add").disabled = rows.length >= MAX_STRATEGIES;
}

function onListClick(event) {
  const remove = event.target.closest('[data-action="remove"]');
  if (!remove) return;
  remove.closest("tr").remove();
  syncRows();
  $("compare-add").focus();  // the button pressed is gone: keep the keyboard's place in the form
}

function compareRequest(form) {
  const { body } = readFields(form);
  for (const strategy of body.strategies) strategy.config ??= {};
  // The baseline buys and holds with the same money, so the comparison is like for like.
  body.baseline_params = { initial_capital: body.portfolio_params.initial_capital };
  return body;
}

// ---- Showing progress and the result ------------------------------------------------------

function resetView(form) {
  clearError($("compare-error"), form);
  $("compare-results").hidden = true;
  $("compare-progress").hidden = true;  // shown once the stream starts
  setCount($("compare-count"), $("compare-bar"), 0, null);
}

function showProgress(event) {
  setCount($("compare-count"), $("compare-bar"), event.done, event.total);
  $("compare-status").textContent =
    `Running: ${event.stage} ${event.state} (${event.done} of ${event.total} done)`;
}

function showResult(data) {
  const strategies = data.strategies.map((strategy, i) => ({ ...strategy, cls: `series-${i % 10}` }));
  const baseline = { ...data.baseline_strategy, name: "Baseline (buy and hold)", cls: "baseline" };
  renderTable(strategies, baseline);
  $("compare-chart").querySelector("svg")?.remove();
  $("compare-chart").append(equityChart(
    [...strategies, baseline].map(({ name, cls, time_series }, i) => ({
      name, cls, series: time_series,
      testid: cls === "baseline" ? "compare-line-baseline" : `compare-line-${i}`,
    })),
    { testid: "compare-equity-chart", label: "Portfolio value of each strategy and the baseline over time" },
  ));
  $("compare-results").hidden = false;
  const meta = data.metadata || {};
  showDataNote($("compare-data-note"), meta);
  const count = `${strategies.length} strateg${strategies.length === 1 ? "y" : "ies"}`;
  $("compare-status").textContent = `Done: ${count} on ${meta.ticker}, ` +
    `${meta.start_date} to ${meta.end_date}, in ${formatNumber(meta.execution_time_ms, 0)} ms.`;
}

// A row per strategy then the baseline's; each name has its line's colour, as a key to the chart.
function renderTable(strategies, baseline) {
  const head = document.createElement("tr");
  head.append(...["Strategy", ...SHOWN.map((f) => METRICS[f][0]), "Excess return (pp)"].map(
    (label) => Object.assign(cell(label, { tag: "th" }), { scope: "col" })));
  $("compare-table").tHead.replaceChildren(head);
  $("compare-table").tBodies[0].replaceChildren(
    ...strategies.map((strategy) => summaryRow(strategy, "compare-row",
      formatNumber(strategy.comparison?.excess_return_pct, 2, true))),
    summaryRow(baseline, "compare-row-baseline", "—"),
  );
}

function summaryRow({ name, cls, summary }, testid, excess) {
  const row = document.createElement("tr");
  row.dataset.testid = testid;
  const title = Object.assign(cell("", { tag: "th" }), { scope: "row" });
  const swatch = cell("", { tag: "span", cls: `swatch ${cls}` });
  swatch.setAttribute("aria-hidden", "true");
  title.append(swatch, name);
  row.append(title, ...SHOWN.map((f) => {
    const value = cell(formatMetric(f, summary[f]));
    value.dataset.field = f;
    return value;
  }), cell(excess));
  return row;
}

function showError(error) {
  showErrorIn($("compare-error"), $("compare-form"), error);
  $("compare-status").textContent = `Failed: ${error.code || "ERROR"}`;
}

// ---- Running ------------------------------------------------------------------------------

async function run(submit) {
  submit.preventDefault();
  const form = submit.target, button = $("compare-run");
  button.disabled = true;
  resetView(form);
  $("compare-status").textContent = "Starting…";
  try {
    const failure = await postStream("/api/compare", compareRequest(form), {
      progress: showProgress,
      result: (answer) => showResult(answer.data),
      error: (answer) => showError(answer.error),
    }, { onStream: () => { $("compare-progress").hidden = false; } });
    if (failure) showError(failure);
  } catch (error) {
    showError({ code: "PAGE_ERROR", message: `The comparison could not be shown: ${error.message}` });
  } finally {
    button.disabled = false;
  }
}

export function initCompare() {
  FIRST_STRATEGIES.forEach(addStrategy);
  let added = FIRST_STRATEGIES.length;  // counts up even as rows go, so a new name is never taken
  $("compare-add").addEventListener("click", () => {
    addStrategy({ name: `strategy ${++added}` });
    field($("compare-strategies").lastElementChild, "name").select();
  });
  $("compare-strategies").addEventListener("click", onListClick);
  $("compare-strategies").addEventListener("change", syncRows);
  $("compare-form").addEventListener("submit", run);
}
