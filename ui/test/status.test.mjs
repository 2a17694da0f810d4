// Test 3: the Status section follows the `transfer` and `status` events alone (no polling),
// and its Pause/Resume/Sync now buttons send the right pair.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, emit, lastCall, section, setup, until, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

const work = { pair: 2, name: "Work", local: "/home/ana/Work", last_sync: null, pending_local: 0, failed_files: 0, watch_problem: null };

test("transfer and status events update the bars, the states and the header; nothing is polled", async () => {
  const { page, problems } = await env.open();
  await section(page, "Status");
  assert.equal((await calls(page, "status_get")).length, 1);
  await page.evaluate(() => window.fake.clearCalls());

  const row = page.locator(".transfer[data-path='Quarterly report.pdf']");
  const bar = row.locator("progress");
  const text = row.getByTestId("transfer-text");
  assert.equal(await bar.evaluate((b) => b.value), 3_400_000);
  assert.equal(await text.textContent(), "41 % · 1.2 MiB/s");

  const t = { pair: 2, path: "Quarterly report.pdf", upload: true, total: 8_200_000, finished: false };
  await emit(page, "transfer", { ...t, done: 6_150_000, bytes_per_sec: 2_400_000 });
  await waitText(text, "75 % · 2.3 MiB/s");
  assert.equal(await bar.evaluate((b) => b.value), 6_150_000);
  await emit(page, "transfer", { ...t, done: 8_000_000, bytes_per_sec: 512_000 });
  await waitText(text, "97 % · 500 KiB/s");
  assert.equal(await bar.evaluate((b) => [b.value, b.max].join("/")), "8000000/8200000");

  // A new transfer appears under its pair; a finished one goes away.
  await emit(page, "transfer", { pair: 1, path: "IMG_2001.jpg", upload: false, done: 0, total: 4096, bytes_per_sec: 0, finished: false });
  const photo = page.locator("[data-testid=status-list] [data-pair='1'] .transfer[data-path='IMG_2001.jpg']");
  await waitText(photo.getByTestId("transfer-text"), "0 % · 0.0 KiB/s");
  await emit(page, "transfer", { pair: 1, path: "IMG_2001.jpg", upload: false, done: 4096, total: 4096, bytes_per_sec: 8192, finished: true });
  await photo.waitFor({ state: "detached" });

  // Work: syncing -> idle, and the header's summary changes.
  const header = page.getByTestId("statusline");
  await waitText(header, "Syncing 2 files");
  const workState = page.locator("[data-testid=status-list] [data-pair='2'] [data-testid=pair-state]");
  await waitText(workState, "Syncing");
  const base = await page.evaluate(() => window.fake.backend.state.status);
  await emit(page, "status", {
    ...base, overall: "in_sync", summary: "Up to date", transfers: [],
    pairs: base.pairs.map((p) => (p.pair === 2 ? { ...p, state: "idle", pending_local: 0, failed_files: 0, last_sync: new Date().toISOString() } : p)),
  });
  await waitText(workState, "Up to date");
  await waitText(page.getByTestId("overall"), "Up to date");
  await until(page, () => document.getElementById("live").textContent === "drivesync: Up to date.");
  assert.equal(await page.getByTestId("summary").textContent(), "", "the summary is not repeated");
  assert.equal(await header.getAttribute("data-overall"), "in_sync");
  assert.equal(await page.locator(".transfer").count(), 0, "the status event's transfer list wins");
  await waitText(page.locator("[data-testid=status-list] [data-pair='2'] [data-testid=pair-facts]"), "Last sync just now");

  await emit(page, "status", { overall: "attention", summary: "Music: folder missing", transfers: [], pairs: [{ ...work, state: "retrying", message: "Drive did not answer. Retrying in 30 seconds." }] });
  await waitText(page.getByTestId("summary"), "Music: folder missing");
  await waitText(page.getByTestId("pair-message"), "Drive did not answer. Retrying in 30 seconds.");
  assert.equal(await page.locator("[data-testid=status-list] > li").count(), 1, "pairs no longer reported are dropped");

  // No command was called for any of this, and nothing polls.
  await page.waitForTimeout(1100);
  assert.deepEqual(await calls(page), []);
  assert.deepEqual(problems, []);
});

