/// <reference lib="dom" />
/** "Copy" and "Insert at cursor" buttons on every rendered code block. */
import { button, el } from './dom.js';

/** What the code block buttons do with the block's text. */
export interface CodeActions {
  copy(code: string): void;
  insert(code: string): void;
}

function languageOf(pre: HTMLPreElement): string {
  const code = pre.querySelector('code');
  const match = /(?:^|\s)language-([\w+#.-]+)/.exec(code?.className ?? '');
  return match?.[1] ?? '';
}

/** Wraps each `<pre>` in `root` with a toolbar; the code is read when a button is pressed. */
export function decorateCodeBlocks(root: ParentNode, actions: CodeActions): void {
  for (const pre of Array.from(root.querySelectorAll('pre'))) {
    const lang = languageOf(pre);
    const codeText = (): string => (pre.textContent ?? '').replace(/\n$/, '');
    const what = lang ? `${lang} code` : 'code';
    const copy = button(
      'Copy',
      () => {
        actions.copy(codeText());
        copy.textContent = 'Copied';
        window.setTimeout(() => (copy.textContent = 'Copy'), 1500);
      },
      { ariaLabel: `Copy ${what}`, class: 'code-action' },
    );
    const insert = button('Insert at cursor', () => actions.insert(codeText()), {
      ariaLabel: `Insert ${what} at cursor`,
      class: 'code-action',
    });
    const toolbar = el(
      'div',
      { class: 'code-toolbar' },
      el('span', { class: 'code-lang', text: lang }),
      copy,
      insert,
    );
    const block = el('div', { class: 'code-block' });
    pre.replaceWith(block);
    block.append(toolbar, pre);
    // Keyboard users can scroll long lines.
    pre.tabIndex = 0;
  }
}
