// Test 2: adding a pair (picked folder and typed path), the Drive browser, the preview;
// and the list's enable switch and Remove confirmation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, emit, lastCall, section, setup, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

test("add a pair with a picked folder, a new Drive folder and the preview", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  await page.getByTestId("add-pair").click();
  assert.equal(await page.getByTestId("next").isDisabled(), true, "Next needs a folder");

  await page.getByTestId("choose-local").click();
  await page.waitForFunction(() => document.getElementById("local-path").value === "/home/ana/Documents/Taxes");
  const dialog = await lastCall(page, "plugin:dialog|open");
  assert.equal(dialog.options.directory, true);
  await page.getByTestId("next").click();

  // Step 2: My Drive, then into Work.
  const folders = page.getByTestId("drive-folders");
  await waitText(folders, "Shared projects");
  await waitText(page.getByTestId("choose-drive-folder"), "Choose all of My Drive");
  await folders.getByRole("button", { name: "Work" }).click();
  await waitText(page.locator("[aria-current=location]"), "Work");
  await waitText(folders, "Reports");
  assert.deepEqual((await calls(page, "drive_folders")).map((c) => c.args), [{ parentId: null }, { parentId: "d-work" }]);

  // New folder inside Work: the browser opens it.
  await page.getByTestId("new-folder").click();
  await page.locator("#new-folder-name").fill("Taxes");
  await page.getByTestId("create-folder").click();
  await waitText(page.locator("[aria-current=location]"), "Taxes");
  await waitText(folders, "No folders here.");
  assert.deepEqual(await lastCall(page, "drive_create_folder"), { parentId: "d-work", name: "Taxes" });
  const made = (await page.evaluate(() => window.fake.backend.state.folders["d-work"])).find((f) => f.name === "Taxes");

  // Up by the breadcrumb, and back in by the new folder's entry.
  await page.getByRole("navigation", { name: "Location in Drive" }).getByRole("button", { name: "Work" }).click();
  await waitText(folders, "Taxes");
  await folders.getByRole("button", { name: "Taxes" }).click();
  await waitText(page.getByTestId("drive-selection"), "Selected: /Work/Taxes");
  await page.getByTestId("choose-drive-folder").click();

  // Step 3: the preview.
  await waitText(page.getByTestId("preview-upload-count"), "12 files");
  assert.equal(await page.getByTestId("preview-download-count").textContent(), "3 files");
  assert.equal(await page.getByTestId("preview-conflicts-count").textContent(), "1 file");
  await waitText(page.getByTestId("preview-upload"), "15 MiB");
  await waitText(page.getByTestId("preview-same"), "41 files are already the same");
  assert.equal(await page.getByText("Returns/2014.pdf").isVisible(), false, "lists start collapsed");
  await page.getByTestId("preview-upload").locator("summary").click();
  assert.equal(await page.getByText("Returns/2014.pdf").isVisible(), true);
  assert.deepEqual(await lastCall(page, "pair_preview"), { local: "/home/ana/Documents/Taxes", driveId: made.id });

  await page.locator("#pair-name").fill("Tax papers");
  await page.getByTestId("start-sync").click();
  const list = page.getByTestId("pair-list");
  await waitText(list, "Tax papers");
  await waitText(list, "Drive: /Work/Taxes");
  assert.deepEqual(await lastCall(page, "pair_add"), { local: "/home/ana/Documents/Taxes", driveId: made.id, name: "Tax papers" });
  assert.deepEqual(problems, []);
});

test("add a pair with a typed path; a relative path is refused", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  await page.getByTestId("add-pair").click();
  const field = page.locator("#local-path");
  await field.fill("Scans");
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  await waitText(page.locator("#local-path-msg"), "full path");
  assert.equal(await page.getByTestId("next").isDisabled(), true);

  await field.fill("/srv/data/Scans");
  assert.equal(await field.getAttribute("aria-invalid"), "false");
  await field.press("Enter");
  await page.getByTestId("drive-folders").getByRole("button", { name: "Photos" }).click();
  await page.getByTestId("choose-drive-folder").click();
  await waitText(page.getByTestId("preview-download-count"), "3 files");
  await page.getByTestId("start-sync").click();
  await waitText(page.getByTestId("pair-list"), "/srv/data/Scans");
  assert.deepEqual(await lastCall(page, "pair_add"), { local: "/srv/data/Scans", driveId: "d-photos", name: null });
  assert.equal((await calls(page, "plugin:dialog|open")).length, 0);
  assert.deepEqual(problems, []);
});

