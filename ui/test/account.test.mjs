// Test 1: the connect flow (busy state, connected account, reconnect event, rejection).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { calls, emit, setup, until, waitText } from "./lib.mjs";

let env;
before(async () => (env = await setup()));
after(() => env.close());

test("connect shows a busy state, then the account with its quota", async () => {
  const { page, problems } = await env.open({ scenario: "disconnected" });
  await waitText(page.getByTestId("overall"), "Not connected");
  await page.evaluate(() => window.fake.hold("account_connect"));
  const connect = page.getByTestId("connect");
  await connect.click();
  await waitText(connect, "Waiting for the browser…");
  assert.equal(await connect.isDisabled(), true);
  assert.equal(await page.getByTestId("account-name").count(), 0, "not connected while the browser runs");
  await page.evaluate(() => window.fake.release("account_connect"));
  await waitText(page.getByTestId("account-name"), "Ana Lima");
  assert.equal(await page.getByTestId("account-email").textContent(), "ana.lima@example.com");
  assert.equal(await page.getByTestId("quota").textContent(), "5.3 GiB of 15 GiB used");
  const bar = page.getByTestId("quota-bar");
  assert.equal(Number(await bar.getAttribute("max")), 15 * 1024 ** 3);
  assert.equal(Number(await bar.getAttribute("value")), 5.3 * 1024 ** 3);
  assert.equal(await page.getByTestId("disconnect").isVisible(), true);
  await until(page, () => document.getElementById("live").textContent.includes("Connected as ana.lima@example.com"));
  assert.deepEqual((await calls(page, "account_connect")).map((c) => c.args), [{}]);
  assert.deepEqual(problems, []);
});

test("an unlimited quota says so", async () => {
  const { page, problems } = await env.open();
  await emit(page, "account", { state: "connected", name: "Ana Lima", email: "ana@example.org", used: 2048, limit: null });
  await waitText(page.getByTestId("quota"), "2.0 KiB used (unlimited)");
  assert.equal(await page.getByTestId("quota-bar").count(), 0);
  assert.deepEqual(problems, []);
});

test("an account event with reconnect shows its message; a rejected connect shows the error", async () => {
  const { page, problems } = await env.open();
  await waitText(page.getByTestId("account-name"), "Ana Lima");
  const message = "Google no longer accepts drivesync's access. Reconnect to go on syncing.";
  await emit(page, "account", { state: "reconnect", email: "ana.lima@example.com", message });
  await waitText(page.getByTestId("reconnect-message"), message);
  await waitText(page.getByTestId("reconnect-panel"), "Access to ana.lima@example.com was lost.");
  assert.equal(await page.getByTestId("account-name").count(), 0);
  await until(page, () => document.getElementById("live").textContent.includes("access lost"));

  const error = "The sign-in was cancelled in the browser. Click Reconnect to try again.";
  await page.evaluate((e) => window.fake.fail("account_connect", e), error);
  const reconnect = page.getByTestId("reconnect");
  await reconnect.click();
  await waitText(page.getByRole("alert"), error);
  assert.equal(await reconnect.isEnabled(), true, "Reconnect can be tried again");
  assert.equal(await reconnect.textContent(), "Reconnect");

  await reconnect.click();
  await waitText(page.getByTestId("account-name"), "Ana Lima");
  assert.equal(await page.getByRole("alert").isHidden(), true, "the old error is gone");
  assert.equal((await calls(page, "account_connect")).length, 2);
  assert.deepEqual(problems, []);
});

test("disconnect asks the backend and shows the Connect button", async () => {
  const { page, problems } = await env.open();
  await page.getByTestId("disconnect").click();
  await page.getByTestId("connect").waitFor();
  assert.deepEqual((await calls(page, "account_disconnect")).map((c) => c.args), [{ force: false }]);
  assert.deepEqual(problems, []);
});

test("a revoke Google did not confirm keeps the account until the user signs out anyway", async () => {
  const { page, problems } = await env.open();
  const error = "signing out ana@example.com failed: Google did not confirm that drivesync's access is revoked (timeout). You are still signed in. Try again, or sign out anyway";
  await page.evaluate((e) => window.fake.fail("account_disconnect", e), error);
  const anyway = page.getByTestId("disconnect-anyway");
  assert.equal(await anyway.isVisible(), false, "offered only after such a failure");
  await page.getByTestId("disconnect").click();
  await waitText(page.getByRole("alert"), "You are still signed in");
  await waitText(anyway, "Sign out anyway");
  await anyway.click();
  await page.getByTestId("connect").waitFor();
  assert.deepEqual((await calls(page, "account_disconnect")).map((c) => c.args), [{ force: false }, { force: true }]);
  assert.deepEqual(problems, []);
});

test("a connect waiting for the browser can be cancelled", async () => {
  const { page, problems } = await env.open({ scenario: "disconnected" });
  await waitText(page.getByTestId("overall"), "Not connected");
  const cancel = page.getByTestId("cancel-connect");
  assert.equal(await cancel.isVisible(), false, "offered only while connecting");
  await page.evaluate(() => window.fake.hold("account_connect"));
  await page.getByTestId("connect").click();
  await waitText(page.getByTestId("connect"), "Waiting for the browser…");
  await cancel.click();
  await waitText(page.getByTestId("connect"), "Connect Google Drive");
  assert.equal(await page.getByTestId("connect").isDisabled(), false);
  assert.equal(await cancel.isVisible(), false);
  assert.equal(await page.getByTestId("account-name").count(), 0, "still not connected");
  assert.deepEqual((await calls(page, "account_connect_cancel")).map((c) => c.args), [{}]);
  await until(page, () => document.getElementById("live").textContent === "Connecting was cancelled.");
  assert.deepEqual(problems, []);
});
