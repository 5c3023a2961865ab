/**
 * The server-rendered pages of web sign-in and device approval: pure functions from data to HTML,
 * no scripts. Every interpolated value goes through `esc`.
 */

/** Content-Security-Policy for these pages: no scripts at all, forms only to ourselves. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)} · TwinMCP</title>
<style>
body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
form{margin:1rem 0}input[type=email],input[type=text]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button,.button{display:inline-block;margin:.25rem 0;padding:.5rem 1rem;font-size:1rem;cursor:pointer}
.error{color:#b00020}.code{font-family:monospace;font-size:1.5rem;letter-spacing:.2rem}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;
}

function notice(error?: string, info?: string): string {
  return (
    (error ? `<p class="error" role="alert">${esc(error)}</p>` : '') +
    (info ? `<p role="status">${esc(info)}</p>` : '')
  );
}

export interface SigninPageData {
  csrf: string;
  next: string;
  /** The signed-in account's email (or id), when there is a session. */
  signedInAs?: string;
  email: boolean;
  oidcLabel?: string;
  github: boolean;
  error?: string;
  info?: string;
}

/** The sign-in page: every configured method, or the current account and a sign-out button. */
export function signinPage(d: SigninPageData): string {
  if (d.signedInAs !== undefined) {
    return layout(
      'Signed in',
      `${notice(d.error, d.info)}<p>Signed in as <strong>${esc(d.signedInAs)}</strong>.</p>
<form method="post" action="/signout">${hidden('csrf', d.csrf)}<button type="submit">Sign out</button></form>`,
    );
  }
  const next = encodeURIComponent(d.next);
  const methods: string[] = [];
  if (d.email) {
    methods.push(`<form method="post" action="/signin/email">
<label for="email">Email</label>
<input id="email" type="email" name="email" required autocomplete="email">
${hidden('csrf', d.csrf)}${hidden('next', d.next)}
<button type="submit">Email me a sign-in link</button>
</form>`);
  }
  if (d.oidcLabel !== undefined) {
    methods.push(
      `<p><a class="button" href="/signin/oidc?next=${next}">Sign in with ${esc(d.oidcLabel)}</a></p>`,
    );
  }
  if (d.github) {
    methods.push(
      `<p><a class="button" href="/signin/github?next=${next}">Sign in with GitHub</a></p>`,
    );
  }
  if (methods.length === 0) {
    methods.push('<p>No sign-in method is configured on this server.</p>');
  }
  return layout('Sign in', notice(d.error, d.info) + methods.join('\n'));
}

/** After the email form: where the link went. */
export function checkEmailPage(email: string): string {
  return layout(
    'Check your email',
    `<p>If <strong>${esc(email)}</strong> can receive mail, a sign-in link is on its way. It works once, for 15 minutes.</p>`,
  );
}

/** What the emailed link opens: one button that uses the token. */
export function confirmEmailPage(d: { email: string; token: string; csrf: string }): string {
  return layout(
    'Confirm sign-in',
    `<p>Sign in as <strong>${esc(d.email)}</strong>?</p>
<form method="post" action="/signin/email/confirm">${hidden('token', d.token)}${hidden('csrf', d.csrf)}
<button type="submit">Sign in</button></form>`,
  );
}

/** An error page with a way back. */
export function errorPage(title: string, message: string, back = '/signin'): string {
  return layout(
    title,
    `<p class="error" role="alert">${esc(message)}</p><p><a href="${esc(back)}">Back</a></p>`,
  );
}

/** Device flow, step 1: type the code the editor shows. */
export function deviceEnterPage(d: { csrf: string; userCode?: string; error?: string }): string {
  return layout(
    'Connect a device',
    `${notice(d.error)}<form method="post" action="/device">
<label for="user_code">Enter the code shown in your editor</label>
<input id="user_code" type="text" name="user_code" value="${esc(d.userCode ?? '')}" required autocomplete="off" autocapitalize="characters" placeholder="WDJB-MJHT">
${hidden('csrf', d.csrf)}
<button type="submit">Continue</button>
</form>`,
  );
}

/** Device flow, step 2: approve or deny, naming the account that will own the key. */
export function deviceConfirmPage(d: {
  csrf: string;
  userCode: string;
  account: string;
  client: string;
}): string {
  const form = (decision: string, label: string): string =>
    `<form method="post" action="/device/decide" style="display:inline">${hidden('csrf', d.csrf)}${hidden('user_code', d.userCode)}${hidden('decision', decision)}<button type="submit">${label}</button></form>`;
  return layout(
    'Approve this device?',
    `<p class="code">${esc(d.userCode)}</p>
<p>${esc(d.client || 'An application')} asks for an API key for <strong>${esc(d.account)}</strong>.
Approve only if this code is the one your editor shows.</p>
${form('approve', 'Approve')} ${form('deny', 'Deny')}`,
  );
}

/** Device flow, done. */
export function deviceDonePage(approved: boolean): string {
  return approved
    ? layout('Device connected', '<p>You can close this page and return to your editor.</p>')
    : layout('Request denied', '<p>No key was issued. You can close this page.</p>');
}
