/// <reference lib="dom" />
/** The question input with its library chips and the Send, Stop and Clear buttons. */
import type { LibraryChip } from '../../shared/webview-protocol.js';
import { button, el } from '../common/dom.js';

/** Typing pauses this long before the question is sent to the host for chip detection. */
const DETECT_DEBOUNCE_MS = 300;

/** What the composer asks of the view. */
export interface ComposerActions {
  send(text: string): void;
  stop(): void;
  clear(): void;
  removeChip(chip: LibraryChip): void;
  /** The question as typed (debounced), for chip detection. */
  detect(text: string): void;
  /** Every edit, so the draft survives the view being hidden. */
  draftChanged(text: string): void;
}

/** The bottom part of the chat view. */
export class Composer {
  readonly root: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly chips: HTMLElement;
  private readonly sendButton: HTMLButtonElement;
  private readonly stopButton: HTMLButtonElement;
  private busy = false;
  private detectTimer: number | undefined;

  constructor(private readonly actions: ComposerActions) {
    this.chips = el('div', {
      class: 'chips',
      attrs: { role: 'list', 'aria-label': 'Libraries the answer uses' },
    });
    this.input = el('textarea', {
      class: 'input',
      attrs: {
        id: 'chat-input',
        rows: '3',
        placeholder: 'Ask about your libraries (Enter to send, Shift+Enter for a new line)',
        'aria-describedby': 'chat-input-help',
      },
    });
    this.input.addEventListener('keydown', (event) => {
      // isComposing: Enter confirms an IME composition rather than sending.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.onInput());
    this.sendButton = button('Send', () => this.submit(), { ariaLabel: 'Send question' });
    this.stopButton = button('Stop', () => actions.stop(), {
      ariaLabel: 'Stop the answer',
      class: 'secondary',
    });
    const clear = button('Clear', () => actions.clear(), {
      ariaLabel: 'Clear the conversation',
      class: 'secondary',
    });
    this.root = el(
      'div',
      { class: 'composer' },
      this.chips,
      el('label', { class: 'visually-hidden', text: 'Question', attrs: { for: 'chat-input' } }),
      this.input,
      el('div', {
        class: 'visually-hidden',
        text: 'Enter sends, Shift+Enter adds a new line.',
        attrs: { id: 'chat-input-help' },
      }),
      el('div', { class: 'composer-actions' }, this.sendButton, this.stopButton, clear),
    );
    this.setBusy(false);
  }

  get text(): string {
    return this.input.value;
  }

  setText(text: string): void {
    this.input.value = text;
    this.actions.draftChanged(text);
  }

  focus(): void {
    this.input.focus();
  }

  /** While an answer streams, Send waits and Stop is available. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    this.sendButton.disabled = busy;
    this.stopButton.disabled = !busy;
  }

  setChips(chips: LibraryChip[]): void {
    this.chips.replaceChildren(
      ...chips.map((chip) =>
        el(
          'span',
          {
            class: `chip chip-${chip.origin}`,
            attrs: {
              role: 'listitem',
              title: `${chip.libraryId} (${chip.origin === 'workspace' ? 'from your workspace' : 'from the question'})`,
            },
          },
          el('span', { class: 'chip-label', text: chip.label }),
          button(
            '×',
            () => {
              this.actions.removeChip(chip);
              // The button goes away with its chip; keep focus somewhere useful.
              this.input.focus();
            },
            {
              ariaLabel: `Remove ${chip.label}`,
            },
          ),
        ),
      ),
    );
    this.chips.hidden = chips.length === 0;
  }

  /** Sends the typed question (unless empty or an answer is streaming) and empties the input. */
  submit(): void {
    const text = this.input.value.trim();
    if (!text || this.busy) return;
    window.clearTimeout(this.detectTimer);
    this.actions.send(text);
    this.setText('');
  }

  private onInput(): void {
    this.actions.draftChanged(this.input.value);
    window.clearTimeout(this.detectTimer);
    this.detectTimer = window.setTimeout(() => {
      const text = this.input.value.trim();
      if (text) this.actions.detect(text);
    }, DETECT_DEBOUNCE_MS);
  }
}