test("all of My Drive can be chosen: the pair gets the id root", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  await page.getByTestId("add-pair").click();
  await page.locator("#local-path").fill("/home/ana/Drive");
  await page.getByTestId("next").click();
  await waitText(page.getByTestId("drive-folders"), "Shared projects");
  await waitText(page.getByTestId("drive-selection"), "sync all of My Drive");
  await page.getByTestId("choose-drive-folder").click();
  await waitText(page.getByTestId("preview-upload-count"), "12 files");
  assert.deepEqual(await lastCall(page, "pair_preview"), { local: "/home/ana/Drive", driveId: "root" });
  await page.getByTestId("start-sync").click();
  await waitText(page.getByTestId("pair-list"), "Drive: all of My Drive");
  assert.deepEqual(await lastCall(page, "pair_add"), { local: "/home/ana/Drive", driveId: "root", name: null });
  assert.deepEqual(problems, []);
});

test("a rejected pair_add is shown and the flow stays open", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  await page.getByTestId("add-pair").click();
  await page.locator("#local-path").fill("/home/ana/Photos");
  await page.getByTestId("next").click();
  await page.getByTestId("drive-folders").getByRole("button", { name: "Photos" }).click();
  await page.getByTestId("choose-drive-folder").click();
  await waitText(page.getByTestId("preview-upload-count"), "12 files");
  const error = "/home/ana/Photos is already synced by the pair “Photos”. Choose another folder.";
  await page.evaluate((e) => window.fake.fail("pair_add", e), error);
  await page.getByTestId("start-sync").click();
  await waitText(page.getByRole("alert"), error);
  assert.equal(await page.getByTestId("start-sync").isVisible(), true);
  assert.equal((await page.evaluate(() => window.fake.backend.state.pairs.length)), 3);
  assert.deepEqual(problems, []);
});

test("the enable switch sends pair_set; Remove confirms that no file is deleted", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  const list = page.getByTestId("pair-list");
  const music = list.locator("[data-pair='3']");
  const toggle = music.getByRole("switch", { name: "Sync “Music”" });
  assert.equal(await toggle.isChecked(), false);
  await toggle.click();
  const set = await lastCall(page, "pair_set");
  assert.deepEqual(set, { id: 3, settings: { concurrency: 4, delete_limit_files: 50, delete_limit_percent: 10, export_docs: false, enabled: true } });
  await page.waitForFunction(() => document.querySelector("[data-testid=pair-list] [data-pair='3'] [role=switch]").checked);

  await list.locator("[data-pair='2']").getByTestId("remove-pair").click();
  const dialog = page.getByRole("dialog");
  await waitText(dialog, "No files are deleted");
  await waitText(dialog, "/home/ana/Work");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await calls(page, "pair_remove")).length, 0);
  await list.locator("[data-pair='2']").getByTestId("remove-pair").click();
  await page.getByTestId("confirm-remove").click();
  await list.locator("[data-pair='2']").waitFor({ state: "detached" });
  assert.deepEqual(await lastCall(page, "pair_remove"), { id: 2 });
  assert.deepEqual(problems, []);
});

test("a pairs event (a pair added by the command line) updates the list", async () => {
  const { page, problems } = await env.open();
  await section(page, "Folder pairs");
  const list = page.getByTestId("pair-list");
  await list.locator("[data-pair='2']").waitFor();
  const now = await page.evaluate(() => window.fake.backend.state.pairs);
  const added = { ...now[0], id: 9, name: "Scans", local: "/home/ana/Scans", drive_path: "/Scans", drive_id: "d-scans" };
  await emit(page, "pairs", [...now.filter((p) => p.id !== 2), added]);
  await waitText(list.locator("[data-pair='9']"), "Scans");
  await list.locator("[data-pair='2']").waitFor({ state: "detached" });
  assert.deepEqual(problems, []);
});
