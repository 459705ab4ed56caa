// Fusion activation analysis (paper Fig. 4/6): the mean fusion weight each target task gives
// each adapter, per layer and over all layers, and its heatmap as SVG and PNG.
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { SETUPS, SETUP_TITLES, type FusionActivations, type RunRecord, type SetupId } from '../runs/record.js';
import { isFusionSetup } from './collect.js';
import { dedupeRuns } from './tables.js';
import { SVG_FONT, escapeXml, fixed, num, textWidth, truncate } from './svg.js';

/** A row of the matrix: one target task under one fusion setup, averaged over its seeds. */
export interface ActivationRow {
  task: string;
  setup: SetupId;
  /** What the heatmap prints: the task, plus the setup when both fusion setups are present. */
  label: string;
  seeds: number[];
  split: string;
}

export interface ActivationLayer {
  /** 0-based layer index, as in fusion_activations.json and the model's parameter names. */
  layer: number;
  /** [rows × adapters]; null where no run of the row fused that adapter in this layer. */
  values: (number | null)[][];
}

export interface ActivationMatrix {
  rows: ActivationRow[];
  /** Union of the runs' adapters, in order of first appearance. */
  adapters: string[];
  /** Only the layers where some run has fusion. */
  layers: ActivationLayer[];
  /** Per row and adapter, the mean over the layers that have a value. */
  all: (number | null)[][];
}

/** What activationMatrix needs of a run (a CollectedRun fits). */
export interface ActivationRunLike {
  record: RunRecord;
  dir?: string;
  activations: FusionActivations | null;
}

/** Averages the fusion activations over seeds per (target task, fusion setup). */
export function activationMatrix(runs: readonly ActivationRunLike[]): ActivationMatrix {
  const fusionRuns = dedupeRuns(runs).runs.filter((r) => isFusionSetup(r.record.setup) && r.activations !== null);
  const adapters: string[] = [];
  const groups = new Map<string, { task: string; setup: SetupId; acts: FusionActivations[]; seeds: number[] }>();
  for (const run of fusionRuns) {
    const acts = run.activations!;
    for (const a of acts.adapters) if (!adapters.includes(a)) adapters.push(a);
    const key = JSON.stringify([run.record.task, run.record.setup]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { task: run.record.task, setup: run.record.setup, acts: [], seeds: [] }));
    g.acts.push(acts);
    g.seeds.push(run.record.seed);
  }
  // Rows by setup (SETUPS order), then task, so the ST-A and MT-A blocks stay together.
  const list = [...groups.values()].sort(
    (a, b) => SETUPS.indexOf(a.setup) - SETUPS.indexOf(b.setup) || (a.task < b.task ? -1 : a.task > b.task ? 1 : 0),
  );
  const bothSetups = new Set(list.map((g) => g.setup)).size > 1;
  const rows: ActivationRow[] = list.map((g) => ({
    task: g.task,
    setup: g.setup,
    label: bothSetups ? `${g.task} (${SETUP_TITLES[g.setup]})` : g.task,
    seeds: g.seeds,
    split: [...new Set(g.acts.map((a) => a.split))].join('/'),
  }));

  const nLayers = Math.max(0, ...fusionRuns.map((r) => r.activations!.layers.length));
  // perLayer[l][row][adapter]: mean over the seeds whose layer l fused that adapter.
  const perLayer = Array.from({ length: nLayers }, (_, l) =>
    list.map((g) =>
      adapters.map((name) => {
        const vals: number[] = [];
        for (const acts of g.acts) {
          const i = acts.adapters.indexOf(name);
          const row = acts.layers[l];
          if (i >= 0 && row) vals.push(row[i]!);
        }
        return vals.length > 0 ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
      }),
    ),
  );
  const layers: ActivationLayer[] = [];
  perLayer.forEach((values, layer) => {
    if (values.some((row) => row.some((v) => v !== null))) layers.push({ layer, values });
  });
  const all = list.map((_, r) =>
    adapters.map((_, a) => {
      const vals = layers.map((l) => l.values[r]![a]).filter((v): v is number => v !== null);
      return vals.length > 0 ? vals.reduce((x, y) => x + y, 0) / vals.length : null;
    }),
  );
  return { rows, adapters, layers, all };
}

// ---------------------------------------------------------------------------------------------
// Heatmap SVG

export interface HeatmapOptions {
  /** Replaces the default title ("Fusion activations — layer k" / "— all layers"). */
  title?: string;
  /** Colour scale: 0..1 (default; comparable across layers) or 0..the largest value shown. */
  scale?: 'unit' | 'max';
  /** Prefix of the ids inside the SVG, unique per SVG when several are inlined in one page. */
  idPrefix?: string;
}

