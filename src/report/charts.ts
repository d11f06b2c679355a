/** Charts as vega-lite specs rendered to SVG in-process (no browser, no network), for the HTML report. */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { Interval } from "../eval/metrics.js";

type Row = Record<string, string | number | null | number[]>;
const FONT = {
  config: {
    font: "DejaVu Sans, Helvetica, Arial, sans-serif",
    view: { stroke: null },
    axis: { labelFontSize: 11, titleFontSize: 12 },
    legend: { labelFontSize: 11 },
  },
};

export async function toSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile({ ...FONT, ...spec } as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** An interval as a chart row's fields; over replicates, each replicate's value too (drawn as dots). */
const ci = (i: Interval) => ({ value: i.value, lo: i.lo, hi: i.hi, ...(i.replicates ? { reps: i.replicates } : {}) });

/** A grid of values; `rows` orders the y categories (default: as they first appear in the data). */
export function heatmap(
  rows: Row[],
  x: string,
  y: string,
  value: string,
  title: string,
  order?: string[],
): Record<string, unknown> {
  return {
    title,
    data: { values: rows },
    width: { step: 90 },
    height: { step: 26 },
    encoding: {
      // long task names run into each other level: slanted, never cut
      x: { field: x, type: "nominal", title: null, axis: { labelAngle: -30, labelLimit: 0 } },
      y: { field: y, type: "nominal", title: null, sort: order ?? null },
    },
    layer: [
      {
        mark: { type: "rect", tooltip: true },
        encoding: {
          color: { field: value, type: "quantitative", scale: { domain: [0.4, 1], scheme: "blues" }, title: "AUROC" },
        },
      },
      {
        // the value, and a row's `mark` (a significance sign) after it where it has one
        transform: [{ calculate: `format(datum['${value}'], '.2f') + (datum.mark || '')`, as: "label" }],
        mark: { type: "text", fontSize: 11 },
        encoding: {
          text: { field: "label", type: "nominal" },
          color: { condition: { test: `datum['${value}'] > 0.8`, value: "white" }, value: "black" },
        },
      },
    ],
  };
}

/** Bars (or points) with 95% interval whiskers, and a dot per training replicate where a row has them. */
export function barsWithCI(
  rows: (Row & { value: number; lo: number; hi: number; reps?: number[] })[],
  x: string,
  title: string,
  yTitle: string,
  o: { color?: string; domain?: [number, number]; rule?: number } = {},
): Record<string, unknown> {
  const enc = {
    x: { field: x, type: "nominal", title: null, sort: null, axis: { labelAngle: -30, labelLimit: 0 } },
    ...(o.color ? { xOffset: { field: o.color, sort: null } } : {}),
  };
  const dots = rows.flatMap(({ reps, ...r }) => (reps ?? []).map((rep) => ({ ...r, rep })));
  return {
    title,
    data: { values: rows.map(({ reps: _, ...r }) => r) },
    width: { step: o.color ? 24 : 60 },
    height: 180,
    layer: [
      // a fixed domain clips what lies outside it (a wide interval must not flatten every bar)
      {
        mark: { type: "bar", clip: !!o.domain, tooltip: true },
        encoding: {
          ...enc,
          y: {
            field: "value",
            type: "quantitative",
            title: yTitle,
            axis: { titleLimit: 0 },
            scale: o.domain ? { domain: o.domain } : {},
          },
          ...(o.color
            ? { color: { field: o.color, type: "nominal", sort: null, title: null } }
            : { color: { value: "#4c78a8" } }),
        },
      },
      {
        mark: { type: "rule", color: "#333", clip: !!o.domain },
        encoding: { ...enc, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
      ...(dots.length
        ? [
            {
              data: { values: dots },
              mark: { type: "point", filled: true, size: 18, color: "#222", opacity: 0.7, clip: !!o.domain },
              encoding: { ...enc, y: { field: "rep", type: "quantitative" } },
            },
          ]
        : []),
      ...(o.rule !== undefined
        ? [
            {
              data: { values: [{ r: o.rule }] },
              mark: { type: "rule", strokeDash: [4, 3], color: "#999" },
              encoding: { y: { field: "r", type: "quantitative" } },
            },
          ]
        : []),
    ],
  };
}

export function lineWithBand(
  rows: (Row & { value: number; lo: number; hi: number; reps?: number[] })[],
  x: string,
  title: string,
  xTitle: string,
  yTitle: string,
  /** one line per value of this field (a model), each with its band */
  o: { color?: string } = {},
): Record<string, unknown> {
  const dots = rows.flatMap(({ reps, ...r }) => (reps ?? []).map((rep) => ({ ...r, rep })));
  const color = o.color ? { color: { field: o.color, type: "nominal", sort: null, title: null } } : {};
  return {
    title,
    data: { values: rows.map(({ reps: _, ...r }) => r) },
    width: 320,
    height: 180,
    layer: [
      {
        mark: { type: "area", opacity: 0.25 },
        encoding: {
          x: { field: x, type: "quantitative", title: xTitle },
          y: { field: "lo", type: "quantitative", title: yTitle, scale: { zero: false } },
          y2: { field: "hi" },
          ...color,
        },
      },
      {
        mark: { type: "line", point: { tooltip: true } },
        encoding: { x: { field: x, type: "quantitative" }, y: { field: "value", type: "quantitative" }, ...color },
      },
      ...(dots.length
        ? [
            {
              data: { values: dots },
              mark: { type: "point", filled: true, size: 18, color: "#222", opacity: 0.7 },
              encoding: { x: { field: x, type: "quantitative" }, y: { field: "rep", type: "quantitative" } },
            },
          ]
        : []),
    ],
  };
}

export function rocChart(rows: Row[], title: string): Record<string, unknown> {
  return {
    title,
    data: { values: rows },
    width: 220,
    height: 220,
    layer: [
      {
        mark: { type: "line", interpolate: "step-after" },
        encoding: {
          x: { field: "fpr", type: "quantitative", title: "false positive rate" },
          y: { field: "tpr", type: "quantitative", title: "true positive rate" },
          color: { field: "model", type: "nominal", title: null },
          order: { field: "i", type: "quantitative" },
        },
      },
      {
        data: {
          values: [
            { a: 0, b: 0 },
            { a: 1, b: 1 },
          ],
        },
        mark: { type: "line", strokeDash: [4, 3], color: "#bbb" },
        encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
      },
    ],
  };
}

export { ci };
