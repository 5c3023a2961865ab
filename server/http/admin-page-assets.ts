/**
 * The admin page's script and style sheet, as the text the backend serves (`/admin/admin.js`,
 * `/admin/admin.css`). Hand-written browser JavaScript in a string keeps the server free of a
 * browser build step and of DOM types; the charts arrive from the server already drawn
 * (shared/svg-chart.ts), so the script only fetches, fills tables and inserts that markup.
 */

/** The page's ES module. Reads the admin key from sessionStorage and sends it as Bearer. */
export const ADMIN_JS = String.raw`const KEY = 'twinmcp.adminKey';
const $ = (id) => document.getElementById(id);

function status(message, isError) {
  const el = $('status');
  el.textContent = message;
  el.className = isError ? 'error' : '';
}

function authHeaders() {
  const key = sessionStorage.getItem(KEY);
  return key ? { authorization: 'Bearer ' + key } : {};
}

async function getJson(path) {
  const res = await fetch(path, { headers: authHeaders(), credentials: 'same-origin' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const why = body && body.message ? body.message : 'HTTP ' + res.status;
    const err = new Error(why + ' (HTTP ' + res.status + ')');
    err.status = res.status;
    throw err;
  }
  return body;
}

function fillTable(id, columns, rows) {
  const table = $(id);
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c.label;
    head.appendChild(th);
  }
  const body = table.createTBody();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = columns.length;
    cell.textContent = 'None in this window.';
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const c of columns) tr.insertCell().textContent = c.value(row);
  }
}

function money(minor, currency) {
  if (currency === null) return '-';
  return (minor / 100).toFixed(2) + ' ' + currency.toUpperCase();
}

function render(a, charts) {
  $('active').textContent = String(a.activeAccounts);
  $('p50').textContent = a.latency.p50 === null ? '-' : a.latency.p50 + ' ms';
  $('p95').textContent = a.latency.p95 === null ? '-' : a.latency.p95 + ' ms';
  $('calls').textContent = String(a.daily.reduce((n, d) => n + d.calls, 0));
  const box = $('charts');
  box.replaceChildren();
  for (const chart of charts.charts) {
    const figure = document.createElement('figure');
    figure.dataset.chart = chart.id;
    const caption = document.createElement('figcaption');
    caption.textContent = chart.title;
    const holder = document.createElement('div');
    // Markup drawn by the server from shared/svg-chart.ts, which escapes every text it holds.
    holder.innerHTML = chart.svg;
    figure.append(caption, holder);
    box.appendChild(figure);
  }
  fillTable('top-libraries', [
    { label: 'Library', value: (r) => r.libraryId },
    { label: 'Calls', value: (r) => String(r.calls) },
  ], a.topLibraries);
  fillTable('zero-queries', [
    { label: 'Query', value: (r) => r.query },
    { label: 'Kind', value: (r) => r.kind },
    { label: 'Library', value: (r) => r.libraryId ?? '' },
    { label: 'Count', value: (r) => String(r.count) },
  ], a.zeroResultQueries);
  fillTable('revenue', [
    { label: 'Plan', value: (r) => r.plan },
    { label: 'Active subscriptions', value: (r) => String(r.subscriptions) },
    { label: 'Price / month', value: (r) => money(r.priceMonthly ?? 0, r.currency) },
    { label: 'Revenue / month', value: (r) => money(r.monthlyRevenue, r.currency) },
  ], a.revenueByPlan);
  fillTable('plans', [
    { label: 'Plan', value: (r) => r.plan },
    { label: 'Accounts', value: (r) => String(r.accounts) },
  ], a.accountsByPlan);
  $('results').hidden = false;
}

// quiet: a first try on page load, which may ride on an admin's session cookie; when refused
// (no session, not an admin) the page keeps its prompt instead of showing an error.
let latest = 0;
async function load(quiet) {
  // Only the newest load may touch the page: the quiet first try can end after a keyed one.
  const mine = ++latest;
  const days = $('days').value;
  const prompt = $('status').textContent;
  status('Loading...', false);
  try {
    const q = '?days=' + encodeURIComponent(days);
    const [analytics, charts] = await Promise.all([
      getJson('/api/v1/admin/analytics' + q),
      getJson('/api/v1/admin/analytics/charts' + q),
    ]);
    if (mine !== latest) return;
    render(analytics, charts);
    status('Last ' + analytics.days + ' days, since ' + analytics.since.slice(0, 10) + '.', false);
  } catch (err) {
    if (mine !== latest) return;
    $('results').hidden = true;
    if (quiet && (err.status === 401 || err.status === 403)) return status(prompt, false);
    status('Could not load the analytics: ' + err.message, true);
  }
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('admin-key').value.trim();
  if (key) sessionStorage.setItem(KEY, key);
  $('admin-key').value = '';
  void load(false);
});
$('forget').addEventListener('click', () => {
  latest++;
  sessionStorage.removeItem(KEY);
  $('results').hidden = true;
  status('Key forgotten.', false);
});
void load(!sessionStorage.getItem(KEY));
`;

/** The page's style sheet. */
export const ADMIN_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 64rem; padding: 1rem 1.5rem; line-height: 1.4; }
h1 { font-size: 1.4rem; }
form { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
input[type=password] { flex: 1 1 20rem; padding: 0.3rem; }
#status { min-height: 1.4em; }
#status.error { color: #b91c1c; font-weight: 600; }
dl { display: grid; grid-template-columns: repeat(4, auto); gap: 0.25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
#charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 1rem; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 0.25rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; min-width: 20rem; }
th, td { border-bottom: 1px solid #8884; padding: 0.2rem 0.6rem; text-align: left; }
`;

/** The page's icon: a bar chart's three bars. */
export const ADMIN_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">' +
  '<rect x="1" y="8" width="4" height="7" fill="#3b82f6"/>' +
  '<rect x="6" y="4" width="4" height="11" fill="#16a34a"/>' +
  '<rect x="11" y="1" width="4" height="14" fill="#ea580c"/></svg>';