// Sequential white → dark blue (ColorBrewer "Blues" stops).
const BLUES = ['#ffffff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];

/** The colour of t ∈ [0, 1] on the white → dark blue scale. */
export function blue(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (BLUES.length - 1);
  const i = Math.min(BLUES.length - 2, Math.floor(x));
  const f = x - i;
  const a = hex(BLUES[i]!);
  const b = hex(BLUES[i + 1]!);
  return '#' + a.map((c, k) => Math.round(c + (b[k]! - c) * f).toString(16).padStart(2, '0')).join('');
}

function hex(c: string): number[] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
}

/** The text colour with the better WCAG contrast on `fill`: white on dark blues, near-black otherwise. */
function textColour(fill: string): string {
  const [r, g, b] = hex(fill).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast against white: 1.05 / (lum + 0.05); against #1a1a1a (luminance 0.0103): (lum + 0.05) / 0.0603.
  return 1.05 / (lum + 0.05) > (lum + 0.05) / 0.0603 ? '#ffffff' : '#1a1a1a';
}

const CELL_W = 60;
const CELL_H = 34;
const FONT = 12;
const MAX_LABEL = 40;

/**
 * A standalone SVG heatmap of one layer (0-based index into the model's layers) or 'all':
 * rows = target tasks, columns = adapters, each cell printing its value with 2 decimals.
 */
