// A small horizontal bar chart as SVG text, drawn here so the suite needs
// no charting package. One chart per workload, one bar per library.
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * @param {string} title
 * @param {{ label: string, value: number, highlight?: boolean }[]} bars
 * @param {string} unit  shown after each value
 * @param {string} note  a line under the chart (machine, Node version)
 */
export function barChart(title, bars, unit, note) {
  const width = 640, left = 150, right = 120, barH = 22, gap = 8, top = 40;
  const height = top + bars.length * (barH + gap) + 30;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const scale = (width - left - right) / max;
  const fmt = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2));
  const rows = bars.map((b, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(1, b.value * scale);
    return `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(b.label)}</text>`
      + `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.highlight ? '#d9480f' : '#868e96'}"/>`
      + `<text x="${left + w + 6}" y="${y + 15}">${esc(fmt(b.value))} ${esc(unit)}</text>`;
  }).join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
  ${rows}
  <text x="${left}" y="${height - 8}" font-size="11" fill="#666">${esc(note)}</text>
</svg>
`;
}
