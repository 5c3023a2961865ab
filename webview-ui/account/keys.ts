/// <reference lib="dom" />
/** The account page's API keys: table with Revoke, a Create form, and a new key's secret. */
import type { ApiKeyInfo } from '../../shared/account.js';
import { button, el, formatTime } from '../common/dom.js';

/** What the keys section asks of the host. */
export interface KeyActions {
  create(name: string): void;
  revoke(key: ApiKeyInfo): void;
  copy(text: string): void;
}

function keyRow(key: ApiKeyInfo, actions: KeyActions): HTMLTableRowElement {
  const revoked = key.revokedAt !== null;
  return el(
    'tr',
    { class: revoked ? 'revoked' : '', attrs: { 'data-key-id': key.id } },
    el('td', { text: key.name }, key.admin && el('span', { class: 'badge', text: 'admin' })),
    el('td', {}, el('code', { text: `${key.prefix}…` })),
    el('td', { text: formatTime(key.createdAt) }),
    el('td', { text: key.lastUsedAt ? formatTime(key.lastUsedAt) : 'never' }),
    el('td', { text: revoked ? formatTime(key.revokedAt) : '—' }),
    el(
      'td',
      {},
      !revoked &&
        button(
          'Revoke',
          (event) => {
            (event.currentTarget as HTMLButtonElement).disabled = true;
            actions.revoke(key);
          },
          { class: 'secondary', ariaLabel: `Revoke key ${key.name}` },
        ),
    ),
  );
}

/** The keys table and the Create form. */
export function keysSection(keys: ApiKeyInfo[], actions: KeyActions): HTMLElement {
  const head = el(
    'tr',
    {},
    ...['Name', 'Prefix', 'Created', 'Last used', 'Revoked', 'Actions'].map((h) =>
      el('th', { text: h, attrs: { scope: 'col' } }),
    ),
  );
  const table = el(
    'table',
    { class: 'keys' },
    el('caption', { class: 'visually-hidden', text: 'API keys' }),
    el('thead', {}, head),
    el('tbody', {}, ...keys.map((key) => keyRow(key, actions))),
  );
  const name = el('input', {
    attrs: { id: 'new-key-name', type: 'text', maxlength: '100', placeholder: 'e.g. laptop' },
  });
  const create = button(
    'Create key',
    () => {
      const value = name.value.trim();
      if (!value) {
        name.setAttribute('aria-invalid', 'true');
        name.focus();
        return;
      }
      name.removeAttribute('aria-invalid');
      actions.create(value);
      name.value = '';
    },
    { ariaLabel: 'Create API key' },
  );
  name.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') create.click();
  });
  return el(
    'section',
    { class: 'keys-section', attrs: { 'aria-labelledby': 'keys-title' } },
    el('h2', { text: 'API keys', attrs: { id: 'keys-title' } }),
    keys.length > 0 ? table : el('p', { class: 'muted', text: 'No API keys yet.' }),
    el(
      'div',
      { class: 'create-key' },
      el('label', { text: 'New key name', attrs: { for: 'new-key-name' } }),
      name,
      create,
    ),
  );
}

/** A created key's secret, shown this once in a read-only field with a Copy button. */
export function secretPanel(key: ApiKeyInfo, secret: string, actions: KeyActions): HTMLElement {
  const field = el('input', {
    class: 'secret',
    attrs: {
      id: 'new-key-secret',
      type: 'text',
      readonly: '',
      spellcheck: 'false',
      'aria-describedby': 'new-key-note',
    },
  });
  field.value = secret;
  field.addEventListener('focus', () => field.select());
  const panel = el(
    'div',
    { class: 'secret-panel', attrs: { role: 'region', 'aria-label': `New key ${key.name}` } },
    el('label', { text: `Secret of the new key “${key.name}”`, attrs: { for: 'new-key-secret' } }),
    el(
      'div',
      { class: 'secret-row' },
      field,
      button('Copy', () => actions.copy(secret), { ariaLabel: 'Copy the new key secret' }),
    ),
    el('p', {
      class: 'shown-once',
      text: 'This secret is shown once: copy it now. TwinMCP stores only a hash and cannot show it again.',
      attrs: { id: 'new-key-note' },
    }),
  );
  panel.append(
    button('Done', () => panel.remove(), { class: 'secondary', ariaLabel: 'Hide the secret' }),
  );
  return panel;
}
