/**
 * A small bar chart as SVG markup, used by the account page (webview) and the operator's admin page
 * (served by the backend). Colours come from CSS custom properties so each page themes it (VS Code
 * theme colours in the webview). All text is escaped; the markup holds no script and no handlers.
 */

export interface ChartSeries {
  /** Legend label. */
  name: string;
  /** CSS colour, e.g. `var(--vscode-charts-blue)`. */
  color: string;
  values: number[];
}

export interface BarChartOptions {
  /** One label per bar group (e.g. days), shown under the axis when there is room. */
  labels: string[];
  series: ChartSeries[];
  /** Accessible title (the `<title>` of the chart and its aria-label). */
  title: string;
  width?: number;
  height?: number;
}

/** Escapes text for use in XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= max) return step * magnitude;
  }
  return 10 * magnitude;
}

/** Grouped bars, one group per label, with a y axis maximum rounded up to a readable number. */
export function barChartSvg(options: BarChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 200;
  const pad = { left: 40, right: 8, top: 8, bottom: 36 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const groups = Math.max(1, options.labels.length);
  const all = options.series.flatMap((s) => s.values);
  const max = niceMax(Math.max(0, ...all));
  const groupW = plotW / groups;
  const barW = Math.max(1, (groupW * 0.8) / Math.max(1, options.series.length));
  const parts: string[] = [];
  const title = escapeXml(options.title);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" aria-label="${title}" ` +
      `viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMidYMid meet">`,
    `<title>${title}</title>`,
  );
  for (const fraction of [0, 0.5, 1]) {
    const y = pad.top + plotH * (1 - fraction);
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y}" y2="${y}" class="grid" stroke="currentColor" stroke-opacity="0.2"/>`,
      `<text x="${pad.left - 4}" y="${y + 4}" text-anchor="end" font-size="10" fill="currentColor">${formatNumber(max * fraction)}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(groups / 8));
  options.labels.forEach((label, g) => {
    options.series.forEach((series, s) => {
      const value = series.values[g] ?? 0;
      const h = (value / max) * plotH;
      const x = pad.left + g * groupW + groupW * 0.1 + s * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(pad.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" ` +
          `height="${h.toFixed(1)}" fill="${escapeXml(series.color)}"><title>${escapeXml(
            `${label} ${series.name}: ${value}`,
          )}</title></rect>`,
      );
    });
    if (g % labelEvery === 0) {
      const x = pad.left + g * groupW + groupW / 2;
      parts.push(
        `<text x="${x.toFixed(1)}" y="${height - 20}" text-anchor="middle" font-size="10" fill="currentColor">${escapeXml(label)}</text>`,
      );
    }
  });
  options.series.forEach((series, s) => {
    const x = pad.left + s * 110;
    parts.push(
      `<rect x="${x}" y="${height - 8}" width="8" height="8" fill="${escapeXml(series.color)}"/>`,
      `<text x="${x + 12}" y="${height}" font-size="10" fill="currentColor">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function formatNumber(value: number): string {
  if (value >= 1_000_000) return `${+(value / 1_000_000).toFixed(1)}M`;
  if (value >= 1000) return `${+(value / 1000).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}
