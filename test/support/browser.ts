/**
 * A real browser for the dashboard tests: Debian's chromium driven by playwright-core (browsers
 * cannot be downloaded here, so executablePath). Each page records its console errors, uncaught
 * errors, failed requests and dialogs (an alert() would mean injected script ran).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, skipOrFail } from './procs.ts';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Messages of alert/confirm/prompt dialogs (dismissed). */
  dialogs: string[];
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Compile src/web to dist/web when a module is newer than its output (a test file run alone,
 * without npm run build). File by file: the Node build also writes dist/web/shared/format.js.
 */
export function ensureWebBuilt(): void {
  const src = path.join(ROOT, 'src', 'web');
  const stale = readdirSync(src, { withFileTypes: true, recursive: true }).some((e) => {
    if (!e.isFile() || !e.name.endsWith('.ts')) return false;
    const from = path.join(e.parentPath, e.name);
    const to = path.join(ROOT, 'dist', 'web', path.relative(src, from).replace(/\.ts$/, '.js'));
    return mtime(from) > mtime(to);
  });
  if (stale) execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.web.json')], { stdio: 'inherit' });
}

/** Chromium, or null after skipping the test (failing under CI=true) when it is not installed. */
export async function launchBrowser(t: { skip(msg: string): void }): Promise<Browser | null> {
  if (!executable(CHROMIUM)) {
    skipOrFail(t, 'chromium is not installed: apt-get install -y chromium');
    return null;
  }
  ensureWebBuilt();
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 20_000 });
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A page in a fresh context that records errors and dialogs; `javaScriptEnabled: false` for the no-JS view. */
export async function watchedPage(browser: Browser, opts: { javaScriptEnabled?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ javaScriptEnabled: opts.javaScriptEnabled ?? true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // An event stream cut when the page closes or navigates is not an error of the page.
    if (!r.url().includes('/api/events')) errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.setDefaultTimeout(10_000);
  return { page, context, errors, dialogs };
}

/**
 * A page expression (the tests compile without the DOM library, so page code is a string): how
 * many pixels of canvas `selector` are not transparent.
 */
export function PAINTED_PIXELS(selector: string): string {
  return `(() => {
    const c = document.querySelector(${JSON.stringify(selector)});
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return painted;
  })()`;
}

/**
 * Wait until page expression `expression` is truthy, polling from here: page.waitForFunction
 * evaluates a string with eval inside the page, which the dashboards' CSP forbids.
 */
export async function waitForPage(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(expression).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
