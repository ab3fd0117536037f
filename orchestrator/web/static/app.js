// The backtest page: posts the form to /api/backtest, follows the Server-Sent Events stream
// (read with fetch, since EventSource can only GET), ticks off each stage, then shows the
// summary, the comparison and the two equity curves. The stages and their number come from the
// events themselves (each names its stage and carries the total), so the page lists none of its own.
"use strict";

// Summary rows: [field of summary, label, decimals shown].
const SUMMARY_ROWS = [
  ["total_return_pct", "Total return (%)", 2],
  ["annualized_return_pct", "Annualised return (%)", 2],
  ["final_portfolio_value", "Final value", 2],
  ["total_capital_invested", "Capital invested", 2],
  ["max_drawdown_pct", "Max drawdown (%)", 2],
  ["volatility_annualized_pct", "Volatility (%)", 2],
  ["sharpe_ratio", "Sharpe ratio", 2],
  ["total_trades", "Trades", 0],
];

const COMPARISON_ROWS = [
  ["excess_return_pct", "Excess return (percentage points)"],
  ["excess_sharpe", "Excess Sharpe ratio"],
  ["reduced_drawdown_pct", "Reduced drawdown (percentage points)"],
];

const $ = (id) => document.getElementById(id);

function formatNumber(value, decimals = 2, signed = false) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const text = value.toLocaleString("en-US", {
    minimumFractionDigits: decimals, maximumFractionDigits: decimals,
  });
  return signed && value > 0 ? "+" + text : text;
}

// ---- The request -------------------------------------------------------------------------

// Every enabled named input is a dotted path into the body, so the HTML is the one list of fields.
function readForm(form) {
  const body = {};
  for (const input of form.elements) {
    if (!input.name || input.matches(":disabled")) continue;
    let value = input.value;
    if (input.type === "checkbox") value = input.checked;
    else if (input.type === "number") value = input.valueAsNumber / Number(input.dataset.divisor || 1);  // percent in, fraction out
    setPath(body, input.name.split("."), value);
  }
  body.strategy_params.config ??= {};
  // The baseline buys and holds with the same money, so the comparison is like for like.
  body.baseline_params = {
    initial_capital: body.portfolio_params.initial_capital,
    reinvest_dividends: body.portfolio_params.reinvest_dividends,
  };
  return body;
}

function setPath(target, path, value) {
  const last = path.pop();
  for (const key of path) target = target[key] ??= {};
  target[last] = value;
}

// Only buy_the_dip takes a threshold and lookback; a disabled fieldset keeps them out of the body.
function syncStrategyOptions() {
  $("dip-options").disabled = $("strategy").value !== "buy_the_dip";
}

// ---- The stream --------------------------------------------------------------------------

// Reads an SSE body incrementally. Lines may end in \r\n, \r or \n, and a chunk may end anywhere,
// even between \r and \n, so only complete lines are parsed and the rest waits for the next chunk.
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = { type: "", data: [] };
  const takeLine = (line) => {
    if (line === "") {
      if (event.data.length) onEvent(event.type || "message", event.data.join("\n"));
      event = { type: "", data: [] };
    } else if (!line.startsWith(":")) {  // ":" lines are heartbeats
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event.type = value;
      else if (field === "data") event.data.push(value);
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    const cut = !done && buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(cut);
    lines.forEach(takeLine);
    if (done) return takeLine("");  // a last event without its blank line still counts
  }
}

// ---- Showing progress ----------------------------------------------------------------------

function resetView() {
  $("error-box").hidden = true;
  $("error-box").replaceChildren();
  $("results").hidden = true;
  $("progress").hidden = true;  // shown once a stream starts; a 4xx JSON answer has no stages
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  $("stages").replaceChildren();
  setCount(0, null);
}

function setCount(done, total) {
  $("progress-count").textContent = `${done} / ${total ?? "?"}`;
  $("progress-bar").max = total || 1;
  $("progress-bar").value = done;
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
  setCount(event.done, event.total);
  $("status").textContent = `Running: ${event.stage} ${event.state} (${event.done} of ${event.total} done)`;
}

// Shows an error envelope's code and message, and the field problems of a validation error.
function showError(error) {
  const box = $("error-box");
  const title = document.createElement("p");
  title.innerHTML = `<strong data-testid="error-code"></strong> <span data-testid="error-message"></span>`;
  title.children[0].textContent = error.code || "ERROR";
  title.children[1].textContent = error.message || "Something went wrong.";
  const list = document.createElement("ul");
  for (const { field, message } of error.details?.errors || []) {
    const item = document.createElement("li");
    item.dataset.testid = "field-error";
    item.innerHTML = `<code></code>: <span></span>`;
    item.children[0].textContent = field;
    item.children[1].textContent = message;
    list.append(item);
    document.querySelector(`[name="${CSS.escape(field)}"]`)?.setAttribute("aria-invalid", "true");
  }
  box.replaceChildren(title, ...(list.children.length ? [list] : []));
  box.hidden = false;
  $("status").textContent = `Failed: ${error.code || "ERROR"}`;
}

// ---- Showing the result ------------------------------------------------------------------

