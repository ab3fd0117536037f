// The page: four views behind tabs (a backtest, a sweep, a comparison, the jobs), each in its own module.
// Loaded as a module, so it runs once the document is parsed.
import { initBacktest } from "./backtest.js";
import { initCompare } from "./compare.js";
import { initJobs } from "./jobs.js";
import { attachSuggestions } from "./suggest.js";
import { initSweep } from "./sweep.js";

const tabs = () => [...document.querySelectorAll('[role="tab"]')];

// Shows the view of `tab` and hides the others. Only the selected tab is in the Tab order; the
// arrow keys move between tabs (the WAI-ARIA tabs pattern).
function select(tab, { focus = false } = {}) {
  for (const other of tabs()) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  // The view is in the address, so a reload or a shared link opens the same view; what follows
  // its name (#jobs/ID: the job shown) is the view's own, and stays.
  const view = tab.dataset.view;
  const kept = location.hash.startsWith(`#${view}/`) ? location.hash : `#${view}`;
  history.replaceState(null, "", view === "backtest" ? location.pathname : kept);
  tab.dispatchEvent(new CustomEvent("view-shown", { bubbles: true }));
}


function onKey(event) {
  const all = tabs(), at = all.indexOf(event.target);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  select(all[(next + all.length) % all.length], { focus: true });
}

function initTabs() {
  for (const tab of tabs()) tab.addEventListener("click", () => select(tab));
  document.querySelector('[role="tablist"]').addEventListener("keydown", onKey);
  const linked = tabs().find((tab) => location.hash.split("/")[0] === `#${tab.dataset.view}`);
  if (linked) select(linked);
}

// Every ticker field suggests tickers as one types (suggest.js); the sweep's holds a list of them.
function initSuggestions() {
  const byId = (id) => document.getElementById(id);
  attachSuggestions(byId("ticker"), { marketType: byId("market-type") });
  attachSuggestions(byId("sweep-tickers"), { marketType: byId("sweep-market-type"), list: true });
  attachSuggestions(byId("compare-ticker"), { marketType: byId("compare-market-type") });
}

initTabs();
initBacktest();
initSweep();
initCompare();
initJobs();
initSuggestions();
