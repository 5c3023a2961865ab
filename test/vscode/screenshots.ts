/**
 * Screenshots of the chat panel and the account page, driven like a person would: a code-server
 * instance WITHOUT the smoke-test driver (that flag hides notifications and refuses dialogs), the
 * workbench in chromium, keys pressed and text typed. Commands are reached through key bindings
 * written to the user's keybindings.json (with `args`, so sign-in takes the key without a dialog);
 * the command palette's labels would tie the test to wording.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { startCodeServer, type HostDirs } from './code-server.js';

const KEYS = {
  signIn: 'ctrl+alt+shift+1',
  chat: 'ctrl+alt+shift+2',
  account: 'ctrl+alt+shift+3',
} as const;
const PRESS = {
  signIn: 'Control+Alt+Shift+Digit1',
  chat: 'Control+Alt+Shift+Digit2',
  account: 'Control+Alt+Shift+Digit3',
};

/** Writes the key bindings the screenshot run presses (into the instance's user data). */
export function writeScreenshotKeybindings(dirs: HostDirs, apiKey: string): void {
  const bindings = [
    { key: KEYS.signIn, command: 'twinmcp.signIn', args: { key: apiKey } },
    { key: KEYS.chat, command: 'twinmcp.chat.focus' },
    { key: KEYS.account, command: 'twinmcp.openAccount' },
  ];
  writeFileSync(join(dirs.userData, 'User', 'keybindings.json'), JSON.stringify(bindings, null, 2));
}

/** The webview content frame whose body matches `selector`, once it exists. */
async function webviewFrame(page: Page, selector: string, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame.name() === 'active-frame' || /fake\.html|index\.html/.test(frame.url())) {
        try {
          if (await frame.locator(selector).count()) return frame;
        } catch {
          // frame navigated away
        }
      }
    }
    if (Date.now() > deadline)
      throw new Error(`no webview shows ${selector} after ${timeoutMs} ms`);
    await page.waitForTimeout(250);
  }
}

async function pressCommand(page: Page, which: keyof typeof PRESS): Promise<void> {
  // Focus the editor area first so the workbench (not a webview) receives the keys.
  await page.locator('.monaco-workbench').click({ position: { x: 640, y: 400 } });
  await page.keyboard.press(PRESS[which]);
}

export interface Screenshots {
  chat: string;
  account: string;
  answerText: string;
  planText: string;
}

export async function takeScreenshots(opts: {
  dirs: HostDirs;
  browser: Browser;
  workspace: string;
  apiKey: string;
  outDir: string;
  question: string;
}): Promise<Screenshots> {
  mkdirSync(opts.outDir, { recursive: true });
  writeScreenshotKeybindings(opts.dirs, opts.apiKey);
  const host = await startCodeServer({ dirs: opts.dirs, smokeTestDriver: false });
  const context = await opts.browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`${host.url}/?folder=${encodeURIComponent(opts.workspace)}`, {
      waitUntil: 'commit',
      timeout: 120_000,
    });
    await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 60_000 });
    // The extension activates on startup finished; its status bar item says so.
    await page
      .locator('.statusbar-item', { hasText: /TwinMCP/ })
      .first()
      .waitFor({ timeout: 60_000 });

    await pressCommand(page, 'signIn');
    await pressCommand(page, 'chat');
    const chat = await webviewFrame(page, 'textarea', 60_000);
    await chat.locator('textarea').fill(opts.question);
    await chat.locator('textarea').press('Enter');
    const answer = chat.locator('.exchange .answer').last();
    await answer.waitFor({ timeout: 60_000 });
    await chat.waitForFunction(
      () => (document.querySelector('.exchange:last-child .answer')?.textContent ?? '').length > 40,
      undefined,
      { timeout: 60_000 },
    );
    const answerText = (await answer.textContent()) ?? '';
    const chatPath = join(opts.outDir, 'chat-panel.png');
    await page.screenshot({ path: chatPath });

    await pressCommand(page, 'account');
    const account = await webviewFrame(page, '.plan-name', 60_000);
    await account.locator('figure.chart svg').first().waitFor({ timeout: 30_000 });
    const planText = (await account.locator('.plan-name').first().textContent()) ?? '';
    const accountPath = join(opts.outDir, 'account-page.png');
    await page.screenshot({ path: accountPath });
    return { chat: chatPath, account: accountPath, answerText, planText };
  } finally {
    await context.close();
    await host.stop();
  }
}
