// The installed app, as a new user meets it: the .deb's /usr/bin/quarry-desktop
// (scripts/package, installed with dpkg -i), started with an empty home —
// no models anywhere it looks. Its window must open on the first-run screen,
// which says what is needed and where Quarry looked; choosing the models
// (the command the screen's file dialogs call, with the repository's model
// files as "the files the person has") links them into the app's models
// folder, and after a reload the app is ready: the library opens and an
// answer model is found.
//
// Run by scripts/package-test under Xvfb; not by vitest.

import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from 'selenium-webdriver';
import { byTestId, fail, invoke, log, repo, screenshot, withApp } from './harness.mjs';

const app = process.env.QUARRY_DESKTOP_BIN ?? '/usr/bin/quarry-desktop';

async function main() {
  if (!existsSync(app)) throw new Error(`${app} is missing: install the package first (scripts/package-test)`);
  const home = mkdtempSync(join(tmpdir(), 'quarry-installed-'));
  const env = { ...process.env, HOME: home };
  for (const variable of ['XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'QUARRY_MODELS', 'QUARRY_MODEL', 'QUARRY_EMBEDDER', 'QUARRY_LIBRARY', 'HF_HOME', 'HF_HUB_CACHE']) {
    delete env[variable];
  }
  const models = join(home, '.local', 'share', 'quarry', 'models');
  try {
    await withApp(app, env, 'quarry-installed', (driver) => firstRun(driver, models));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function firstRun(driver, models) {
  const setup = await driver.wait(until.elementLocated(byTestId('setup')), 60_000);
  const text = await setup.getText();
  log(`first-run screen: ${text.slice(0, 240).replace(/\n/g, ' | ')}`);
  for (const expected of ['Set up Quarry', 'Embedding model', 'all-MiniLM-L6-v2', 'Answer model', models]) {
    if (!text.includes(expected)) throw new Error(`the first-run screen does not say "${expected}"`);
  }
  if (await (await driver.findElement(byTestId('setup-done'))).isEnabled()) {
    throw new Error('"Start using Quarry" is enabled without an embedding model');
  }
  await screenshot(driver, 'quarry-installed-first-run.png');

  await invoke(driver, 'choose_model', { kind: 'embedder', path: join(repo, 'models', 'all-MiniLM-L6-v2') });
  await invoke(driver, 'choose_model', { kind: 'answer', path: join(repo, 'models', 'gguf', 'SmolLM2-135M-Instruct.Q4_1.gguf') });
  for (const name of ['all-MiniLM-L6-v2', 'SmolLM2-135M-Instruct.Q4_1.gguf']) {
    const placed = join(models, name);
    if (!lstatSync(placed).isSymbolicLink()) throw new Error(`${placed} is not a link to the chosen model`);
    log(`${placed} -> ${readlinkSync(placed)}`);
  }
  await driver.navigate().refresh();
  await driver.wait(until.elementLocated(byTestId('question-input')), 60_000);
  if ((await driver.findElements(byTestId('setup'))).length > 0) throw new Error('the first-run screen is still shown');
  const status = await invoke(driver, 'model_status', {});
  if (!status.ready) throw new Error(`no answer model after choosing one: ${JSON.stringify(status)}`);
  const overview = await invoke(driver, 'library_overview', {});
  log(`library at ${overview.dir}; answer model ${status.name}`);
  await screenshot(driver, 'quarry-installed-ready.png');
}

main().catch(fail);
