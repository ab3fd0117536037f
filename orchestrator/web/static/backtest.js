// The backtest view: posts the form to /api/backtest, follows its event stream, ticks off each
// stage, then shows the summary, the comparison and the two equity curves. The stages and their
// number come from the events themselves (each names its stage and carries the total), so the
// view lists none of its own.
import { equityChart } from "./chart.js";
import { postStream } from "./stream.js";
import {
  $, METRICS, clearError, formatNumber, readFields, setCount, showDataNote, showErrorIn, tableRow,
} from "./ui.js";

const SUMMARY_FIELDS = [
  "total_return_pct", "annualized_return_pct", "final_portfolio_value", "total_capital_invested",
  "max_drawdown_pct", "volatility_annualized_pct", "sharpe_ratio", "total_trades",
];

const COMPARISON_ROWS = [
  ["excess_return_pct", "Excess return (percentage points)"],
  ["excess_sharpe", "Excess Sharpe ratio"],
  ["reduced_drawdown_pct", "Reduced drawdown (percentage points)"],
];

// ---- The request -------------------------------------------------------------------------

function readForm(form) {
  const { body } = readFields(form);
  body.strategy_params.config ??= {};
  // The baseline buys and holds with the same money, so the comparison is like for like.
  body.baseline_params = {
    initial_capital: body.portfolio_params.initial_capital,
    reinvest_dividends: body.portfolio_params.reinvest_dividends,
  };
  return body;
}

// Only buy_the_dip takes a threshold and lookback; a disabled fieldset keeps them out of the body.
function syncStrategyOptions() {
  $("dip-options").disabled = $("strategy").value !== "buy_the_dip";
}

// ---- Showing progress ----------------------------------------------------------------------

function resetView() {
  clearError($("error-box"), $("backtest-form"));
  $("results").hidden = true;
  $("progress").hidden = true;  // shown once a stream starts; a 4xx JSON answer has no stages
  $("stages").replaceChildren();
  setCount($("progress-count"), $("progress-bar"), 0, null);
}

// The row of a stage, added the first time an event names it.
function stageRow(stage) {
  const found = document.querySelector(`[data-testid="stage-${CSS.escape(stage)}"]`);
  if (found) return found;
  const row = document.createElement("li");
  row.dataset.testid = `stage-${stage}`;
  row.innerHTML = `<span class="stage-name"></span> <span class="stage-detail"></span>`;
  row.firstChild.textContent = stage;
  $("stages").append(row);
  return row;
}

function showProgress(event) {
  const row = stageRow(String(event.stage));
  const state = event.state === "started" ? "running" : event.state;
  row.dataset.state = state;
  const facts = Object.entries(event.facts || {}).map(([name, n]) => `${name}: ${n}`);
  const detail = {
    running: ["running…"],
    done: ["done", `${formatNumber(event.duration_ms, 0)} ms`, ...facts],
    failed: ["failed", event.error],
    cached: [event.coalesced ? "shared with a backtest in flight" : "from the cache", ...facts],
  }[state] || [state];
  row.querySelector(".stage-detail").textContent = detail.filter(Boolean).join(" · ");
  setCount($("progress-count"), $("progress-bar"), event.done, event.total);
  $("status").textContent = `Running: ${event.stage} ${event.state} (${event.done} of ${event.total} done)`;
}

function showError(error) {
  showErrorIn($("error-box"), $("backtest-form"), error);
  $("status").textContent = `Failed: ${error.code || "ERROR"}`;
}

// ---- Showing the result ------------------------------------------------------------------

function showResult(data) {
  const active = data.active_strategy, baseline = data.baseline_strategy;
  $("summary").tBodies[0].replaceChildren(...SUMMARY_FIELDS.map((field) =>
    tableRow(METRICS[field][0], [["active", active.summary], ["baseline", baseline.summary]].map(
      ([side, summary]) => [`summary-${side}-${field}`, formatNumber(summary[field], METRICS[field][1])]))));
  $("comparison").tBodies[0].replaceChildren(...COMPARISON_ROWS.map(([field, label]) =>
    tableRow(label, [[`comparison-${field}`, formatNumber(data.comparison[field], 2, true)]])));
  $("chart").querySelector("svg")?.remove();
  $("chart").append(equityChart([
    { name: "Strategy", cls: "active", series: active.time_series },
    { name: "Baseline (buy and hold)", cls: "baseline", series: baseline.time_series },
  ], { label: "Portfolio value of the strategy and the baseline over time" }));
  $("results").hidden = false;
  const meta = data.metadata || {};
  showDataNote($("data-note"), meta);
  $("status").textContent = `Done: ${meta.ticker} ${meta.strategy_type}, ${meta.start_date} to ` +
    `${meta.end_date}, in ${formatNumber(meta.execution_time_ms, 0)} ms.`;
}

// ---- Running ------------------------------------------------------------------------------

async function run(submit) {
  submit.preventDefault();
  const button = $("run");
  button.disabled = true;
  resetView();
  $("status").textContent = "Starting…";
  try {
    const failure = await postStream("/api/backtest", readForm(submit.target), {
      progress: showProgress,
      result: (answer) => showResult(answer.data),
      error: (answer) => showError(answer.error),
    }, { onStream: () => { $("progress").hidden = false; } });
    if (failure) showError(failure);
  } catch (error) {
    showError({ code: "PAGE_ERROR", message: `The backtest could not be shown: ${error.message}` });
  } finally {
    button.disabled = false;
  }
}

export function initBacktest() {
  $("strategy").addEventListener("change", syncStrategyOptions);
  syncStrategyOptions();
  $("backtest-form").addEventListener("submit", run);
}
