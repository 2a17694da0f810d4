// Per-pair settings inside the Settings section: pick a pair, then its concurrency,
// delete guard and Google Docs handling (pair_set), and its ignore rules (ignore_get/set).
import * as api from "../api";
import type { Pair, PairSettings } from "../api";
import { announce, busy, fill, h } from "../dom";
import { intField, saveBar } from "../form";
import { pairs, putPair } from "../store";

export function pairSettingsForm(): HTMLElement {
  let pair: Pair | null = null;
  const save = saveBar("save-pair-settings");
  const update = () => {
    save.note.textContent = "";
    save.button.disabled = !read();
  };
  const picker = h("select", { id: "settings-pair" });
  const concurrency = intField({
    id: "concurrency", label: "Files transferred at once", min: 1, max: 32,
    help: "From 1 to 32.", message: "Enter a whole number from 1 to 32.", onChange: update,
  });
  const delFiles = intField({
    id: "delete-files", label: "Delete guard: more than", unit: "files", min: 1,
    help: "1 or more.",
    message: "Enter a whole number of files, 1 or more.", onChange: update,
  });
  const delPercent = intField({
    id: "delete-percent", label: "…and more than", unit: "% of the pair", min: 1, max: 100,
    help: "From 1 to 100.", message: "Enter a whole number from 1 to 100.", onChange: update,
  });
  const radio = (value: string, label: string, hint: string) => {
    const input = h("input", { type: "radio", name: "export-docs", id: `docs-${value}`, value });
    input.addEventListener("change", update);
    return h("div", { class: "field check" }, input,
      h("label", { for: `docs-${value}` }, label, h("span", { class: "muted small block", text: hint })));
  };
  const docs = h("fieldset", { class: "field" },
    h("legend", { text: "Google Docs, Sheets and Slides" }),
    radio("links", "Link files", "Small files that open the document in the browser."),
    radio("office", "Export to Office files", ".docx, .xlsx and .pptx copies; edits to them are not uploaded back."));

  function read(): PairSettings | null {
    const [c, f, p] = [concurrency.value(), delFiles.value(), delPercent.value()];
    if (!pair || c === null || f === null || p === null) return null;
    const office = docs.querySelector<HTMLInputElement>("#docs-office")!.checked;
    return { ...pair.settings, concurrency: c, delete_limit_files: f, delete_limit_percent: p, export_docs: office };
  }

  const rules = h("textarea", {
    id: "ignore-rules", class: "mono", rows: 7, spellcheck: "false", "aria-describedby": "ignore-help",
  });
  const ignoreSave = saveBar("save-ignore", "Save rules");
  rules.addEventListener("input", () => (ignoreSave.note.textContent = ""));

  function choose(p: Pair | null): void {
    pair = p;
    save.error.show(null);
    ignoreSave.error.show(null);
    ignoreSave.note.textContent = "";
    body.hidden = !p;
    if (!p) return update();
    concurrency.set(p.settings.concurrency);
    delFiles.set(p.settings.delete_limit_files);
    delPercent.set(p.settings.delete_limit_percent);
    docs.querySelector<HTMLInputElement>(p.settings.export_docs ? "#docs-office" : "#docs-links")!.checked = true;
    update();
    rules.value = "";
    rules.disabled = true;
    ignoreSave.button.disabled = true;
    const id = p.id;
    api.ignoreGet(id).then(
      (text) => {
        if (pair?.id !== id) return;
        rules.value = text;
        rules.disabled = false;
        ignoreSave.button.disabled = false;
      },
      (e) => pair?.id === id && ignoreSave.error.show(api.errorText(e)),
    );
  }

  const settingsForm = h("form", { class: "subform", "aria-label": "Pair settings" },
    concurrency.el,
    h("p", { class: "muted small field-intro", text: "A sync that would delete more files than both limits below stops and waits for you." }),
    h("div", { class: "pair-fields" }, delFiles.el, delPercent.el),
    docs,
    save.el);
  settingsForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const next = read();
    if (!pair || !next) return;
    save.error.show(null);
    try {
      const updated = await busy(save.button, () => api.pairSet(pair!.id, next));
      pair = updated;
      putPair(updated);
      update();
      save.note.textContent = "Saved.";
      announce(`Settings of “${updated.name}” saved.`);
    } catch (err) {
      save.error.show(api.errorText(err));
      update();
    }
  });

  const ignoreForm = h("form", { class: "subform", "aria-labelledby": "ignore-title" },
    h("h3", { id: "ignore-title", text: "Ignore rules" }),
    h("div", { class: "field" },
      h("label", { for: "ignore-rules", text: "Files and folders not to sync (.drivesyncignore)" }),
      rules,
      h("p", { id: "ignore-help", class: "muted small", text: "One pattern a line, as in .gitignore: *.tmp, build/, !keep.tmp. Lines starting with # are comments." })),
    ignoreSave.el);
  ignoreForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pair) return;
    ignoreSave.error.show(null);
    try {
      await busy(ignoreSave.button, () => api.ignoreSet(pair!.id, rules.value));
      ignoreSave.note.textContent = "Saved.";
      announce("Ignore rules saved.");
    } catch (err) {
      ignoreSave.error.show(api.errorText(err));
    }
  });

  const body = h("div", { class: "panel-stack", hidden: true }, settingsForm, ignoreForm);
  const none = h("p", { class: "muted", text: "Add a folder pair to change its settings." });
  picker.addEventListener("change", () => choose(pairs.get().find((x) => String(x.id) === picker.value) ?? null));
  pairs.watch((ps) => {
    const keep = pair ? ps.find((x) => x.id === pair!.id) ?? null : null;
    fill(picker, ...ps.map((x) => h("option", { value: x.id, text: x.name })));
    none.hidden = ps.length > 0;
    picker.disabled = ps.length === 0;
    const next = keep ?? ps[0] ?? null;
    picker.value = next ? String(next.id) : "";
    // Keep what is being edited when only another pair changed.
    if (next?.id !== pair?.id || !next) choose(next);
    else pair = next;
  });

  return h(
    "div",
    { class: "panel form", role: "group", "aria-labelledby": "pair-settings-title", "data-testid": "pair-settings" },
    h("h2", { id: "pair-settings-title", text: "Folder pair" }),
    h("div", { class: "field" }, h("label", { for: "settings-pair", text: "Pair" }), picker),
    none,
    body,
  );
}
