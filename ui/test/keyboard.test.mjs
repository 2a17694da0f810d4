// Test 7: the app is usable without a mouse: the sidebar (Tab, arrows, Home/End, Enter,
// Space), visible focus rings, and the add-pair flow through the Drive browser.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { lastCall, setup, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

const focused = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
const current = (page) => page.locator("nav [aria-current=page]").textContent();
const visibleTitle = (page) => page.locator("main section:not([hidden]) h1").textContent();

test("the sidebar is navigated and a section opened from the keyboard", async () => {
  const { page, problems } = await env.open();
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "Account");
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return `${s.outlineStyle} ${s.outlineWidth}`;
  });
  assert.equal(ring, "solid 2px", "a visible focus ring");

  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  assert.equal(await focused(page), "Status");
  assert.equal(await current(page), "Account", "moving focus does not open");
  await page.keyboard.press("Enter");
  assert.equal(await current(page), "Status");
  assert.equal(await visibleTitle(page), "Status");

  await page.keyboard.press("End");
  assert.equal(await focused(page), "Settings");
  await page.keyboard.press("Space");
  assert.equal(await visibleTitle(page), "Settings");
  await page.keyboard.press("ArrowDown");
  assert.equal(await focused(page), "Account", "wraps around");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  assert.match(await focused(page), /^Conflicts/);
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  assert.equal(await visibleTitle(page), "Folder pairs");
  assert.equal(await page.locator("nav [aria-current]").count(), 1);

  // Tab leaves the sidebar for the open section.
  for (let i = 0; i < 10 && (await page.evaluate(() => !!document.activeElement.closest("nav"))); i++) {
    await page.keyboard.press("Tab");
  }
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), "add-pair");
  assert.deepEqual(problems, []);
});

test("a pair is added with the keyboard alone", async () => {
  const { page, problems } = await env.open({ section: "pairs" });
  await page.getByTestId("add-pair").focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.id === "local-path");
  await page.keyboard.type("/home/ana/Keys");
  await page.keyboard.press("Enter");
  // The Drive browser focuses its first folder; Enter opens a folder and focuses its first child.
  await page.waitForFunction(() => document.activeElement?.textContent === "Music");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "Work");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.activeElement?.textContent === "Contracts");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await waitText(page.getByTestId("drive-selection"), "Selected: /Work/Reports");
  await page.getByTestId("choose-drive-folder").focus();
  await page.keyboard.press("Enter");
  await waitText(page.getByTestId("preview-upload-count"), "12 files");
  await page.getByTestId("start-sync").focus();
  await page.keyboard.press("Enter");
  await waitText(page.getByTestId("pair-list"), "/home/ana/Keys");
  assert.deepEqual(await lastCall(page, "pair_add"), { local: "/home/ana/Keys", driveId: "d-reports", name: null });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), "add-pair", "focus returns to the list");
  assert.deepEqual(problems, []);
});
