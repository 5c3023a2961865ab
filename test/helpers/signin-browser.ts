/**
 * Just enough of a browser for sign-in tests over real sockets: a cookie jar (cookies scoped by
 * host name and path, not port, as browsers do), manual redirects, and reading HTML forms.
 */

import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../server/config.js';
import type { Db } from '../../server/db/db.js';
import { createEngine } from '../../server/engine.js';
import type { Engine } from '../../server/engine-types.js';
import { buildApp } from '../../server/http/app.js';

interface StoredCookie {
  value: string;
  path: string;
}

export interface Page {
  status: number;
  url: string;
  headers: Headers;
  text: string;
}

export interface FormData {
  action: string;
  fields: Record<string, string>;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export class Browser {
  /** host name -> cookie name -> cookie */
  private readonly jar = new Map<string, Map<string, StoredCookie>>();
  /** Every URL requested, in order. */
  readonly visited: string[] = [];

  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name)?.value;
  }

  /** One request, no redirect following; stores the cookies it sets. */
  async request(url: string, init: RequestInit = {}): Promise<Page> {
    const target = new URL(url);
    this.visited.push(target.href);
    const headers = new Headers(init.headers);
    const cookies = [...(this.jar.get(target.hostname) ?? new Map<string, StoredCookie>())]
      .filter(([, c]) => target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`);
    if (cookies.length > 0) headers.set('cookie', cookies.join('; '));
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(target, line);
    return { status: res.status, url: target.href, headers: res.headers, text: await res.text() };
  }

  /** GET (or the given request) and follow redirects, as a browser navigation does. */
  async navigate(url: string, init: RequestInit = {}, maxRedirects = 15): Promise<Page> {
    let page = await this.request(url, init);
    for (let i = 0; i < maxRedirects && page.status >= 300 && page.status < 400; i++) {
      const location = page.headers.get('location');
      if (!location) break;
      const next = new URL(location, page.url).href;
      // 303 and (for POST) 302 turn into GET, as browsers do.
      page = await this.request(next, {});
    }
    return page;
  }

  /** Submits the form whose action matches (first form when omitted), with field overrides. */
  async submit(
    page: Page,
    overrides: Record<string, string> = {},
    action?: string,
    origin = new URL(page.url).origin,
  ): Promise<Page> {
    const form = findForm(page.text, action);
    const target = new URL(form.action, page.url).href;
    return this.navigate(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({ ...form.fields, ...overrides }).toString(),
    });
  }

  private store(url: URL, line: string): void {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let expired = false;
    for (const attr of attrs) {
      const [k = '', v = ''] = attr.split('=');
      if (k.toLowerCase() === 'path') path = v;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
    }
    const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
    this.jar.set(url.hostname, cookies);
    if (expired) cookies.delete(name);
    else cookies.set(name, { value, path });
  }
}

/** The first form (or the one posting to `action`) with its input values. */
export function findForm(html: string, action?: string): FormData {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  for (const [, attrs = '', inner = ''] of forms) {
    const formAction = decodeEntities(/action="([^"]*)"/i.exec(attrs)?.[1] ?? '');
    if (action !== undefined && formAction !== action) continue;
    const fields: Record<string, string> = {};
    for (const [input = ''] of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = /name="([^"]*)"/i.exec(input)?.[1];
      if (!name) continue;
      fields[decodeEntities(name)] = decodeEntities(/value="([^"]*)"/i.exec(input)?.[1] ?? '');
    }
    return { action: formAction, fields };
  }
  throw new Error(
    `no form${action ? ` posting to ${action}` : ''} in page:\n${html.slice(0, 2000)}`,
  );
}

/** A port that was free a moment ago (the public URL must be known before the app is built). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

export interface RunningApp {
  app: FastifyInstance;
  engine: Engine;
  config: Config;
  /** http://127.0.0.1:<port>, also the public URL. */
  base: string;
  close(): Promise<void>;
}

/** The real app on a real socket over `db`, configured by `env` (plus a test session secret). */
export async function startApp(db: Db, env: Record<string, string>): Promise<RunningApp> {
  const port = env.TWINMCP_PORT ? Number(env.TWINMCP_PORT) : await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    TWINMCP_DATA_DIR: path.join(os.tmpdir(), 'twinmcp-signin-test'),
    TWINMCP_LOG_LEVEL: 'silent',
    TWINMCP_PORT: String(port),
    TWINMCP_PUBLIC_URL: base,
    TWINMCP_SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    ...env,
  });
  const engine = await createEngine({ config, db, worker: false });
  const app = await buildApp({ engine, config, boundHost: '127.0.0.1' });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    engine,
    config,
    base,
    async close() {
      await app.close();
      await engine.close();
    },
  };
}