export function heatmapSvg(matrix: ActivationMatrix, layer: number | 'all', options: HeatmapOptions = {}): string {
  if (typeof matrix !== 'object' || matrix === null || !Array.isArray(matrix.rows)) throw new TypeError('matrix must be an ActivationMatrix');
  if (matrix.rows.length === 0 || matrix.adapters.length === 0) throw new InvalidArgumentError('the activation matrix is empty (no fusion runs with activations)');
  let values: (number | null)[][];
  if (layer === 'all') values = matrix.all;
  else if (Number.isInteger(layer)) {
    const found = matrix.layers.find((l) => l.layer === layer);
    if (!found) throw new InvalidArgumentError(`layer ${layer} has no fusion activations (layers: ${matrix.layers.map((l) => l.layer).join(', ')})`);
    values = found.values;
  } else throw new TypeError("layer must be an integer or 'all'");

  const scale = options.scale ?? 'unit';
  const max = Math.max(0, ...values.flat().filter((v): v is number => v !== null));
  const top = scale === 'max' && max > 0 ? max : 1;
  const id = (options.idPrefix ?? 'hm').replace(/[^A-Za-z0-9_-]/g, '_');
  const title = options.title ?? `Fusion activations — ${layer === 'all' ? 'all layers' : `layer ${layer}`}`;

  const rowLabels = matrix.rows.map((r) => truncate(r.label, MAX_LABEL));
  const colLabels = matrix.adapters.map((a) => truncate(a, MAX_LABEL));
  const rowLabelW = Math.max(...rowLabels.map((l) => textWidth(l, FONT))) + 12;
  const colW = colLabels.map((l) => textWidth(l, FONT));
  // Column labels stay horizontal while they fit a cell; otherwise they are rotated by −45°.
  const rotate = colW.some((w) => w > CELL_W - 6);
  const cos = Math.SQRT1_2;
  const colLabelH = rotate ? Math.max(...colW) * cos + FONT + 6 : FONT + 10;
  const nCols = matrix.adapters.length;
  // A rotated label runs up and to the right of its column: the last ones may pass the grid.
  const rightReach = rotate ? Math.max(...colW.map((w, i) => w * cos + FONT - (nCols - i - 0.5) * CELL_W)) : 0;

  const pad = 16;
  const titleH = 30;
  const gridX = pad + rowLabelW;
  const gridY = pad + titleH + colLabelH;
  const gridW = CELL_W * nCols;
  const gridH = CELL_H * matrix.rows.length;
  const legendX = gridX + gridW + 24;
  const legendW = 14;
  const legendH = Math.max(120, Math.min(gridH, 240));
  const legendTitle = scale === 'max' && max > 0 ? 'weight (0 … max)' : 'weight (0 … 1)';
  const legendRight = legendX + Math.max(legendW + 7 + textWidth(fixed(top), 11), textWidth(legendTitle, 11)) + 6;
  const width = Math.ceil(Math.max(legendRight, gridX + gridW + rightReach, pad + textWidth(title, 16, true)) + pad);
  const height = Math.ceil(Math.max(gridY + gridH, gridY + legendH + 22) + pad);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${SVG_FONT}" role="img" aria-label="${escapeXml(title)}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${pad}" y="${pad + 18}" font-size="16" font-weight="bold" fill="#1a1a1a">${escapeXml(title)}</text>`,
  );
  // Column labels (adapters).
  colLabels.forEach((label, a) => {
    const cx = gridX + (a + 0.5) * CELL_W;
    const full = `<title>${escapeXml(matrix.adapters[a]!)}</title>`;
    if (rotate) {
      const y = gridY - 6;
      out.push(`<text x="${num(cx)}" y="${num(y)}" font-size="${FONT}" fill="#333333" text-anchor="start" transform="rotate(-45 ${num(cx)} ${num(y)})">${full}${escapeXml(label)}</text>`);
    } else {
      out.push(`<text x="${num(cx)}" y="${num(gridY - 8)}" font-size="${FONT}" fill="#333333" text-anchor="middle">${full}${escapeXml(label)}</text>`);
    }
  });
  // Row labels (target tasks) and cells.
  matrix.rows.forEach((row, r) => {
    const y = gridY + r * CELL_H;
    out.push(`<text x="${num(gridX - 8)}" y="${num(y + CELL_H / 2 + FONT * 0.35)}" font-size="${FONT}" fill="#333333" text-anchor="end"><title>${escapeXml(row.label)}</title>${escapeXml(rowLabels[r]!)}</text>`);
    values[r]!.forEach((v, a) => {
      const x = gridX + a * CELL_W;
      const fill = v === null ? '#f2f2f2' : blue(v / top);
      const tip = `${row.label} → ${matrix.adapters[a]}: ${v === null ? 'no value' : fixed(v, 4)}`;
      out.push(`<rect x="${num(x)}" y="${num(y)}" width="${CELL_W}" height="${CELL_H}" fill="${fill}" stroke="#ffffff" stroke-width="1"><title>${escapeXml(tip)}</title></rect>`);
      out.push(`<text x="${num(x + CELL_W / 2)}" y="${num(y + CELL_H / 2 + 4)}" font-size="11" text-anchor="middle" fill="${v === null ? '#999999' : textColour(fill)}">${v === null ? '–' : fixed(v)}</text>`);
    });
  });
  // A rule between the Fusion w/ ST-A and Fusion w/ MT-A blocks of rows.
  matrix.rows.forEach((row, r) => {
    if (r > 0 && row.setup !== matrix.rows[r - 1]!.setup) {
      const y = gridY + r * CELL_H;
      out.push(`<line x1="${num(gridX - rowLabelW + 4)}" y1="${y}" x2="${gridX + gridW}" y2="${y}" stroke="#555555" stroke-width="1.5"/>`);
    }
  });
  out.push(`<rect x="${gridX}" y="${gridY}" width="${gridW}" height="${gridH}" fill="none" stroke="#bbbbbb" stroke-width="1"/>`);
  // Colour bar: top = `top`, bottom = 0, with its range stated in its title.
  const ly = gridY;
  out.push(
    `<defs><linearGradient id="${id}-bar" x1="0" y1="1" x2="0" y2="0">${BLUES.map((c, i) => `<stop offset="${num(i / (BLUES.length - 1))}" stop-color="${c}"/>`).join('')}</linearGradient></defs>`,
    // Below the bar: above it, rotated column labels may pass.
    `<text x="${num(legendX)}" y="${num(ly + legendH + 18)}" font-size="11" fill="#333333">${escapeXml(legendTitle)}</text>`,
    `<rect x="${num(legendX)}" y="${num(ly)}" width="${legendW}" height="${legendH}" fill="url(#${id}-bar)" stroke="#bbbbbb" stroke-width="1"/>`,
  );
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const ty = ly + legendH * (1 - f);
    out.push(
      `<line x1="${num(legendX + legendW)}" y1="${num(ty)}" x2="${num(legendX + legendW + 4)}" y2="${num(ty)}" stroke="#666666" stroke-width="1"/>`,
      `<text x="${num(legendX + legendW + 7)}" y="${num(ty + 4)}" font-size="11" fill="#333333">${fixed(top * f)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// PNG

const DEJAVU = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];

/** Renders an SVG to PNG at `zoom` × its size (2 by default, for crisp text on hi-dpi screens). */
export async function heatmapPng(svg: string, options: { zoom?: number } = {}): Promise<Buffer> {
  if (typeof svg !== 'string') throw new TypeError('svg must be a string');
  const zoom = options.zoom ?? 2;
  if (!(zoom > 0 && zoom <= 8)) throw new InvalidArgumentError(`zoom must be in (0, 8], got ${zoom}`);
  // Loaded on first use, so importing the report module never loads the native renderer.
  const { Resvg } = await import('@resvg/resvg-js');
  const fontFiles = DEJAVU.filter((p) => existsSync(p));
  let resvg;
  try {
    resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: zoom },
      background: '#ffffff',
      font: { loadSystemFonts: true, fontFiles, defaultFontFamily: 'DejaVu Sans' },
    });
  } catch (err) {
    throw new InvalidArgumentError(`cannot parse the SVG: ${(err as Error).message}`, { cause: err });
  }
  return resvg.render().asPng();
}
