/**
 * The operator's admin page at `/admin`: static HTML, one script and one style sheet, all served
 * under a CSP that allows only this origin's script and style (no inline code), so markup that
 * slipped through could not run. The page holds no data itself: its script asks the admin
 * analytics routes with the key the operator pastes (kept in sessionStorage, sent as Bearer).
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ADMIN_CSS, ADMIN_ICON, ADMIN_JS } from './admin-page-assets.js';

/** The page's Content-Security-Policy: own-origin script, style and fetches only. */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page's HTML (no inline script or style). */
export function adminPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>TwinMCP admin</title>
<link rel="icon" href="/admin/favicon.svg">
<link rel="stylesheet" href="/admin/admin.css">
<script type="module" src="/admin/admin.js"></script>
</head>
<body>
<h1>TwinMCP admin</h1>
<form id="key-form">
  <label for="admin-key">Admin key</label>
  <input id="admin-key" type="password" autocomplete="off" placeholder="tmcp_...">
  <label for="days">Window</label>
  <select id="days">
    <option value="7">7 days</option>
    <option value="30" selected>30 days</option>
    <option value="90">90 days</option>
  </select>
  <button type="submit">Show analytics</button>
  <button type="button" id="forget">Forget key</button>
</form>
<p id="status" role="status">Paste an admin key (twinmcp keys create --admin); it stays in this tab only.</p>
<div id="results" hidden>
  <dl>
    <dt>Active accounts</dt><dd id="active"></dd>
    <dt>Calls</dt><dd id="calls"></dd>
    <dt>p50 latency</dt><dd id="p50"></dd>
    <dt>p95 latency</dt><dd id="p95"></dd>
  </dl>
  <div id="charts"></div>
  <h2>Top libraries</h2><table id="top-libraries"></table>
  <h2>Zero-result queries</h2><table id="zero-queries"></table>
  <h2>Revenue by plan</h2><table id="revenue"></table>
  <h2>Accounts by plan</h2><table id="plans"></table>
</div>
</body>
</html>
`;
}

function secured(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .type(type)
    .header('content-security-policy', ADMIN_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

/** `/admin` and its script, style sheet and icon: open routes serving static text only. */
export const adminPageRoutes: FastifyPluginAsync = async (app) => {
  const open = { config: { auth: 'none' as const } };
  const html = adminPageHtml();
  app.get('/admin', open, async (_request, reply) =>
    secured(reply, 'text/html; charset=utf-8').send(html),
  );
  app.get('/admin/admin.js', open, async (_request, reply) =>
    secured(reply, 'text/javascript; charset=utf-8').send(ADMIN_JS),
  );
  app.get('/admin/admin.css', open, async (_request, reply) =>
    secured(reply, 'text/css; charset=utf-8').send(ADMIN_CSS),
  );
  // Without an icon link the browser asks for /favicon.ico, a 404 in every page load's console.
  app.get('/admin/favicon.svg', open, async (_request, reply) =>
    secured(reply, 'image/svg+xml').send(ADMIN_ICON),
  );
};
