/**
 * Operator analytics (register with prefix `/api/v1`): `GET /admin/analytics` as JSON and
 * `GET /admin/analytics/charts` as SVG bar charts for the admin page. Both need an admin key (or
 * the local admin token); the auth plugin enforces that before these run.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AdminAnalyticsQuery,
  AdminAnalyticsResponse,
  AdminChartsResponse,
} from '../../shared/account.js';
import { adminAnalytics } from '../accounts/analytics.js';
import { analyticsCharts } from '../accounts/analytics-charts.js';
import type { Clock } from '../accounts/buckets.js';
import type { AccountsConfig } from '../accounts/config.js';

export interface AdminRoutesOptions {
  accounts: AccountsConfig | undefined;
  clock?: Clock | undefined;
}

/** The admin analytics routes. */
export const adminRoutes: FastifyPluginAsyncZod<AdminRoutesOptions> = async (app, opts) => {
  const clock = opts.clock ?? Date.now;
  const config = { auth: 'admin' as const };

  app.get(
    '/admin/analytics',
    {
      config,
      schema: { querystring: AdminAnalyticsQuery, response: { 200: AdminAnalyticsResponse } },
    },
    async (request) => adminAnalytics(app.engine.db, opts.accounts, clock(), request.query.days),
  );

  app.get(
    '/admin/analytics/charts',
    {
      config,
      schema: { querystring: AdminAnalyticsQuery, response: { 200: AdminChartsResponse } },
    },
    async (request) =>
      analyticsCharts(
        await adminAnalytics(app.engine.db, opts.accounts, clock(), request.query.days),
      ),
  );
};
