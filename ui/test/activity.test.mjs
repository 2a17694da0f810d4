// Test 6: the activity log's query (search text, kind, pair, before), debounced search,
// Load more, row buttons, and `activity` events prepended only when they match.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, emit, lastCall, section, setup, until, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

const ids = (page) => page.locator("[data-testid=activity-list] > li.entry").evaluateAll((els) => els.map((e) => Number(e.dataset.id)));

test("filters and Load more are passed in the query", async () => {
  const { page, problems } = await env.open();
  assert.equal((await calls(page, "activity_list")).length, 0, "loaded when first shown");
  await section(page, "Activity");
  assert.deepEqual(await lastCall(page, "activity_list"), { query: { limit: 50 } });
  await until(page, () => document.querySelectorAll("[data-testid=activity-list] > li.entry").length === 50);
  const first = await ids(page);
  assert.equal(first[0], 120, "newest first");
  assert.equal(first[49], 71);

  await page.getByTestId("load-more").click();
  await until(page, () => document.querySelectorAll("[data-testid=activity-list] > li.entry").length === 100);
  assert.deepEqual(await lastCall(page, "activity_list"), { query: { limit: 50, before: 71 } });
  await page.getByTestId("load-more").click();
  await until(page, () => document.querySelectorAll("[data-testid=activity-list] > li.entry").length === 120);
  assert.equal(await page.getByTestId("load-more").isHidden(), true, "no more after a short page");

  // Typing quickly makes one query, after the debounce.
  const before = (await calls(page, "activity_list")).length;
  await page.locator("#activity-search").pressSequentially("March", { delay: 30 });
  await until(page, (n) => window.fake.calls("activity_list").length > n, before);
  await page.waitForTimeout(400);
  assert.equal((await calls(page, "activity_list")).length, before + 1);
  assert.deepEqual(await lastCall(page, "activity_list"), { query: { limit: 50, text: "March" } });
  await until(page, () => [...document.querySelectorAll("[data-testid=activity-list] > li.entry")].every((e) => e.textContent.includes("March")));

  await page.locator("#activity-kind").selectOption("error");
  assert.deepEqual(await lastCall(page, "activity_list"), { query: { limit: 50, text: "March", kind: "error" } });
  await until(page, () => [...document.querySelectorAll("[data-testid=activity-list] [data-testid=kind]")].every((k) => k.textContent === "Error"));
  await page.locator("#activity-pair").selectOption({ label: "Photos" });
  assert.deepEqual(await lastCall(page, "activity_list"), { query: { limit: 50, text: "March", kind: "error", pair: 1 } });
  await page.locator("#activity-search").fill("no such thing");
  await waitText(page.getByTestId("activity-list"), "Nothing matches.");
  assert.deepEqual(problems, []);
});

test("activity events are prepended when they match the filters; row buttons", async () => {
  const { page, problems } = await env.open();
  await section(page, "Activity");
  await until(page, () => document.querySelectorAll("[data-testid=activity-list] > li.entry").length === 50);
  const at = new Date().toISOString();
  await emit(page, "activity", { id: 500, pair: 1, at, kind: "uploaded", path: "new/cat.jpg", message: "Uploaded to Drive." });
  await until(page, () => document.querySelector("[data-testid=activity-list] > li.entry").dataset.id === "500");
  await waitText(page.locator("[data-id='500']"), "new/cat.jpg");

  await page.locator("#activity-kind").selectOption("downloaded");
  await until(page, () => [...document.querySelectorAll("[data-testid=activity-list] [data-testid=kind]")].every((k) => k.textContent === "Downloaded"));
  await emit(page, "activity", { id: 501, pair: 1, at, kind: "uploaded", path: "dog.jpg", message: "Uploaded to Drive." });
  await emit(page, "activity", { id: 502, pair: 2, at, kind: "downloaded", path: "report.pdf", message: "Downloaded from Drive." });
  await until(page, () => document.querySelector("[data-testid=activity-list] > li.entry").dataset.id === "502");
  assert.equal(await page.locator("[data-id='501']").count(), 0, "a non-matching event is not shown");

  const row = page.locator("[data-id='502']");
  await row.getByTestId("reveal").click();
  assert.deepEqual(await lastCall(page, "reveal"), { pair: 2, path: "report.pdf" });
  await row.getByTestId("open-in-drive").click();
  assert.deepEqual(await lastCall(page, "open_in_drive"), { pair: 2, path: "report.pdf" });
  await page.evaluate(() => window.fake.fail("open_in_drive", "The file report.pdf is no longer in Drive."));
  await row.getByTestId("open-in-drive").click();
  await waitText(row.getByRole("alert"), "no longer in Drive");
  assert.deepEqual(problems, []);
});
