/**
 * npm package fixtures for the npm source and API reference tests: a package folder with a README,
 * a docs folder and JSDoc'd declaration files spread over modules, packed into a real tarball with
 * `npm pack`; and hand-built tarballs for the hostile cases (`..` entries, escaping links, bombs).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const execFileAsync = promisify(execFile);

export const FIXTURE_NAME = '@fixture/widgets';
export const FIXTURE_ID = '/npm/fixture__widgets';

const INDEX_DTS = `import type { Shape } from './shapes.js';

/** Sizes a widget can take. */
export type WidgetSize = 'small' | 'medium' | 'large';

/** Colours of the built-in theme. */
export declare enum Color {
  /** The brand red. */
  Red = "red",
  Blue = "blue"
}

/** The size used when none is given. */
export declare const DEFAULT_SIZE: WidgetSize;

/** Options of {@link createWidget}. */
export interface WidgetOptions {
  /** Text shown on the widget. */
  label: string;
  /** Defaults to {@link DEFAULT_SIZE}. */
  size?: WidgetSize;
  color?: Color;
}

/** A widget on the dashboard. */
export interface Widget {
  readonly id: string;
  options: WidgetOptions;
}

/**
 * Creates a dashboard widget from a label.
 *
 * @param label - Text shown on the widget.
 * @returns The widget, not yet mounted.
 * @example
 * const w = createWidget('Revenue');
 * mount(w);
 */
export declare function createWidget(label: string): Widget;
/**
 * Creates a dashboard widget from full options.
 * @param options - Label, size and colour.
 */
export declare function createWidget(options: WidgetOptions): Widget;

/**
 * Mounts a widget into the page.
 * @deprecated Use {@link WidgetRegistry.mountAll} instead.
 */
export declare function mount(widget: Widget): void;

/** Keeps track of every widget on a dashboard. */
export declare class WidgetRegistry {
  private readonly byId;
  protected version: number;
  /** How many widgets are registered. */
  readonly size: number;
  constructor(seed?: Widget[]);
  /**
   * Registers a widget.
   * @throws {RangeError} when the id is already taken.
   */
  register(widget: Widget): this;
  /** Mounts every registered widget at once. */
  mountAll(): Promise<void>;
}

/** Grid layout helpers. */
export declare namespace Layout {
  /** Arranges widgets on a grid with the given number of columns. */
  function grid(widgets: Widget[], columns: number): Shape[];
}

export * from './shapes.js';
export { renderWidget as render } from './render.js';
`;

const SHAPES_DTS = `/** A rectangle in pixels. */
export interface Rect {
  kind: 'rect';
  width: number;
  height: number;
}
/** A circle in pixels. */
export interface Circle {
  kind: 'circle';
  radius: number;
}
/** Any shape a widget can take. */
export type Shape = Rect | Circle;
/**
 * Area of a shape in square pixels.
 * @param shape - The shape to measure.
 */
export declare function area(shape: Shape): number;
`;

const RENDER_DTS = `import type { Widget } from './index.js';
/**
 * Renders a widget to an HTML string (server-side rendering).
 * @param widget - The widget to render.
 * @returns Escaped HTML.
 */
export declare function renderWidget(widget: Widget): string;
`;

const EXTRAS_DTS = `export { area } from './shapes.js';
/** Makes a widget sparkle for a moment. */
export declare function sparkle(id: string, durationMs?: number): void;
`;

/** Writes the fixture package into `dir`; `version` and `readmeExtra` vary it between tests. */
export function writeFixturePackage(dir: string, version = '2.1.0', readmeExtra = ''): void {
  const files: Record<string, string> = {
    'package.json': JSON.stringify(
      {
        name: FIXTURE_NAME,
        version,
        description: 'Dashboard widgets with a typed API.',
        license: 'MIT',
        types: './dist/index.d.ts',
        exports: {
          '.': { types: './dist/index.d.ts', default: './dist/index.js' },
          './extras': { types: './dist/extras.d.ts', default: './dist/extras.js' },
          './package.json': './package.json',
        },
      },
      null,
      2,
    ),
    'README.md': `# Widgets\n\nDashboard widgets with a typed API: create, lay out and render widgets.\n\n## Install\n\n\`\`\`sh\nnpm install ${FIXTURE_NAME}\n\`\`\`\n${readmeExtra}`,
    'docs/guide.md': `# Guide\n\n## Theming widgets\n\nWidgets take their colour from the theme; pass \`color\` to override it per widget.\n`,
    'dist/index.d.ts': INDEX_DTS,
    'dist/shapes.d.ts': SHAPES_DTS,
    'dist/render.d.ts': RENDER_DTS,
    'dist/extras.d.ts': EXTRAS_DTS,
    'dist/index.js': 'export function createWidget() {}\n',
    'dist/extras.js': 'export function sparkle() {}\n',
    'src/secret.ts': '// not documentation, not declarations: never unpacked\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }
}

/** Packs a package folder with `npm pack` into `dest`; returns the tarball's path. */
export async function npmPack(dir: string, dest: string): Promise<string> {
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', dest],
    {
      cwd: dir,
      env: {
        ...process.env,
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      },
    },
  );
  const [info] = JSON.parse(stdout) as { filename: string }[];
  return join(dest, info!.filename);
}

export interface TarEntry {
  name: string;
  body?: string | Buffer;
  /** '0' file, '1' hard link, '2' symbolic link, '5' folder. */
  type?: '0' | '1' | '2' | '5';
  link?: string;
  /** Size written in the header when it must lie (bombs); the body is padded to it. */
  size?: number;
}

function header(name: string, size: number, type: string, link: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A gzipped ustar archive of `entries`, the way a hostile publisher could hand-craft one. */
export function buildTarball(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const size = e.size ?? (e.type === '0' || e.type === undefined ? body.length : 0);
    blocks.push(header(e.name, size, e.type ?? '0', e.link ?? ''));
    if (size > 0) {
      const data = Buffer.alloc(Math.ceil(size / 512) * 512);
      body.copy(data);
      blocks.push(data);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