function showResult(data) {
  const active = data.active_strategy, baseline = data.baseline_strategy;
  $("summary").tBodies[0].replaceChildren(...SUMMARY_ROWS.map(([field, label, decimals]) =>
    tableRow(label, [["active", active.summary], ["baseline", baseline.summary]].map(([side, summary]) =>
      [`summary-${side}-${field}`, formatNumber(summary[field], decimals)]))));
  $("comparison").tBodies[0].replaceChildren(...COMPARISON_ROWS.map(([field, label]) =>
    tableRow(label, [[`comparison-${field}`, formatNumber(data.comparison[field], 2, true)]])));
  $("chart").querySelector("svg")?.remove();
  $("chart").append(equityChart([
    { name: "Strategy", cls: "active", series: active.time_series },
    { name: "Baseline (buy and hold)", cls: "baseline", series: baseline.time_series },
  ]));
  $("results").hidden = false;
  const meta = data.metadata || {};
  $("status").textContent = `Done: ${meta.ticker} ${meta.strategy_type}, ${meta.start_date} to ` +
    `${meta.end_date}, in ${formatNumber(meta.execution_time_ms, 0)} ms.`;
}

function tableRow(label, cells) {
  const row = document.createElement("tr");
  const head = document.createElement("th");
  head.scope = "row";
  head.textContent = label;
  row.append(head, ...cells.map(([testid, text]) => {
    const cell = document.createElement("td");
    cell.dataset.testid = testid;
    cell.textContent = text;
    return cell;
  }));
  return row;
}

// ---- The chart: inline SVG, drawn here so the page needs no library -----------------------

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 760, height: 320, left: 64, right: 16, top: 36, bottom: 32 };

function svgElement(tag, attributes = {}, text = "") {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text) element.textContent = text;
  return element;
}

// About `count` round values (1, 2 or 5 times a power of ten apart) covering [min, max].
function niceTicks(min, max, count) {
  const raw = (max - min) / count || Math.abs(max) || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.floor(min / step) * step; t < max + step; t += step) ticks.push(t);
  return ticks;
}

function equityChart(lines) {
  const { width, height, left, right, top, bottom } = CHART;
  const points = lines.map(({ series }) => (series.dates || []).map((d, i) =>
    [Date.parse(d), series.portfolio_value[i]]).filter(([x, y]) => Number.isFinite(x + y)));
  const all = points.flat();
  if (!all.length) return svgElement("svg", { "data-testid": "equity-chart", viewBox: "0 0 760 40" });
  const xs = all.map(([x]) => x), yTicks = niceTicks(Math.min(...all.map(([, y]) => y)),
    Math.max(...all.map(([, y]) => y)), 5);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const px = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const py = (y) => height - bottom - ((y - y0) / (y1 - y0 || 1)) * (height - top - bottom);

  const svg = svgElement("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "data-testid": "equity-chart",
    "aria-label": "Portfolio value of the strategy and the baseline over time",
  });
  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  for (const y of yTicks) {
    svg.append(svgElement("line", { class: "grid", x1: left, x2: width - right, y1: py(y), y2: py(y) }));
    svg.append(svgElement("text", { class: "tick y", x: left - 8, y: py(y) + 4 }, compact.format(y)));
  }
  const dayPrecision = x1 - x0 < 180 * 86_400_000;  // months repeat on a short range
  let previous = "";
  for (let i = 0; i <= 4; i++) {  // five dates, evenly spread
    const x = x0 + ((x1 - x0) * i) / 4;
    const label = new Date(x).toISOString().slice(0, dayPrecision ? 10 : 7);
    if (label === previous) continue;
    previous = label;
    const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";  // keep the end labels inside
    svg.append(svgElement("text", {
      class: "tick x", x: px(x), y: height - bottom + 20, "text-anchor": anchor,
    }, label));
  }
  svg.append(svgElement("line", { class: "axis", x1: left, x2: left, y1: top, y2: height - bottom }));
  svg.append(svgElement("line", {
    class: "axis", x1: left, x2: width - right, y1: height - bottom, y2: height - bottom,
  }));
  lines.forEach(({ name, cls }, i) => {
    const path = points[i].map(([x, y], j) => `${j ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    svg.append(svgElement("path", { class: `line ${cls}`, d: path.join(""), "data-testid": `line-${cls}` }));
    const legendX = left + 12 + i * 150;  // legend across the top, a swatch then the name
    svg.append(svgElement("line", { class: `line ${cls}`, x1: legendX, x2: legendX + 18, y1: 16, y2: 16 }));
    svg.append(svgElement("text", { class: "legend", x: legendX + 24, y: 20 }, name));
  });
  return svg;
}

// ---- Running ------------------------------------------------------------------------------

async function run(submit) {
  submit.preventDefault();
  const form = submit.target, button = $("run");
  button.disabled = true;
  resetView();
  $("status").textContent = "Starting…";
  let finished = false;
  try {
    const response = await fetch("/api/backtest", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(readForm(form)),
    });
    // A request that fails validation is answered as plain JSON before any stream starts.
    if (!(response.headers.get("Content-Type") || "").includes("text/event-stream")) {
      const answer = await response.json().catch(() => null);
      showError(answer?.error || { code: `HTTP_${response.status}`, message: response.statusText });
      return;
    }
    $("progress").hidden = false;
    await readEvents(response.body, (type, data) => {
      if (type === "progress") showProgress(JSON.parse(data));
      else if (type === "result") { finished = true; showResult(JSON.parse(data).data); }
      else if (type === "error") { finished = true; showError(JSON.parse(data).error); }
    });
    if (!finished) showError({ code: "STREAM_ENDED", message: "The stream ended without a result." });
  } catch (error) {
    showError({ code: "PAGE_ERROR", message: `The backtest could not be shown: ${error.message}` });
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("strategy").addEventListener("change", syncStrategyOptions);
  syncStrategyOptions();
  $("backtest-form").addEventListener("submit", run);
});
