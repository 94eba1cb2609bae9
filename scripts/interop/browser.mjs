// A real headless browser for BROWSER=: `BROWSER="node scripts/interop/browser.mjs %s" codex login ...`
//
// Opens the authorize URL in headless Chromium (playwright-core driving /usr/bin/chromium, a fresh
// profile per run), fills in oidc-provider's dev login form (any account) and consent form, follows
// the redirects to http://localhost:<port>/auth/callback, waits for that page to load and prints its
// status and title. Exit 0 only when the callback page answered 200 with the "Signed in" page.
//
// Only loopback hosts are allowed: every other request is aborted, so nothing leaves the machine.
// Environment: INTEROP_CHROMIUM (default /usr/bin/chromium), INTEROP_LOGIN (default interop-user),
// INTEROP_BROWSER_RESULT (write a JSON result there), INTEROP_BROWSER_PIDFILE (write our pid there),
// INTEROP_SCREENSHOT (save a PNG of the final page there), INTEROP_BROWSER_TIMEOUT (seconds, 60).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const env = process.env;
const started = Date.now();
const log = (msg) => console.error(`browser: ${msg}`);

if (env.INTEROP_BROWSER_PIDFILE) writeFileSync(env.INTEROP_BROWSER_PIDFILE, `${process.pid}\n`);

function finish(result, code) {
  const full = { ...result, ok: code === 0, seconds: (Date.now() - started) / 1000 };
  if (env.INTEROP_BROWSER_RESULT) writeFileSync(env.INTEROP_BROWSER_RESULT, `${JSON.stringify(full)}\n`);
  return code;
}

async function run(authorizeUrl) {
  let url;
  try {
    url = new URL(authorizeUrl);
  } catch {
    log(`not a URL: ${authorizeUrl}`);
    return finish({ error: 'bad_url' }, 2);
  }
  if (!LOOPBACK.has(url.hostname)) {
    log(`refusing a non-loopback URL (host ${url.hostname})`);
    return finish({ error: 'non_loopback_url' }, 2);
  }
  const redirect = new URL(url.searchParams.get('redirect_uri') ?? 'http://localhost/');
  const callbackPrefix = `${redirect.origin}${redirect.pathname}`; // http://localhost:<port>/auth/callback
  const deadline = started + 1000 * Number(env.INTEROP_BROWSER_TIMEOUT || 60);

  const profile = mkdtempSync(join(tmpdir(), 'interop-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.INTEROP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const visited = [];
  try {
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return LOOPBACK.has(host) || LOOPBACK.has(`[${host}]`) ? route.continue() : route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let callback = null;
    page.on('response', (response) => {
      const u = new URL(response.url());
      visited.push(`${response.status()} ${u.host}${u.pathname}`); // paths only: no code or state
      if (`${u.origin}${u.pathname}` === callbackPrefix) callback = response;
    });

    log(`opening ${url.origin}${url.pathname} (callback ${callbackPrefix})`);
    await page.goto(authorizeUrl, { waitUntil: 'load', timeout: deadline - Date.now() });
    const steps = [];
    while (callback === null) {
      if (Date.now() > deadline) throw new Error(`no callback within the time limit; steps ${steps.join(' > ')}`);
      if (await page.locator('input[name="login"]').count()) {
        steps.push('login');
        await page.fill('input[name="login"]', env.INTEROP_LOGIN || 'interop-user');
        await page.fill('input[name="password"]', 'any-password');
        await page.click('button[type="submit"]', { timeout: deadline - Date.now() });
      } else if (await page.locator('input[name="prompt"][value="consent"]').count()) {
        steps.push('consent');
        await page.click('button[type="submit"]', { timeout: deadline - Date.now() });
      } else {
        const text = (await page.locator('body').innerText().catch(() => '')).slice(0, 2000);
        throw new Error(`unexpected page ${new URL(page.url()).pathname}: ${text}`);
      }
      await page.waitForLoadState('load', { timeout: Math.max(1, deadline - Date.now()) });
      if (steps.length > 6) throw new Error(`too many steps: ${steps.join(' > ')}`);
    }
    // The callback answers only after codex has exchanged the code and saved auth.json.
    await page.waitForURL((u) => `${u.origin}${u.pathname}` === callbackPrefix, { timeout: Math.max(1, deadline - Date.now()), waitUntil: 'load' });
    const title = await page.title();
    const heading = (await page.locator('h1').first().innerText().catch(() => '')).trim();
    const status = callback.status();
    if (env.INTEROP_SCREENSHOT) await page.screenshot({ path: env.INTEROP_SCREENSHOT, fullPage: true }).catch(() => {});
    console.log(`browser: steps ${steps.join(' > ')}; callback page status ${status}, title "${title}"`);
    const ok = status === 200 && /signed in/i.test(title);
    return finish({ steps, status, title, heading, visited }, ok ? 0 : 1);
  } catch (err) {
    log(`FAILED: ${err.message.split('\n')[0]}`);
    return finish({ error: err.message, visited }, 1);
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

if (process.argv.length !== 3) {
  log('usage: node browser.mjs URL');
  process.exit(2);
}
process.exitCode = await run(process.argv[2]);
