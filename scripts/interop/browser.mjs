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
//
// Also drives django-oauth-toolkit (scripts/interop_oidc2.sh): its Django login form (username +
// INTEROP_PASSWORD) and its consent form (Authorize, or Cancel with INTEROP_DECISION=deny: then
// success is the callback page answering with a failure page, not "Signed in"). With
// INTEROP_USER_CODE set the URL is a device verification page (RFC 8628): log in, enter the code,
// Accept (or Deny), and succeed on the server's "Device authorized" (or "denied") status page.

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
  const deny = env.INTEROP_DECISION === 'deny';
  const userCode = env.INTEROP_USER_CODE || '';
  // The login hands the browser its one-shot short address (http://localhost:<port>/<path>), which
  // redirects to the sign-in URL; the callback is on the same port, at /auth/callback, under any
  // loopback name (the openai dialect's redirect URI says 127.0.0.1).
  const redirect = url.searchParams.has('redirect_uri') ? new URL(url.searchParams.get('redirect_uri')) : new URL('/auth/callback', url.origin);
  // http://localhost:<port>/auth/callback; for a device login the server's grant status page.
  const callbackPrefix = userCode ? null : `${redirect.origin}${redirect.pathname}`;
  const isCallback = (u) => LOOPBACK.has(u.hostname) && u.port === redirect.port && u.pathname === redirect.pathname;
  const isDone = (u) => (userCode ? /\/device-grant-status\/[^/]+\/[^/]+$/.test(u.pathname) : isCallback(u));
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
  const blocked = []; // hosts of aborted non-loopback requests (none expected)
  try {
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (LOOPBACK.has(host) || LOOPBACK.has(`[${host}]`)) return route.continue();
      blocked.push(host);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let callback = null;
    page.on('response', (response) => {
      const u = new URL(response.url());
      visited.push(`${response.status()} ${u.host}${u.pathname}`); // paths only: no code or state
      if (isDone(u) && response.request().isNavigationRequest()) callback = response;
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
      } else if (await page.locator('input[name="username"]').count()) {
        steps.push('login');
        await page.fill('input[name="username"]', env.INTEROP_LOGIN || 'interop-user');
        await page.fill('input[name="password"]', env.INTEROP_PASSWORD || 'any-password');
        await page.click('button[type="submit"]', { timeout: deadline - Date.now() });
      } else if (await page.locator('#authorizationForm').count()) {
        steps.push(deny ? 'deny' : 'consent');
        const button = deny ? '#authorizationForm input[type="submit"]:not([name="allow"])' : '#authorizationForm input[name="allow"]';
        await page.click(button, { timeout: deadline - Date.now() });
      } else if (userCode && (await page.locator('input[name="user_code"]').count())) {
        steps.push('user_code');
        await page.fill('input[name="user_code"]', userCode);
        await page.click('button[type="submit"]', { timeout: deadline - Date.now() });
      } else if (userCode && (await page.locator('button[name="action"][value="accept"]').count())) {
        steps.push(deny ? 'deny' : 'accept');
        await page.click(`button[name="action"][value="${deny ? 'deny' : 'accept'}"]`, { timeout: deadline - Date.now() });
      } else {
        const text = (await page.locator('body').innerText().catch(() => '')).slice(0, 2000);
        throw new Error(`unexpected page ${new URL(page.url()).pathname}: ${text}`);
      }
      await page.waitForLoadState('load', { timeout: Math.max(1, deadline - Date.now()) });
      if (steps.length > 6) throw new Error(`too many steps: ${steps.join(' > ')}`);
    }
    // The callback answers only after codex has exchanged the code and saved auth.json.
    await page.waitForURL((u) => isDone(u), { timeout: Math.max(1, deadline - Date.now()), waitUntil: 'load' });
    const title = await page.title();
    const heading = (await page.locator('h1').first().innerText().catch(() => '')).trim();
    const status = callback.status();
    if (env.INTEROP_SCREENSHOT) await page.screenshot({ path: env.INTEROP_SCREENSHOT, fullPage: true }).catch(() => {});
    console.log(`browser: steps ${steps.join(' > ')}; ${userCode ? 'status' : 'callback'} page status ${status}, title "${title}"`);
    let ok;
    if (userCode) ok = status === 200 && (deny ? /denied/i : /authori[sz]ed/i).test(heading);
    else if (deny) ok = !/signed in/i.test(title) && /not completed|failed/i.test(title);
    else ok = status === 200 && /signed in/i.test(title);
    return finish({ steps, status, title, heading, visited, blocked }, ok ? 0 : 1);
  } catch (err) {
    log(`FAILED: ${err.message.split('\n')[0]}`);
    return finish({ error: err.message, visited, blocked }, 1);
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
