// What both window tests share: tauri-driver (in front of Debian's
// WebKitWebDriver) started for one app binary, a WebDriver session on it,
// screenshots into target/e2e/, and calls to the app's own commands.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Builder, By } from 'selenium-webdriver';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = join(repo, 'target', 'e2e');

export function log(message) {
  process.stdout.write(`e2e: ${message}\n`);
}

export const byTestId = (id) => By.css(`[data-testid="${id}"]`);

export async function screenshot(driver, name) {
  mkdirSync(artifacts, { recursive: true });
  const png = await driver.takeScreenshot();
  const path = join(artifacts, name);
  writeFileSync(path, Buffer.from(png, 'base64'));
  log(`screenshot: ${path}`);
}

async function waitForDriver() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch('http://127.0.0.1:4444/status');
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('tauri-driver did not start');
}

/**
 * Call one of the app's commands as its window does (a native dialog or
 * drop cannot be driven through WebDriver; the command behind it can).
 * Resolves with its result, or throws its error.
 */
export async function invoke(driver, command, args) {
  const result = await driver.executeAsyncScript(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
       .then((value) => done({ ok: value ?? null }), (e) => done({ error: JSON.stringify(e) }));`,
    command,
    args,
  );
  if (result.error !== undefined) throw new Error(`${command} failed: ${result.error}`);
  return result.ok;
}

/**
 * Start `application` in a window through tauri-driver with `env`, run
 * `test(driver)`, and always end the session; a failure leaves
 * `<name>-failure.png`.
 */
export async function withApp(application, env, name, test) {
  const driverProcess = spawn('tauri-driver', ['--port', '4444'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  let driver;
  try {
    await waitForDriver();
    driver = await new Builder()
      .usingServer('http://127.0.0.1:4444/')
      .withCapabilities({ browserName: 'wry', 'tauri:options': { application } })
      .build();
    await test(driver);
    log(`${name}: passed`);
  } catch (error) {
    if (driver) await screenshot(driver, `${name}-failure.png`).catch(() => {});
    throw error;
  } finally {
    if (driver) await driver.quit().catch(() => {});
    driverProcess.kill();
  }
}

export function fail(error) {
  process.stderr.write(`e2e: FAILED: ${error?.stack ?? error}\n`);
  process.exit(1);
}
