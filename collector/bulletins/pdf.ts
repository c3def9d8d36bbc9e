/**
 * PDF from the self-contained HTML, printed by a headless Chromium through playwright-core (no browser download:
 * the system Chromium is used). CJK text needs a CJK font installed (Debian: fonts-noto-cjk); without one Chinese
 * characters print as boxes, so `pdfSupport()` reports both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export interface PdfOptions {
  /** Chromium binary (default $OTWATCH_CHROMIUM or /usr/bin/chromium). */
  executablePath?: string;
  /** Give up after this long (ms, default 60 s). */
  timeoutMs?: number;
}

export function chromiumPath(opts: PdfOptions = {}): string {
  return opts.executablePath ?? process.env.OTWATCH_CHROMIUM ?? DEFAULT_CHROMIUM;
}

/** Whether PDF output can be produced here, and whether Chinese will render (a CJK font is installed). */
export function pdfSupport(opts: PdfOptions = {}): { chromium: boolean; cjkFont: boolean } {
  let cjkFont = false;
  try {
    cjkFont = execFileSync('fc-list', [':lang=zh'], { encoding: 'utf8', timeout: 5000 }).trim() !== '';
  } catch {
    cjkFont = false;
  }
  return { chromium: existsSync(chromiumPath(opts)), cjkFont };
}

export class PdfUnavailableError extends Error {}

export async function htmlToPdf(html: string, opts: PdfOptions = {}): Promise<Buffer> {
  const executablePath = chromiumPath(opts);
  if (!existsSync(executablePath)) throw new PdfUnavailableError(`PDF needs Chromium (${executablePath} not found)`);
  const { chromium } = await import('playwright-core');
  const timeout = opts.timeoutMs ?? 60_000;
  const browser = await chromium.launch({
    executablePath,
    timeout,
    // Running as root in a container needs --no-sandbox; the page is our own static HTML with no scripts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ javaScriptEnabled: false });
    await page.setContent(html, { waitUntil: 'load', timeout });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true, timeout } as Parameters<
      typeof page.pdf
    >[0]);
  } finally {
    await browser.close();
  }
}