test("Pause/Resume and Sync now, per pair and for all", async () => {
  const { page, problems } = await env.open();
  await section(page, "Status");
  const card = (id) => page.locator(`[data-testid=status-list] [data-pair='${id}']`);
  await waitText(card(3).getByTestId("pair-state"), "Stopped: The folder is missing");
  await waitText(card(3).getByTestId("pair-message"), "Plug in the drive");
  await waitText(card(3).getByTestId("watch-problem"), "Too many folders to watch");
  await waitText(card(2).getByTestId("pair-facts"), "3 local changes waiting · 1 file failed");

  await card(1).getByTestId("pair-pause").click();
  assert.deepEqual(await lastCall(page, "pause"), { pair: 1 });
  await card(2).getByTestId("pair-sync").click();
  assert.deepEqual(await lastCall(page, "sync_now"), { pair: 2 });
  await page.getByTestId("sync-all").click();
  await until(page, () => window.fake.calls("sync_now").length === 2);
  assert.deepEqual(await lastCall(page, "sync_now"), { pair: null });
  await page.getByTestId("pause-all").click();
  assert.deepEqual(await lastCall(page, "pause"), { pair: null });

  const base = await page.evaluate(() => window.fake.backend.state.status);
  await emit(page, "status", { ...base, overall: "paused", summary: "Paused", pairs: base.pairs.map((p) => ({ ...p, state: "paused" })) });
  await waitText(card(1).getByTestId("pair-pause"), "Resume");
  await waitText(page.getByTestId("pause-all"), "Resume all");
  await card(1).getByTestId("pair-pause").click();
  assert.deepEqual(await lastCall(page, "resume"), { pair: 1 });
  await page.getByTestId("pause-all").click();
  await until(page, () => window.fake.calls("resume").length === 2);
  assert.deepEqual(await lastCall(page, "resume"), { pair: null });

  await page.evaluate(() => window.fake.fail("sync_now", "drivesync is not running. Start it and try again."));
  await card(1).getByTestId("pair-sync").click();
  await waitText(card(1).getByRole("alert"), "drivesync is not running.");
  assert.deepEqual(problems, []);
});

test("the delete guard's stop offers to move the files to the trash, after a confirmation", async () => {
  const { page, problems } = await env.open();
  await section(page, "Status");
  const card = page.locator("[data-testid=status-list] [data-pair='2']");
  const force = card.getByTestId("pair-force-deletes");
  assert.equal(await force.isVisible(), false, "offered only when the delete guard stopped the pair");
  const base = await page.evaluate(() => window.fake.backend.state.status);
  await emit(page, "status", {
    ...base, overall: "attention", summary: "Work: would delete 120 files", transfers: [],
    pairs: base.pairs.map((p) => (p.pair === 2 ? { ...p, state: "blocked", blocker: { kind: "too_many_deletes", deletes: 120 }, message: "120 files were deleted on one side." } : p)),
  });
  await waitText(card.getByTestId("pair-state"), "Would delete 120 files");
  await waitText(force, "Move 120 files to the trash…");

  // Cancel is the default and sends nothing.
  await force.click();
  const dialog = page.getByRole("dialog", { name: "Move 120 files to the trash?" });
  await waitText(dialog, "can be restored");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "hidden" });
  assert.equal((await calls(page, "sync_force_deletes")).length, 0);

  // A refusal stays in the dialog; then confirming sends the pair.
  await page.evaluate(() => window.fake.fail("sync_force_deletes", "drivesync is not running. Start it and try again."));
  await force.click();
  await page.getByTestId("confirm-deletes").click();
  await waitText(dialog.getByRole("alert"), "drivesync is not running.");
  await page.getByTestId("confirm-deletes").click();
  await dialog.waitFor({ state: "hidden" });
  assert.deepEqual(await lastCall(page, "sync_force_deletes"), { pair: 2 });
  await until(page, () => document.getElementById("live").textContent === "Syncing “Work” with its deletes.");
  assert.deepEqual(problems, []);
});

test("a folder that is missing or not mounted offers to sync it as it is, after a confirmation", async () => {
  const { page, problems } = await env.open();
  await section(page, "Status");
  const card = page.locator("[data-testid=status-list] [data-pair='2']");
  const force = card.getByTestId("pair-force-deletes");
  const base = await page.evaluate(() => window.fake.backend.state.status);
  await emit(page, "status", {
    ...base, overall: "attention", summary: "Work: the folder is missing", transfers: [],
    pairs: base.pairs.map((p) => (p.pair === 2 ? { ...p, state: "blocked", blocker: { kind: "folder_missing" }, message: "Paused: the folder is missing or not mounted." } : p)),
  });
  await waitText(card.getByTestId("pair-state"), "The folder is missing or not mounted");
  await waitText(force, "Sync anyway…");
  await force.click();
  const dialog = page.getByRole("dialog", { name: "Sync “Work” with its folder as it is?" });
  await waitText(dialog, "plug it in instead");
  await page.getByTestId("confirm-deletes").click();
  await dialog.waitFor({ state: "hidden" });
  assert.deepEqual(await lastCall(page, "sync_force_deletes"), { pair: 2 });
  await until(page, () => document.getElementById("live").textContent === "Syncing “Work” with its folder as it is.");
  assert.deepEqual(problems, []);
});
