// Settings section: the app's settings (settings_get/settings_set) validated before
// saving, the logs folder, and the per-pair settings below (pairsettings.ts).
import * as api from "../api";
import type { AppSettings } from "../api";
import { LOG_LEVELS } from "../api";
import { announce, busy, errorLine, h, sectionHeader } from "../dom";
import { intField, saveBar, selectField } from "../form";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { pairSettingsForm } from "./pairsettings";

export function settingsSection(): Section {
  let current: AppSettings | null = null;
  const save = saveBar("save-settings");
  const update = () => {
    save.note.textContent = "";
    save.button.disabled = !current || !read();
  };
  const poll = intField({
    id: "poll-secs", label: "Check Drive for changes every", unit: "seconds", min: 5, max: 3600,
    help: "From 5 to 3600 seconds. Changes on this computer are seen at once.",
    message: "Enter a whole number of seconds from 5 to 3600.", onChange: update,
  });
  const up = intField({
    id: "upload-kib", label: "Upload limit", unit: "KiB/s", min: 0, max: 10_000_000,
    help: "0 means unlimited.", message: "Enter a whole number of KiB/s (0 for unlimited).", onChange: update,
  });
  const down = intField({
    id: "download-kib", label: "Download limit", unit: "KiB/s", min: 0, max: 10_000_000,
    help: "0 means unlimited.", message: "Enter a whole number of KiB/s (0 for unlimited).", onChange: update,
  });
  const autostart = h("input", { type: "checkbox", id: "autostart" });
  autostart.addEventListener("change", update);
  const level = selectField("log-level", "Log detail", LOG_LEVELS.map((l) => [l, l[0].toUpperCase() + l.slice(1)]));
  level.select.addEventListener("change", update);
  const logsDir = h("span", { class: "path", "data-testid": "logs-dir" });
  const logsError = errorLine();
  const openLogs: HTMLButtonElement = h("button", {
    type: "button", "data-testid": "open-logs", text: "Open logs folder",
    onclick: () => busy(openLogs, api.openLogs).then(() => logsError.show(null), (e) => logsError.show(api.errorText(e))),
  });
  const loadError = errorLine();

  /** The form's settings, or null while a field is invalid. */
  function read(): AppSettings | null {
    const [p, u, d] = [poll.value(), up.value(), down.value()];
    if (!current || p === null || u === null || d === null) return null;
    return {
      ...current, poll_secs: p, upload_kib: u, download_kib: d,
      autostart: autostart.checked, log_level: level.select.value as AppSettings["log_level"],
    };
  }

  function show(s: AppSettings): void {
    current = s;
    poll.set(s.poll_secs);
    up.set(s.upload_kib);
    down.set(s.download_kib);
    autostart.checked = s.autostart;
    level.select.value = s.log_level;
    logsDir.textContent = s.logs_dir;
    update();
  }

  const form = h(
    "form",
    { class: "panel form", "aria-labelledby": "general-title", "data-testid": "app-settings" },
    h("h2", { id: "general-title", text: "General" }),
    poll.el,
    h("div", { class: "pair-fields" }, up.el, down.el),
    h("div", { class: "field check" }, autostart, h("label", { for: "autostart", text: "Start drivesync when I log in" })),
    level.el,
    h("div", { class: "field" },
      h("span", { class: "label", text: "Logs folder" }),
      h("div", { class: "row" }, logsDir, h("span", { class: "grow" }), openLogs),
      logsError.el),
    save.el,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const next = read();
    if (!next) return;
    save.error.show(null);
    try {
      show(await busy(save.button, () => api.settingsSet(next)));
      save.note.textContent = "Saved.";
      announce("Settings saved.");
    } catch (err) {
      save.error.show(api.errorText(err));
      update();
    }
  });
  update();

  let loaded = false;
  const el = h(
    "section",
    { class: "section", "aria-labelledby": "settings-title" },
    sectionHeader("settings-title", "Settings", "How drivesync works on this computer."),
    loadError.el,
    h("div", { class: "panel-stack" }, form, pairSettingsForm()),
  );
  const shown = () => {
    if (loaded) return;
    loaded = true;
    api.settingsGet().then(show, (e) => {
      loaded = false;
      loadError.show(api.errorText(e));
    });
  };
  return { id: "settings", title: "Settings", icon: ICONS.settings, el, shown };
}
