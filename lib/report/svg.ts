// Small helpers shared by the hand-written SVG of the report (heatmaps, training curves):
// escaping, number formatting and a text-width estimate for layout.

/** The font stack of every SVG: DejaVu first, since it is what resvg finds on the machine. */
export const SVG_FONT = 'DejaVu Sans, Arial, sans-serif';

/** Escapes text for XML/HTML content and attribute values (task names come from users). */
export function escapeXml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `x` with `digits` decimals, never "-0.00". */
export function fixed(x: number, digits = 2): string {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A coordinate for SVG output: at most 2 decimals, no trailing zeros. */
export function num(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/**
 * Approximate rendered width of `text` in DejaVu Sans at `size` px (average advance ~0.6 em,
 * wide glyphs more). Only used to size margins, so it errs on the wide side.
 */
export function textWidth(text: string, size: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if (/[MWmw@%]/.test(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.72;
    else if (/[ijlI.,:;'|! ()/\[\]ft]/.test(ch)) em += 0.38;
    else if (ch.codePointAt(0)! > 0x2e80) em += 1.0; // CJK and other wide scripts
    else em += 0.6;
  }
  // Bold DejaVu is about 12% wider.
  return em * size * (bold ? 1.12 : 1);
}

/** Shortens `text` to at most `max` characters with an ellipsis (full text goes in a <title>). */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(1, max - 1)).join('') + '…';
}

/** "Nice" axis ticks covering [lo, hi] (1-2-5 steps, at least `minStep` apart), about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5, minStep = 0): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  // Include a tick at or past each end so data never falls outside the axis.
  if (ticks[ticks.length - 1]! < hi - step * 1e-9) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks.map((v) => Number(v.toPrecision(12)));
}

/** Tick label: as few decimals as the step needs. */
export function tickLabel(v: number, step: number): string {
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
  return fixed(v, decimals);
}
