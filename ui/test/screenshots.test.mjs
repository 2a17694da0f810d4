// Test 8: screenshots of every section (and the add-pair steps), light and dark, 1000x700,
// into <repo>/artifacts/ui/; on each screen, every control is labelled and all visible
// text meets WCAG AA contrast.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, stat } from "node:fs/promises";
import { ARTIFACTS, section, setup, waitText } from "./lib.mjs";

let env;
before(async () => {
  env = await setup();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(() => env.close());

const SECTIONS = [["account", "Account"], ["pairs", "Folder pairs"], ["status", "Status"], ["activity", "Activity"], ["conflicts", "Conflicts"], ["settings", "Settings"]];

/** Controls without an accessible name, and text below AA contrast, on the visible screen. */
function audit() {
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const unlabelled = [];
  for (const el of document.querySelectorAll("input, select, textarea, button, progress")) {
    if (!visible(el)) continue;
    const named = el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") ||
      (el.labels && el.labels.length > 0) || (el.tagName === "BUTTON" && el.textContent.trim());
    if (!named) unlabelled.push(el.outerHTML.slice(0, 80));
  }
  const rgba = (s) => {
    const m = s.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [r, g, b, a];
  };
  const lum = ([r, g, b]) => {
    const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) layers.push(c);
      if (c && c[3] === 1) break;
    }
    let out = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) out = [r * a + out[0] * (1 - a), g * a + out[1] * (1 - a), b * a + out[2] * (1 - a)];
    return out;
  };
  const low = [];
  const walker = document.createTreeWalker(document.getElementById("app"), NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !visible(el) || el.closest(":disabled, [aria-hidden=true]")) continue;
    const s = getComputedStyle(el);
    const fg = rgba(s.color);
    const bg = background(el);
    const mixed = [0, 1, 2].map((i) => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const [a, b] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${n.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
  }
  return { unlabelled, low: [...new Set(low)] };
}

async function shoot(page, name, problems) {
  await page.evaluate(() => document.activeElement?.blur());
  await page.mouse.move(0, 699);
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path });
  assert.ok((await stat(path)).size > 10_000, `${name}.png has content`);
  assert.deepEqual(await page.evaluate(audit), { unlabelled: [], low: [] }, name);
  assert.deepEqual(problems, [], name);
}

for (const scheme of ["light", "dark"]) {
  test(`every section, ${scheme}`, async () => {
    const { page, problems } = await env.open({ colorScheme: scheme });
    for (const [id, title] of SECTIONS) {
      await section(page, title);
      if (id === "activity") await page.locator("[data-testid=activity-list] > li.entry").first().waitFor();
      if (id === "settings") await page.waitForFunction(() => document.getElementById("ignore-rules").value !== "");
      await shoot(page, `${id}-${scheme}`, problems);
    }
    await page.locator("#ignore-rules").scrollIntoViewIfNeeded();
    await shoot(page, `settings-pair-${scheme}`, problems);
  });

  test(`add-pair steps, invalid settings and a fresh install, ${scheme}`, async () => {
    const { page, problems } = await env.open({ colorScheme: scheme, section: "pairs" });
    await page.getByTestId("add-pair").click();
    await page.locator("#local-path").fill("/home/ana/Documents/Taxes");
    await shoot(page, `add-pair-1-${scheme}`, problems);
    await page.getByTestId("next").click();
    await page.getByTestId("drive-folders").getByRole("button", { name: "Work" }).click();
    await waitText(page.getByTestId("drive-folders"), "Reports");
    await page.getByTestId("new-folder").click();
    await page.locator("#new-folder-name").fill("Taxes");
    await shoot(page, `add-pair-2-${scheme}`, problems);
    await page.getByTestId("drive-folders").getByRole("button", { name: "Reports" }).click();
    await page.getByTestId("choose-drive-folder").click();
    await waitText(page.getByTestId("preview-upload-count"), "12 files");
    await page.getByTestId("preview-download").locator("summary").click();
    await shoot(page, `add-pair-3-${scheme}`, problems);

    await section(page, "Settings");
    await page.waitForFunction(() => document.getElementById("poll-secs").value === "15");
    await page.locator("#poll-secs").fill("2");
    await page.locator("#concurrency").fill("33");
    await shoot(page, `settings-invalid-${scheme}`, problems);

    const fresh = await env.open({ colorScheme: scheme, scenario: "disconnected" });
    await shoot(fresh.page, `account-disconnected-${scheme}`, fresh.problems);
    await fresh.page.evaluate(() => window.fake.emit("account", { state: "reconnect", email: "ana.lima@example.com", message: "Google no longer accepts drivesync's access. Reconnect to go on syncing." }));
    await fresh.page.getByTestId("reconnect").waitFor();
    await shoot(fresh.page, `account-reconnect-${scheme}`, fresh.problems);
  });
}
