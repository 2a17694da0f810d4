// Test 5: settings are validated in the UI (message, aria-invalid, Save disabled, nothing
// sent), valid ones are sent as numbers, ignore rules are saved, rejections are shown.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, lastCall, section, setup, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

/** Fills `value` into #id and says whether the UI accepted it. */
async function tryValue(page, id, value, save) {
  const field = page.locator(`#${id}`);
  await field.fill(value);
  const invalid = (await field.getAttribute("aria-invalid")) === "true";
  const message = await page.locator(`#${id}-msg`).textContent();
  const described = (await field.getAttribute("aria-describedby")).split(" ").includes(`${id}-msg`);
  return { invalid, message, described, saveDisabled: await page.getByTestId(save).isDisabled() };
}

test("app settings: invalid values are refused in the UI; valid ones are saved as numbers", async () => {
  const { page, problems } = await env.open();
  await section(page, "Settings");
  await page.waitForFunction(() => document.getElementById("poll-secs").value === "15");
  for (const bad of ["2", "99999", "abc", "", "7.5", "-5"]) {
    const r = await tryValue(page, "poll-secs", bad, "save-settings");
    assert.deepEqual(r, { invalid: true, message: "Enter a whole number of seconds from 5 to 3600.", described: true, saveDisabled: true }, bad);
    await page.locator("#poll-secs").press("Enter");
  }
  for (const bad of ["-1", "fast"]) {
    const r = await tryValue(page, "upload-kib", bad, "save-settings");
    assert.equal(r.invalid && r.saveDisabled, true, bad);
  }
  assert.equal((await calls(page, "settings_set")).length, 0, "nothing sent while invalid");

  assert.equal((await tryValue(page, "poll-secs", "30", "save-settings")).saveDisabled, true, "upload is still invalid");
  const ok = await tryValue(page, "upload-kib", "250", "save-settings");
  assert.deepEqual(ok, { invalid: false, message: "", described: true, saveDisabled: false });
  await page.locator("#download-kib").fill("0");
  await page.locator("#autostart").uncheck();
  await page.locator("#log-level").selectOption("debug");
  await page.getByTestId("save-settings").click();
  assert.deepEqual(await lastCall(page, "settings_set"), {
    settings: { poll_secs: 30, upload_kib: 250, download_kib: 0, autostart: false, log_level: "debug", logs_dir: "/home/ana/.local/share/drivesync/logs" },
  });
  await waitText(page.getByTestId("save-settings-note"), "Saved.");

  const error = "Could not save the settings: the configuration file is read-only. Check its permissions.";
  await page.evaluate((e) => window.fake.fail("settings_set", e), error);
  await page.locator("#poll-secs").fill("60");
  await page.getByTestId("save-settings").click();
  await waitText(page.getByTestId("save-settings-error"), error);
  assert.equal(await page.locator("#poll-secs").inputValue(), "60", "the form keeps what was typed");

  await page.getByTestId("open-logs").click();
  assert.deepEqual(await lastCall(page, "open_logs"), {});
  assert.deepEqual(problems, []);
});

test("pair settings: ranges checked, numbers sent; ignore rules saved; rejections shown", async () => {
  const { page, problems } = await env.open();
  await section(page, "Settings");
  await page.locator("#settings-pair").selectOption({ label: "Work" });
  await page.waitForFunction(() => document.getElementById("concurrency").value === "8");
  assert.equal(await page.locator("#docs-office").isChecked(), true);
  await page.waitForFunction(() => document.getElementById("ignore-rules").value === "build/\n*.log\n");

  const cases = [["concurrency", "0"], ["concurrency", "33"], ["concurrency", "x"], ["delete-percent", "0"], ["delete-percent", "101"], ["delete-files", "0"]];
  for (const [id, bad] of cases) {
    const r = await tryValue(page, id, bad, "save-pair-settings");
    assert.equal(r.invalid && r.described && r.saveDisabled && r.message.length > 0, true, `${id}=${bad}`);
    await page.locator(`#${id}`).fill(id === "concurrency" ? "8" : id === "delete-files" ? "50" : "10");
  }
  assert.equal((await calls(page, "pair_set")).length, 0);

  await page.locator("#concurrency").fill("16");
  await page.locator("#delete-files").fill("100");
  await page.locator("#delete-percent").fill("25");
  await page.locator("#docs-links").check();
  await page.getByTestId("save-pair-settings").click();
  assert.deepEqual(await lastCall(page, "pair_set"), {
    id: 2, settings: { concurrency: 16, delete_limit_files: 100, delete_limit_percent: 25, export_docs: false, enabled: true },
  });
  await waitText(page.getByTestId("save-pair-settings-note"), "Saved.");

  await page.evaluate(() => window.fake.fail("pair_set", "The pair “Work” no longer exists."));
  await page.getByTestId("save-pair-settings").click();
  await waitText(page.getByTestId("save-pair-settings-error"), "The pair “Work” no longer exists.");

  const rules = "build/\n*.log\n# editor files\n*.swp\n";
  await page.locator("#ignore-rules").fill(rules);
  await page.getByTestId("save-ignore").click();
  assert.deepEqual(await lastCall(page, "ignore_set"), { id: 2, text: rules });
  await waitText(page.getByTestId("save-ignore-note"), "Saved.");
  const error = "Line 2 of the ignore rules is not valid: “[abc” has an unclosed [. Fix it and save again.";
  await page.evaluate((e) => window.fake.fail("ignore_set", e), error);
  await page.locator("#ignore-rules").fill("*.tmp\n[abc\n");
  await page.getByTestId("save-ignore").click();
  await waitText(page.getByTestId("save-ignore-error"), error);
  assert.deepEqual((await calls(page, "ignore_get")).map((c) => c.args), [{ id: 1 }, { id: 2 }]);
  assert.deepEqual(problems, []);
});
