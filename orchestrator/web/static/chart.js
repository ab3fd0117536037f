// Equity curves as inline SVG, drawn here so the page needs no library.

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 760, height: 320, left: 64, right: 16, top: 36, bottom: 32 };
const LEGEND = { width: 170, height: 20, chars: 24 };  // one entry's room, and the longest name shown

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

// One curve per line: {name, cls (its colour), series: {dates, portfolio_value}, testid?}. The
// legend runs across the top, in as many rows as the names need, and the plot moves down to fit.
export function equityChart(lines, { testid = "equity-chart", label = "Portfolio value over time" } = {}) {
  const perRow = Math.floor((CHART.width - CHART.left - CHART.right) / LEGEND.width);
  const extra = (Math.ceil(lines.length / perRow) - 1) * LEGEND.height;
  const box = { ...CHART, top: CHART.top + extra, height: CHART.height + extra };
  const points = lines.map(({ series }) => (series.dates || []).map((d, i) =>
    [Date.parse(d), series.portfolio_value[i]]).filter(([x, y]) => Number.isFinite(x + y)));
  const all = points.flat();
  if (!all.length) return svgElement("svg", { "data-testid": testid, viewBox: "0 0 760 40" });
  const scale = scales(all, box);
  const svg = svgElement("svg", {
    viewBox: `0 0 ${box.width} ${box.height}`, role: "img", "data-testid": testid, "aria-label": label,
  });
  drawAxes(svg, box, scale);
  lines.forEach((line, i) => {
    const path = points[i].map(([x, y], j) =>
      `${j ? "L" : "M"}${scale.px(x).toFixed(1)},${scale.py(y).toFixed(1)}`);
    svg.append(svgElement("path", {
      class: `line ${line.cls}`, d: path.join(""), "data-testid": line.testid || `line-${line.cls}`,
    }));
    const [column, row] = [i % perRow, Math.floor(i / perRow)];
    drawLegendEntry(svg, line, box.left + 12 + column * LEGEND.width, 16 + row * LEGEND.height);
  });
  return svg;
}

// Pixel positions of dates and values, the value axis widened to round ticks.
function scales(all, { width, height, left, right, top, bottom }) {
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => y);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 5);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  return {
    x0, x1, yTicks,
    px: (x) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right),
    py: (y) => height - bottom - ((y - y0) / (y1 - y0 || 1)) * (height - top - bottom),
  };
}

function drawAxes(svg, { width, height, left, right, top, bottom }, { x0, x1, yTicks, px, py }) {
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
}

// A swatch then the name, cut to fit its room; the whole name is the entry's tooltip.
function drawLegendEntry(svg, { name, cls }, x, y) {
  const entry = svgElement("g", { class: "legend-entry" });
  const shown = name.length > LEGEND.chars ? name.slice(0, LEGEND.chars - 1) + "…" : name;
  entry.append(
    svgElement("title", {}, name),
    svgElement("line", { class: `line ${cls}`, x1: x, x2: x + 18, y1: y, y2: y }),
    svgElement("text", { class: "legend", x: x + 24, y: y + 4 }, shown),
  );
  svg.append(entry);
}
