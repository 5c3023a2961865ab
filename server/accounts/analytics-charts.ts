/** The operator's analytics as SVG bar charts, drawn by shared/svg-chart.ts for the admin page. */
import type { AdminAnalyticsResponse, AdminChartsResponse } from '../../shared/account.js';
import { barChartSvg } from '../../shared/svg-chart.js';

// Plain colours, not CSS variables: the page is outside VS Code and has no theme to follow.
const BLUE = '#3b82f6';
const GREEN = '#16a34a';
const ORANGE = '#ea580c';

/** Calls and active accounts per day, top libraries, and monthly revenue per plan. */
export function analyticsCharts(a: AdminAnalyticsResponse): AdminChartsResponse {
  const days = a.daily.map((d) => d.date.slice(5));
  return {
    charts: [
      {
        id: 'calls',
        title: 'Calls per day',
        svg: barChartSvg({
          title: 'Calls per day',
          labels: days,
          series: [{ name: 'calls', color: BLUE, values: a.daily.map((d) => d.calls) }],
        }),
      },
      {
        id: 'active',
        title: 'Active accounts per day',
        svg: barChartSvg({
          title: 'Active accounts per day',
          labels: days,
          series: [
            { name: 'accounts', color: GREEN, values: a.daily.map((d) => d.activeAccounts) },
          ],
        }),
      },
      {
        id: 'libraries',
        title: 'Top libraries',
        svg: barChartSvg({
          title: 'Top libraries',
          labels: a.topLibraries.slice(0, 10).map((l) => l.libraryId),
          series: [
            {
              name: 'calls',
              color: BLUE,
              values: a.topLibraries.slice(0, 10).map((l) => l.calls),
            },
          ],
        }),
      },
      {
        id: 'revenue',
        title: 'Monthly revenue per plan (minor units)',
        svg: barChartSvg({
          title: 'Monthly revenue per plan',
          labels: a.revenueByPlan.map((r) => r.plan),
          series: [
            {
              name: 'revenue',
              color: ORANGE,
              values: a.revenueByPlan.map((r) => r.monthlyRevenue),
            },
          ],
        }),
      },
    ],
  };
}
