// Test 4: conflict actions send the right id and resolution and remove the row; a
// rejection keeps the row and shows the error; `conflict` events add rows.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, emit, lastCall, section, setup, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

test("keep mine, keep theirs, keep both; errors inline; new conflicts from events", async () => {
  const { page, problems } = await env.open();
  const nav = page.getByRole("navigation", { name: "Sections" }).getByRole("button", { name: "Conflicts" });
  assert.equal(await nav.getAttribute("aria-label"), "Conflicts, 3");
  await section(page, "Conflicts");
  const row = (id) => page.locator(`[data-testid=conflict-list] [data-conflict='${id}']`);
  assert.equal(await page.locator("[data-testid=conflict-list] > li").count(), 3);
  await waitText(row(1), "Your version on ana-laptop");
  await waitText(row(1), "Budget 2025 (conflict on ana-laptop).xlsx");
  await waitText(row(1), "The version from Drive");
  await waitText(page.locator(".explain"), "goes to the trash");

  await row(1).getByTestId("reveal").click();
  assert.deepEqual(await lastCall(page, "reveal"), { pair: 2, path: "Budget 2025 (conflict on ana-laptop).xlsx" });

  await row(1).getByTestId("keep_mine").click();
  await row(1).waitFor({ state: "detached" });
  assert.deepEqual(await lastCall(page, "conflict_resolve"), { id: 1, resolution: "keep_mine" });
  assert.equal(await nav.getAttribute("aria-label"), "Conflicts, 2");

  const error = "notes/meeting.md is open in another program. Close it and try again.";
  await page.evaluate((e) => window.fake.fail("conflict_resolve", e), error);
  await row(2).getByTestId("keep_theirs").click();
  await waitText(row(2).getByRole("alert"), error);
  assert.equal(await row(2).getByTestId("keep_theirs").isEnabled(), true);
  assert.equal(await row(2).isVisible(), true);
  assert.deepEqual(await lastCall(page, "conflict_resolve"), { id: 2, resolution: "keep_theirs" });
  await row(2).getByTestId("keep_theirs").click();
  await row(2).waitFor({ state: "detached" });

  await row(3).getByTestId("keep_both").click();
  await row(3).waitFor({ state: "detached" });
  assert.deepEqual((await calls(page, "conflict_resolve")).map((c) => c.args), [
    { id: 1, resolution: "keep_mine" },
    { id: 2, resolution: "keep_theirs" },
    { id: 2, resolution: "keep_theirs" },
    { id: 3, resolution: "keep_both" },
  ]);
  await waitText(page.getByTestId("conflicts-empty"), "No conflicts");
  assert.equal(await nav.getAttribute("aria-label"), "Conflicts");

  await emit(page, "conflict", { id: 9, pair: 1, at: new Date().toISOString(), path: "cat.jpg", copy: "cat (conflict on ana-desktop).jpg", host: "ana-desktop" });
  await waitText(row(9), "Your version on ana-desktop");
  await waitText(row(9), "Photos · just now");
  assert.equal(await page.getByTestId("conflicts-empty").isHidden(), true);
  assert.equal(await nav.getAttribute("aria-label"), "Conflicts, 1");
  assert.deepEqual(problems, []);
});
