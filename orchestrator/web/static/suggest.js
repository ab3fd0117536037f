// Ticker suggestions as one types: the WAI-ARIA combobox pattern (a list, nothing chosen unasked)
// over GET /api/tickers/search. The field stays a plain text field: a search that fails or finds
// nothing shows no list, and what is typed is what is sent.

import { fetchAsCaller } from "./credential.js";

const DEBOUNCE_MS = 150;
const LIMIT = 8;

// Makes `input` a combobox. Choosing a suggestion writes its symbol and sets `marketType` (a
// select) to its kind when the select has that option. With `list`, the field holds comma-separated
// tickers: the last one is searched and replaced, and the market type is set only for a single one.
export function attachSuggestions(input, { marketType = null, list = false } = {}) {
  const box = document.createElement("ul");
  box.id = `${input.id}-suggestions`;
  box.className = "suggestions";
  box.setAttribute("role", "listbox");
  // Not named after the field: a label holding the field's name would be found for it too.
  box.setAttribute("aria-label", "Suggestions");
  box.dataset.testid = box.id;
  box.hidden = true;
  // The list is positioned under the input, not under whatever else the field holds (a hint).
  const anchor = document.createElement("div");
  anchor.className = "suggest";
  input.replaceWith(anchor);
  anchor.append(input, box);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", box.id);

  let timer = null, pending = null, results = [], active = -1;

  const term = () => (list ? input.value.split(",").at(-1) : input.value).trim();

  function close() {
    box.hidden = true;
    box.replaceChildren();
    results = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function show(found, first) {
    if (document.activeElement !== input || !found.length) return close();
    results = found;
    box.replaceChildren(...found.map(option));
    box.hidden = false;
    input.setAttribute("aria-expanded", "true");
    highlight(first ? 0 : -1);
  }

  function option(result, index) {
    const item = document.createElement("li");
    item.id = `${box.id}-${index}`;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    item.dataset.testid = "suggestion";
    for (const part of ["symbol", "name", "kind"]) {
      const text = document.createElement("span");
      text.className = part;
      text.textContent = result[part];
      item.append(text, " ");
    }
    item.addEventListener("mousedown", (event) => event.preventDefault());  // the input keeps the focus
    item.addEventListener("click", () => choose(index));
    return item;
  }

  function highlight(index) {
    active = index;
    [...box.children].forEach((item, i) => item.setAttribute("aria-selected", String(i === index)));
    if (index < 0) return input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-activedescendant", box.children[index].id);
    box.children[index].scrollIntoView({ block: "nearest" });
  }

  function choose(index) {
    const { symbol, kind } = results[index];
    const parts = list ? input.value.split(",") : [];
    input.value = list ? [...parts.slice(0, -1), (parts.length > 1 ? " " : "") + symbol].join(",") : symbol;
    const single = !list || parts.length === 1;
    if (marketType && single && [...marketType.options].some((o) => o.value === kind)) marketType.value = kind;
    close();
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // `first`: the list opens on its first option (asked for with the Down arrow).
  async function search(first = false) {
    clearTimeout(timer);
    pending?.abort();
    const q = term();
    if (!q) return close();
    const mine = (pending = new AbortController());
    try {
      const query = new URLSearchParams({ q: q.slice(0, 50), limit: String(LIMIT) });
      const response = await fetchAsCaller(`/api/tickers/search?${query}`, {
        signal: mine.signal, headers: { Accept: "application/json" },
      }, { ask: false });  // typing never opens a prompt: a run asks for the key
      const answer = await response.json();
      if (mine === pending) show(response.ok && answer.success ? answer.data.results : [], first);
    } catch {
      if (mine === pending) close();  // silent: the field works as plain text
    }
  }

  function onKey(event) {
    if (event.isComposing) return;
    const open = !box.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) return void search(event.key === "ArrowDown");
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight(active < 0 && step < 0 ? results.length - 1 : (active + step + results.length) % results.length);
    } else if (event.key === "Enter" && open) {
      if (active < 0) return close();  // nothing chosen: Enter does what it always does
      event.preventDefault();  // chooses; it does not submit the form
      choose(active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => {
    clearTimeout(timer);
    pending?.abort();
    close();
  });
}
