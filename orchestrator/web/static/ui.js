// What every view of the page shares: reading a form into a request body, numbers as shown,
// table rows, and the error box.

// Every summary metric: its label and the decimals shown.
export const METRICS = {
  total_return_pct: ["Total return (%)", 2],
  annualized_return_pct: ["Annualised return (%)", 2],
  final_portfolio_value: ["Final value", 2],
  total_capital_invested: ["Capital invested", 2],
  max_drawdown_pct: ["Max drawdown (%)", 2],
  volatility_annualized_pct: ["Volatility (%)", 2],
  sharpe_ratio: ["Sharpe ratio", 2],
  total_trades: ["Trades", 0],
  sortino_ratio: ["Sortino ratio", 2],
  calmar_ratio: ["Calmar ratio", 2],
  max_drawdown_duration_days: ["Max drawdown duration (days)", 0],
  total_dividends_received: ["Dividends received", 2],
  total_transaction_costs: ["Transaction costs", 2],
};

export const $ = (id) => document.getElementById(id);

export function formatNumber(value, decimals = 2, signed = false) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const text = value.toLocaleString("en-US", {
    minimumFractionDigits: decimals, maximumFractionDigits: decimals,
  });
  return signed && value > 0 ? "+" + text : text;
}

export function formatMetric(field, value) {
  return formatNumber(value, METRICS[field]?.[1] ?? 2);
}

// ---- Forms -------------------------------------------------------------------------------

// Every enabled named input is a dotted path into the body, so the HTML is the one list of fields.
// A number input may say data-divisor="100": percent in, fraction out. An input marked data-list
// holds comma-separated values (data-list="number" for numbers): the first goes into the body and
// all of them into `lists`, keyed by the path.
export function readFields(form) {
  const body = {}, lists = {};
  for (const input of form.elements) {
    if (!input.name || input.matches(":disabled")) continue;
    if (input.dataset.list !== undefined) {
      lists[input.name] = readList(input);
      setPath(body, input.name.split("."), lists[input.name][0]);
    } else {
      setPath(body, input.name.split("."), readValue(input));
    }
  }
  return { body, lists };
}

function readValue(input) {
  if (input.type === "checkbox") return input.checked;
  if (input.type === "number") return input.valueAsNumber / Number(input.dataset.divisor || 1);
  return input.value;
}

function readList(input) {
  const items = input.value.split(",").map((item) => item.trim()).filter(Boolean);
  if (input.dataset.list !== "number") return items;
  return items.map((item) => Number(item) / Number(input.dataset.divisor || 1));
}

// A numeric key makes a list ("strategies.0.name"), any other an object.
function setPath(target, path, value) {
  const last = path.pop();
  path.forEach((key, i) => {
    target = target[key] ??= /^\d+$/.test(path[i + 1] ?? last) ? [] : {};
  });
  target[last] = value;
}

// A value of the body as its input shows it: a fraction back in percent for a data-divisor input.
export function shownValue(form, path, value) {
  const divisor = Number(form.querySelector(`[name="${CSS.escape(path)}"]`)?.dataset.divisor || 1);
  if (typeof value !== "number") return String(value);
  return String(Number((value * divisor).toPrecision(12)));  // -0.07 * 100 is -7.000000000000001
}

// The label of the input a path names, to head the column of that path.
export function labelOf(form, path) {
  const input = form.querySelector(`[name="${CSS.escape(path)}"]`);
  return input?.labels?.[0]?.textContent.trim() || path;
}

// ---- Tables ------------------------------------------------------------------------------

// A row with a heading cell, then one cell per [testid, text].
export function tableRow(label, cells) {
  const row = document.createElement("tr");
  const head = document.createElement("th");
  head.scope = "row";
  head.textContent = label;
  row.append(head, ...cells.map(([testid, text]) => cell(text, { testid })));
  return row;
}

export function cell(text, { tag = "td", testid, cls } = {}) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (testid) element.dataset.testid = testid;
  if (cls) element.className = cls;
  return element;
}

// ---- Progress and errors -------------------------------------------------------------------

export function setCount(counter, bar, done, total) {
  counter.textContent = `${done} / ${total ?? "?"}`;
  bar.max = total || 1;
  bar.value = done;
}

// Shows an error envelope's code and message in `box`, and the field problems of a validation
// error, each also marking the input of `form` it names.
export function showErrorIn(box, form, error) {
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
    inputFor(form, field)?.setAttribute("aria-invalid", "true");
  }
  box.replaceChildren(title, ...(list.children.length ? [list] : []));
  box.hidden = false;
}

// A sweep names a problem of one combination "grid[i].<path>": the input is the path's.
function inputFor(form, field) {
  return form.querySelector(`[name="${CSS.escape(field.replace(/^grid\[\d+\]\./, ""))}"]`);
}

export function clearError(box, form) {
  box.hidden = true;
  box.replaceChildren();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// A plain note when the prices were not real market data, from the answer's provenance
// (metadata.data_source, or a sweep's data_sources, one per market: the first not real is told);
// the CLI says the same words.
export function dataNote(meta) {
  const testData = (source) => meta.use_test_data || source.service === "test_data";
  const source = (meta.data_sources || [meta.data_source || {}]).find((s) => testData(s) || s.synthetic);
  if (!source) return "";
  const kind = testData(source) ? "the test-data fixture" : "synthetic sample data";
  const said = [source.provider && `provider ${source.provider}`, source.calendar && `${source.calendar} sessions`]
    .filter(Boolean);
  return `Note: the prices are ${kind}${said.length ? ` (${said.join(", ")})` : ""}, not real market data.`;
}

export function showDataNote(element, meta) {
  element.textContent = dataNote(meta);
  element.hidden = !element.textContent;
}
