// The "Add a folder pair" flow: (1) the local folder (native picker or a typed path),
// (2) the Drive folder (drivebrowser.ts), (3) the preview of the first sync, then Start.
import * as api from "../api";
import type { DriveFolder, Pair, Preview } from "../api";
import { busy, errorLine, fill, h } from "../dom";
import { basename, bytes, count } from "../format";
import { putPair } from "../store";
import { driveBrowser } from "./drivebrowser";

const STEPS = ["Folder on this computer", "Folder in Drive", "Review"];

/** Looks like an absolute path on Linux/macOS (/, ~) or Windows (C:\, \\server). */
function looksAbsolute(path: string): boolean {
  return /^(\/|~[\\/]?|[A-Za-z]:[\\/]|\\\\)/.test(path);
}

export function addPairFlow(done: (added: Pair | null) => void): HTMLElement {
  let local = "";
  let folder: DriveFolder | null = null;
  const error = errorLine();
  const steps = h("ol", { class: "steps", "aria-label": "Steps" }, ...STEPS.map((s) => h("li", { text: s })));
  const body = h("div", { class: "step-body" });
  const back = h("button", { type: "button", text: "Back", onclick: () => show(step - 1) });
  const cancel = h("button", { type: "button", text: "Cancel", "data-testid": "cancel-add", onclick: () => done(null) });
  const next = h("button", { type: "button", class: "primary", "data-testid": "next", text: "Next", onclick: () => show(2) });
  const start = h("button", { type: "button", class: "primary", "data-testid": "start-sync", text: "Start syncing" });
  let step = 1;

  function show(n: number): void {
    step = n;
    error.show(null);
    steps.querySelectorAll("li").forEach((li, i) => {
      if (i === n - 1) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    });
    back.hidden = n === 1;
    next.hidden = n !== 1;
    start.hidden = n !== 3;
    if (n === 1) fill(body, localStep());
    if (n === 2) {
      fill(body, driveBrowser((f) => {
        folder = f;
        show(3);
      }));
    }
    if (n === 3) {
      fill(body, previewStep());
      body.querySelector<HTMLInputElement>("#pair-name")!.focus();
    }
  }

  function localStep(): HTMLElement {
    const input = h("input", {
      type: "text", id: "local-path", value: local, autocomplete: "off", spellcheck: "false",
      placeholder: "/home/you/Documents", "aria-describedby": "local-path-help local-path-msg",
    });
    const msg = h("p", { id: "local-path-msg", class: "field-error" });
    const check = () => {
      local = input.value.trim();
      const bad = local !== "" && !looksAbsolute(local);
      msg.textContent = bad ? "Enter the folder's full path, like /home/you/Documents." : "";
      input.setAttribute("aria-invalid", String(bad));
      next.disabled = local === "" || bad;
    };
    input.addEventListener("input", check);
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || next.disabled) return;
      // Without this the Enter's keypress would also press the button focused next.
      e.preventDefault();
      next.click();
    });
    const choose: HTMLButtonElement = h("button", {
      type: "button", "data-testid": "choose-local", text: "Choose…",
      onclick: async () => {
        try {
          const picked = await busy(choose, () => api.pickFolder("Choose a folder to sync"));
          if (picked) {
            input.value = picked;
            check();
            next.focus();
          }
        } catch (e) {
          error.show(api.errorText(e));
        }
      },
    });
    check();
    queueMicrotask(() => input.focus());
    return h(
      "div",
      { class: "field" },
      h("label", { for: "local-path", text: "Folder on this computer" }),
      h("div", { class: "row" }, input, choose),
      h("p", { id: "local-path-help", class: "muted small", text: "Choose a folder, or type or paste its full path." }),
      msg,
    );
  }

  function previewStep(): HTMLElement {
    const target = folder!;
    const nameInput = h("input", {
      type: "text", id: "pair-name", placeholder: basename(local), autocomplete: "off", "aria-describedby": "pair-name-help",
    });
    const result = h("div", { class: "preview", "aria-live": "polite", "data-testid": "preview" },
      h("p", { class: "muted", text: "Comparing the two folders…" }));
    start.disabled = true;
    start.onclick = async () => {
      error.show(null);
      try {
        const name = nameInput.value.trim();
        const pair = await busy(start, () => api.pairAdd(local, target.id, name || null));
        putPair(pair);
        done(pair);
      } catch (e) {
        error.show(api.errorText(e));
      }
    };
    api.pairPreview(local, target.id).then(
      (p) => {
        fill(result, previewList(p));
        start.disabled = false;
      },
      (e) => {
        fill(result);
        error.show(api.errorText(e));
      },
    );
    return h(
      "div",
      { class: "panel-stack" },
      h("dl", { class: "facts" },
        h("dt", { text: "This computer" }), h("dd", { text: local }),
        h("dt", { text: "Drive" }), h("dd", { text: target.path })),
      h("div", { class: "field" },
        h("label", { for: "pair-name", text: "Name (optional)" }),
        nameInput,
        h("p", { id: "pair-name-help", class: "muted small", text: "Shown in the list and in notifications." })),
      result,
    );
  }

  const el = h(
    "div",
    { class: "flow", role: "group", "aria-labelledby": "add-title" },
    h("h2", { id: "add-title", text: "Add a folder pair" }),
    steps,
    body,
    error.el,
    h("div", { class: "actions" }, cancel, h("span", { class: "grow" }), back, next, start),
  );
  show(1);
  return el;
}

function previewList(p: Preview): HTMLElement {
  const group = (label: string, n: number, size: number | null, paths: string[], testid: string) =>
    h(
      "details",
      { class: "preview-group", "data-testid": testid },
      h("summary", {},
        h("span", { class: "grow", text: label }),
        h("span", { class: "count", "data-testid": `${testid}-count`, text: count(n, "file", "files") }),
        size !== null ? h("span", { class: "muted", text: bytes(size) }) : null),
      paths.length
        ? h("ul", { class: "paths-list" }, ...paths.map((x) => h("li", { text: x })),
            n > paths.length ? h("li", { class: "muted", text: `…and ${n - paths.length} more` }) : null)
        : h("p", { class: "muted small", text: "Nothing." }),
    );
  return h(
    "div",
    { class: "panel-stack" },
    h("p", { text: "The first sync will:" }),
    group("Upload to Drive", p.upload_count, p.upload_bytes, p.upload, "preview-upload"),
    group("Download to this computer", p.download_count, p.download_bytes, p.download, "preview-download"),
    group("Keep both copies (conflicts)", p.conflict_count, null, p.conflicts, "preview-conflicts"),
    h("p", { class: "muted small", "data-testid": "preview-same", text: `${count(p.same_count, "file is", "files are")} already the same on both sides.` }),
  );
}
