/// <reference lib="dom" />
/** The account page's plan summary, quota bars and usage charts. */
import type { AccountInfo, PlanLimits, QuotaState, UsageResponse } from '../../shared/account.js';
import { barChartSvg } from '../../shared/svg-chart.js';
import { el, formatTime } from '../common/dom.js';
import { sanitizeSvg } from '../common/sanitize.js';

const QUOTA_LABELS: Record<QuotaState['quota'], string> = {
  queries: 'Documentation queries',
  hover: 'Hover lookups',
  chatTokens: 'Chat tokens',
  privateLibraries: 'Private libraries',
};

const LIMIT_LABELS: Record<keyof PlanLimits, string> = {
  queriesPerDay: 'Queries per day',
  hoverPerDay: 'Hover lookups per day',
  chatTokensPerMonth: 'Chat tokens per month',
  privateLibraries: 'Private libraries',
  requestsPerWindow: 'Requests per rate-limit window',
};

function formatCount(value: number | null): string {
  return value === null ? 'unlimited' : value.toLocaleString();
}

/** Account name, email and the plan's limits. */
export function planSection(
  account: AccountInfo,
  plan: { name: string; limits: PlanLimits },
): HTMLElement {
  const limits = el('dl', { class: 'limits' });
  for (const [key, label] of Object.entries(LIMIT_LABELS) as [keyof PlanLimits, string][]) {
    limits.append(el('dt', { text: label }), el('dd', { text: formatCount(plan.limits[key]) }));
  }
  return el(
    'section',
    { class: 'plan', attrs: { 'aria-labelledby': 'plan-title' } },
    el('h2', { text: 'Plan', attrs: { id: 'plan-title' } }),
    el(
      'p',
      {},
      el('span', { class: 'plan-name', text: plan.name }),
      ` — ${account.name}${account.email ? ` <${account.email}>` : ''}`,
    ),
    limits,
  );
}

function quotaRow(quota: QuotaState): HTMLElement {
  const label = QUOTA_LABELS[quota.quota] ?? quota.quota;
  const fraction = quota.limit ? Math.min(1, quota.used / quota.limit) : 0;
  const fill = el('div', { class: 'quota-fill' });
  // CSSOM, not a style attribute: the CSP has no 'unsafe-inline'.
  fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  fill.classList.toggle('near-limit', fraction >= 0.9);
  const bar = el(
    'div',
    {
      class: 'quota-bar',
      attrs: {
        role: 'progressbar',
        'aria-label': label,
        'aria-valuemin': '0',
        'aria-valuemax': String(quota.limit ?? quota.used),
        'aria-valuenow': String(quota.used),
      },
    },
    fill,
  );
  const numbers =
    quota.limit === null
      ? `${quota.used.toLocaleString()} used (unlimited)`
      : `${quota.used.toLocaleString()} / ${quota.limit.toLocaleString()}`;
  return el(
    'div',
    { class: `quota quota-${quota.quota}` },
    el('div', { class: 'quota-head' }, el('span', { text: label }), el('span', { text: numbers })),
    bar,
    quota.resetsAt && el('div', { class: 'muted', text: `Resets ${formatTime(quota.resetsAt)}` }),
  );
}

/** A CSS custom property's value on the page, so chart colours follow the VS Code theme. */
function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function chart(title: string, svg: string): HTMLElement {
  const figure = el('figure', { class: 'chart' }, el('figcaption', { text: title }));
  figure.append(sanitizeSvg(svg));
  return figure;
}

/** Quota bars and two charts: queries and hovers per day, chat tokens per day. */
export function usageSection(usage: UsageResponse): HTMLElement {
  const labels = usage.daily.map((day) => day.date.slice(5));
  // Colours are resolved here because `var()` inside SVG presentation attributes is not
  // supported by every engine; the theme's chart palette with readable fallbacks.
  const blue = themeColor('--vscode-charts-blue', '#3794ff');
  const green = themeColor('--vscode-charts-green', '#89d185');
  const purple = themeColor('--vscode-charts-purple', '#b180d7');
  const calls = barChartSvg({
    title: 'Queries and hover lookups per day (last 30 days)',
    labels,
    series: [
      { name: 'Queries', color: blue, values: usage.daily.map((d) => d.queries) },
      { name: 'Hover', color: green, values: usage.daily.map((d) => d.hover) },
    ],
  });
  // Tokens get their own chart: thousands of tokens would flatten the query bars to nothing.
  const tokens = barChartSvg({
    title: 'Chat tokens per day (last 30 days)',
    labels,
    series: [{ name: 'Tokens', color: purple, values: usage.daily.map((d) => d.tokens) }],
  });
  return el(
    'section',
    { class: 'usage', attrs: { 'aria-labelledby': 'usage-title' } },
    el('h2', { text: 'Usage this period', attrs: { id: 'usage-title' } }),
    el('div', { class: 'quotas' }, ...usage.quotas.map(quotaRow)),
    chart('Queries and hovers per day', calls),
    chart('Chat tokens per day', tokens),
  );
}
