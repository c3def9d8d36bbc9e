/**
 * Builds the dashboard (collector/web/app) with esbuild's JS API, in memory, when the collector starts: no build step,
 * no committed output, and the bundle always matches the code that serves it. Output file names carry a content
 * hash, so they can be cached forever; only index.html (which names them) is revalidated.
 */
import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip as gzipCb } from 'node:zlib';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzipCb);

import { build } from 'esbuild';

const APP_DIR = join(import.meta.dirname, 'app');
export const ASSET_PREFIX = '/assets/';

export interface BuiltAsset {
  /** URL path, e.g. `/assets/main-3F2A….js`. */
  path: string;
  body: Buffer;
  contentType: string;
  /** Strong validator: the SHA-256 of the body. */
  etag: string;
  /** The body compressed once, after the build (served when the client accepts it; null until ready). */
  br: Buffer | null;
  gzip: Buffer | null;
}

export interface WebBundle {
  indexHtml: Buffer;
  indexEtag: string;
  /** Hashed assets by URL path. */
  assets: Map<string, BuiltAsset>;
  /** Wall time the build took (ms), compression not included. */
  buildMs: number;
  /** Resolves when every asset has its brotli and gzip bodies (identity is served until then). */
  compressed: Promise<void>;
  /** Bytes of the JavaScript and CSS (uncompressed, and with brotli / gzip once `compressed` resolved). */
  bytes: { js: number; css: number; jsBrotli: number; jsGzip: number };
}

export interface BundleOptions {
  /** Minify (default true): the dashboard is served as built. */
  minify?: boolean;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

function etagOf(body: Buffer | string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** The page shell: one script and one stylesheet, both external (the CSP allows no inline code). */
function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>工控安全监测平台</title>
<link rel="stylesheet" href="${escapeAttr(style)}">
<script type="module" src="${escapeAttr(script)}"></script>
</head>
<body>
<div id="app"><noscript>需要启用 JavaScript / JavaScript is required.</noscript></div>
</body>
</html>
`;
}

export async function bundleDashboard(options: BundleOptions = {}): Promise<WebBundle> {
  const started = performance.now();
  const result = await build({
    absWorkingDir: APP_DIR,
    entryPoints: [join(APP_DIR, 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16', 'edge110'],
    minify: options.minify ?? true,
    outdir: '/out',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    legalComments: 'none',
    charset: 'utf8',
    // No source maps: the app is small and readable in the repository; the collector serves only what runs.
    sourcemap: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = new Map<string, BuiltAsset>();
  let script = '';
  let style = '';
  const bytes = { js: 0, css: 0, jsBrotli: 0, jsGzip: 0 };
  const compressions: Promise<void>[] = [];
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    const ext = name.slice(name.lastIndexOf('.'));
    const body = Buffer.from(file.contents);
    const path = ASSET_PREFIX + name;
    // Compressed once, here, on libuv's thread pool (in parallel, off the event loop).
    const [br, gzip] = await Promise.all([
      brotliAsync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 7 } }),
      gzipAsync(body, { level: 7 }),
    ]);
    assets.set(path, {
      path,
      body,
      contentType: TYPES[ext] ?? 'application/octet-stream',
      etag: etagOf(body),
      br,
      gzip,
    });
    if (ext === '.js') {
      bytes.js += body.length;
      bytes.jsBrotli += br.length;
      bytes.jsGzip += gzip.length;
      if (name.startsWith('main-')) script = path;
    } else if (ext === '.css') {
      bytes.css += body.length;
      if (name.startsWith('main-')) style = path;
    }
  }
  if (script === '' || style === '') throw new Error('dashboard build produced no main script or stylesheet');
  const html = Buffer.from(indexHtml(script, style));
  return {
    indexHtml: html,
    indexEtag: etagOf(html),
    assets,
    buildMs: Math.round(performance.now() - started),
    compressed: Promise.all(compressions).then(() => undefined),
    bytes,
  };
}
