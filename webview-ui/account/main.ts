/// <reference lib="dom" />
/**
 * The account page: plan and limits, quota bars, usage charts, API keys, Upgrade and Manage
 * Billing. The last `account/data` is kept with `setState` (a new key's secret never is).
 */
import type { ApiKeyInfo } from '../../shared/account.js';
import type { HostMessage } from '../../shared/webview-protocol.js';
import { button, el, rootElement } from '../common/dom.js';
import { assertNever, createMessenger } from '../common/vscode-api.js';
import '../common/base.css';
import './account.css';
import { keysSection, secretPanel, type KeyActions } from './keys.js';
import { planSection, usageSection } from './usage.js';

type AccountData = Extract<HostMessage, { type: 'account/data' }>;

interface AccountState {
  data: AccountData | null;
}

const vscode = createMessenger<AccountState>();
let data: AccountData | null = vscode.getState()?.data ?? null;

const keyActions: KeyActions = {
  create: (name) => vscode.post({ type: 'account/createKey', name }),
  revoke: (key: ApiKeyInfo) => vscode.post({ type: 'account/revokeKey', id: key.id }),
  copy: (code) => vscode.post({ type: 'copyCode', code }),
};

const notice = el('div', { class: 'banner error', attrs: { role: 'alert', hidden: '' } });
// Outside the part re-rendered by `account/data`: the host refreshes the keys right after creating
// one, and the secret must stay visible until the user dismisses it.
const secretSlot = el('div', { class: 'secret-slot' });
const content = el('div', { class: 'content', attrs: { 'aria-live': 'polite' } });
const refresh = button('Refresh', () => vscode.post({ type: 'account/refresh' }), {
  class: 'secondary',
  ariaLabel: 'Refresh account data',
});
const signOut = button('Sign out', () => vscode.post({ type: 'signOut' }), { class: 'secondary' });
rootElement().replaceChildren(
  el(
    'main',
    { class: 'account' },
    el('header', {}, el('h1', { text: 'TwinMCP account' }), refresh, signOut),
    notice,
    secretSlot,
    content,
  ),
);

function billingSection(d: AccountData): HTMLElement | null {
  const plans = d.upgradePlans.filter((plan) => plan !== d.plan.name);
  if (d.upgradePlans.length === 0) return null;
  return el(
    'section',
    { class: 'billing', attrs: { 'aria-labelledby': 'billing-title' } },
    el('h2', { text: 'Billing', attrs: { id: 'billing-title' } }),
    el(
      'div',
      { class: 'billing-actions' },
      ...plans.map((plan) =>
        button(`Upgrade to ${plan}`, () => vscode.post({ type: 'account/upgrade', plan }), {
          ariaLabel: `Upgrade to the ${plan} plan`,
        }),
      ),
      button('Manage billing', () => vscode.post({ type: 'account/manageBilling' }), {
        class: 'secondary',
      }),
    ),
  );
}

function render(): void {
  if (!data) {
    content.replaceChildren(el('p', { class: 'muted', text: 'Loading account…' }));
    return;
  }
  refresh.hidden = false;
  signOut.hidden = false;
  content.replaceChildren(
    planSection(data.account, data.plan),
    billingSection(data) ?? '',
    usageSection(data.usage),
    keysSection(data.keys, keyActions),
  );
}

function renderSignedOut(): void {
  data = null;
  secretSlot.replaceChildren();
  refresh.hidden = true;
  signOut.hidden = true;
  content.replaceChildren(
    el(
      'section',
      { class: 'signed-out' },
      el('p', { text: 'You are not signed in to TwinMCP.' }),
      button('Sign in', () => vscode.post({ type: 'signIn' }), { ariaLabel: 'Sign in to TwinMCP' }),
    ),
  );
}

function showNotice(message: string): void {
  notice.hidden = false;
  notice.replaceChildren(
    el('span', { text: message }),
    button('Dismiss', () => (notice.hidden = true), {
      class: 'secondary',
      ariaLabel: 'Dismiss error',
    }),
  );
}

function onMessage(message: HostMessage): void {
  switch (message.type) {
    case 'account/data':
      data = message;
      notice.hidden = true;
      vscode.setState({ data });
      render();
      break;
    case 'account/signedOut':
      vscode.setState({ data: null });
      renderSignedOut();
      break;
    case 'account/keyCreated': {
      const panel = secretPanel(message.key, message.secret, keyActions);
      secretSlot.replaceChildren(panel);
      panel.querySelector('input')?.focus();
      break;
    }
    case 'error':
      showNotice(message.message);
      break;
    case 'connection':
      if (message.state.status === 'unauthorized') renderSignedOut();
      else if (message.state.status === 'offline') {
        showNotice(`Cannot reach the TwinMCP server at ${message.state.serverUrl}.`);
      }
      break;
    case 'chat/restore':
    case 'chat/event':
    case 'chat/chips':
    case 'chat/prefill':
    case 'chat/cleared':
    case 'lookup/results':
      break;
    default:
      assertNever(message);
  }
}

render();
vscode.onMessage(onMessage);
vscode.post({ type: 'ready', view: 'account' });
