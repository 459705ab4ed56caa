// A small hand-written SVG line chart (axes, ticks, legend) for the training curves of the
// HTML report: no charting library, so the page stays self-contained and opens offline.
import { SVG_FONT, escapeXml, niceTicks, num, textWidth, tickLabel, truncate } from './svg.js';

export interface Series {
  label: string;
  /** [x, y] points; non-finite y values break the line. */
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** x is a count (steps, epochs): no fractional ticks. */
  integerX?: boolean;
}

// Colour-blind-friendly qualitative palette (Okabe–Ito), darkened yellow for contrast on white.
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#56B4E9', '#E69F00', '#000000', '#b8a800'];
// Long runs log thousands of steps: a few hundred points per line draw the same picture.
const MAX_POINTS = 400;

/** The colour of the i-th series. */
export function seriesColour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** An SVG line chart, one line per series, with a legend on the right. */
export function lineChartSvg(options: LineChartOptions): string {
  const width = options.width ?? 460;
  const height = options.height ?? 250;
  const series = options.series.map((s) => ({ label: s.label, points: thin(s.points.filter(([x]) => Number.isFinite(x))) }));
  const finite = series.flatMap((s) => s.points.filter(([, y]) => Number.isFinite(y)));

  const legendLabels = series.map((s) => truncate(s.label, 18));
  const legendW = series.length > 0 ? Math.max(...legendLabels.map((l) => textWidth(l, 11))) + 30 : 0;
  const m = { top: 30, right: 12 + legendW, bottom: 40, left: 58 };
  const plotW = Math.max(60, width - m.left - m.right);
  const plotH = Math.max(40, height - m.top - m.bottom);
  const w = m.left + plotW + m.right;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height}" viewBox="0 0 ${w} ${height}" font-family="${SVG_FONT}" font-size="11" role="img" aria-label="${escapeXml(options.title)}">`,
    `<text x="${m.left}" y="18" font-size="13" font-weight="bold" fill="#1a1a1a">${escapeXml(truncate(options.title, 60))}</text>`,
  ];
  if (finite.length === 0) {
    out.push(`<text x="${num(m.left + plotW / 2)}" y="${num(m.top + plotH / 2)}" text-anchor="middle" fill="#777777">no data</text>`, '</svg>');
    return out.join('\n');
  }

  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y);
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), 5, options.integerX ? 1 : 0);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 4);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => m.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;

  // Grid lines and tick labels.
  for (const t of yTicks) {
    out.push(
      `<line x1="${m.left}" y1="${num(sy(t))}" x2="${m.left + plotW}" y2="${num(sy(t))}" stroke="#e6e6e6" stroke-width="1"/>`,
      `<text x="${m.left - 6}" y="${num(sy(t) + 4)}" text-anchor="end" fill="#444444">${tickLabel(t, yStep)}</text>`,
    );
  }
  for (const t of xTicks) {
    out.push(
      `<line x1="${num(sx(t))}" y1="${m.top + plotH}" x2="${num(sx(t))}" y2="${m.top + plotH + 4}" stroke="#666666" stroke-width="1"/>`,
      `<text x="${num(sx(t))}" y="${m.top + plotH + 16}" text-anchor="middle" fill="#444444">${tickLabel(t, xStep)}</text>`,
    );
  }
  // Axes and their titles.
  out.push(
    `<path d="M${m.left} ${m.top}V${m.top + plotH}H${m.left + plotW}" fill="none" stroke="#666666" stroke-width="1"/>`,
    `<text x="${num(m.left + plotW / 2)}" y="${height - 6}" text-anchor="middle" fill="#333333">${escapeXml(options.xLabel)}</text>`,
    `<text x="14" y="${num(m.top + plotH / 2)}" text-anchor="middle" fill="#333333" transform="rotate(-90 14 ${num(m.top + plotH / 2)})">${escapeXml(options.yLabel)}</text>`,
  );
  // Lines (and markers where there are few points, so a single epoch still shows).
  series.forEach((s, i) => {
    const colour = seriesColour(i);
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${num(sx(x))} ${num(sy(y))}`;
      pen = true;
    }
    if (d) out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.6" stroke-linejoin="round"/>`);
    if (s.points.length <= 12) {
      for (const [x, y] of s.points) {
        if (Number.isFinite(y)) out.push(`<circle cx="${num(sx(x))}" cy="${num(sy(y))}" r="2.6" fill="${colour}"/>`);
      }
    }
  });
  // Legend, right of the plot.
  const lx = m.left + plotW + 14;
  series.forEach((s, i) => {
    const ly = m.top + 6 + i * 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="${seriesColour(i)}" stroke-width="2.5"/>`,
      `<text x="${lx + 21}" y="${ly + 4}" fill="#333333"><title>${escapeXml(s.label)}</title>${escapeXml(legendLabels[i]!)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Keeps at most MAX_POINTS points, evenly spaced, always the last one. */
function thin(points: [number, number][]): [number, number][] {
  if (points.length <= MAX_POINTS) return points;
  const stride = Math.ceil(points.length / MAX_POINTS);
  const kept = points.filter((_, i) => i % stride === 0);
  if (kept[kept.length - 1] !== points[points.length - 1]) kept.push(points[points.length - 1]!);
  return kept;
}
