// The Drive folder browser of the add-pair flow: starts at My Drive, opens folders
// (click or Enter), goes back up by the breadcrumb, creates folders, and picks one, or My
// Drive itself (id "root", as Drive for desktop can sync all of it).
import * as api from "../api";
import type { DriveFolder } from "../api";
import { busy, errorLine, fill, h, icon } from "../dom";
import { ICONS } from "../icons";

type Place = { id: string | null; name: string; path: string };
const MY_DRIVE: Place = { id: null, name: "My Drive", path: "/" };

export function driveBrowser(onChoose: (folder: DriveFolder) => void): HTMLElement {
  let stack: Place[] = [MY_DRIVE];
  let request = 0;
  const error = errorLine();
  const crumbs = h("ol", { class: "crumbs" });
  const list = h("ul", { class: "folders", "data-testid": "drive-folders" });
  const where = h("p", { class: "muted small", "data-testid": "drive-selection" });

  const choose = h("button", {
    type: "button", class: "primary", "data-testid": "choose-drive-folder", text: "Choose this folder",
    onclick: () => {
      const here = stack[stack.length - 1];
      onChoose({ id: here.id ?? "root", name: here.name, path: here.path });
    },
  });

  const nameInput = h("input", { type: "text", id: "new-folder-name", autocomplete: "off" });
  const create: HTMLButtonElement = h("button", {
    type: "submit", "data-testid": "create-folder", text: "Create",
  });
  const form = h(
    "form",
    { class: "row new-folder", hidden: true },
    h("label", { for: "new-folder-name", text: "New folder name" }),
    nameInput,
    create,
    h("button", { type: "button", text: "Cancel", onclick: () => closeForm() }),
  );
  const newFolder = h("button", {
    type: "button", "data-testid": "new-folder", text: "New folder…",
    onclick: () => {
      form.hidden = false;
      newFolder.hidden = true;
      nameInput.value = "";
      create.disabled = true;
      nameInput.focus();
    },
  });
  function closeForm(): void {
    form.hidden = true;
    newFolder.hidden = false;
    newFolder.focus();
  }
  nameInput.addEventListener("input", () => (create.disabled = !nameInput.value.trim()));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    error.show(null);
    try {
      const made = await busy(create, () => api.driveCreateFolder(stack[stack.length - 1].id, name));
      form.hidden = true;
      newFolder.hidden = false;
      go([...stack, made], true);
    } catch (err) {
      error.show(api.errorText(err));
    }
  });

  function renderCrumbs(): void {
    fill(
      crumbs,
      ...stack.map((place, i) =>
        h(
          "li",
          {},
          i === stack.length - 1
            ? h("span", { "aria-current": "location", text: place.name })
            : h("button", { type: "button", class: "link", text: place.name, onclick: () => go(stack.slice(0, i + 1), true) }),
        ),
      ),
    );
  }

  async function go(to: Place[], focus: boolean): Promise<void> {
    stack = to;
    const here = stack[stack.length - 1];
    const mine = ++request;
    renderCrumbs();
    error.show(null);
    choose.textContent = here.id === null ? "Choose all of My Drive" : "Choose this folder";
    where.textContent = here.id === null
      ? "Open or create a folder to sync with, or sync all of My Drive."
      : `Selected: ${here.path}`;
    list.setAttribute("aria-label", `Folders in ${here.name}`);
    list.setAttribute("aria-busy", "true");
    fill(list, h("li", { class: "empty", text: "Loading…" }));
    let folders: DriveFolder[];
    try {
      folders = await api.driveFolders(here.id);
    } catch (e) {
      if (mine !== request) return;
      fill(list);
      error.show(api.errorText(e));
      return;
    } finally {
      if (mine === request) list.removeAttribute("aria-busy");
    }
    if (mine !== request) return;
    if (!folders.length) fill(list, h("li", { class: "empty", text: "No folders here." }));
    else {
      fill(
        list,
        ...folders.map((f) =>
          h(
            "li",
            {},
            h(
              "button",
              { type: "button", class: "folder", "data-testid": "folder", "data-id": f.id, onclick: () => go([...stack, f], true) },
              icon(ICONS.folder),
              h("span", { class: "grow", text: f.name }),
              icon(ICONS.chevron, "icon dim"),
            ),
          ),
        ),
      );
    }
    if (focus) (list.querySelector("button") ?? choose).focus();
  }

  void go(stack, true);
  return h(
    "div",
    { class: "browser" },
    h("nav", { "aria-label": "Location in Drive" }, crumbs),
    list,
    h("div", { class: "row" }, newFolder, form),
    error.el,
    h("div", { class: "row" }, where, h("span", { class: "grow" }), choose),
  );
}
