// The tiny DOM helper the UI is built with (no framework), plus the shared live region
// and a few small building blocks used by several sections.
import { errorText } from "./api";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/**
 * Creates an element. Attributes: `class`, `text` (textContent), `onX` (event listener),
 * booleans (present when true), anything else as a string attribute. Never sets HTML.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** Replaces all children of `parent`. */
export function fill(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

const SVG = "http://www.w3.org/2000/svg";
/** A 16px stroke icon from SVG path data (no external images). */
export function icon(d: string, cls = "icon"): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", d);
  svg.appendChild(path);
  return svg;
}

let liveTimer: number | undefined;
/** Says a status change to screen readers (the page's one polite live region). */
export function announce(message: string): void {
  const live = document.getElementById("live");
  if (!live) return;
  // Clearing first makes a repeated message be read again.
  live.textContent = "";
  window.clearTimeout(liveTimer);
  liveTimer = window.setTimeout(() => (live.textContent = message), 50);
}

/** An inline error line: empty and hidden until `show`. */
export function errorLine(): { el: HTMLParagraphElement; show(msg: string | null): void } {
  const el = h("p", { class: "error", role: "alert", hidden: true });
  return {
    el,
    show(msg) {
      el.textContent = msg ?? "";
      el.hidden = !msg;
    },
  };
}

/** Runs `work` with `button` disabled (and optionally relabelled) until it settles. */
export async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>, label?: string): Promise<T> {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (label) button.textContent = text;
  }
}

/** A section's heading block: title and a one-line description. */
export function sectionHeader(id: string, title: string, description: string, ...actions: Child[]): HTMLElement {
  return h(
    "header",
    { class: "section-header" },
    h("div", {}, h("h1", { id, text: title }), h("p", { class: "muted", text: description })),
    actions.length ? h("div", { class: "toolbar" }, ...actions) : null,
  );
}

/** What a confirmation dialog asks: its words and the work its confirm button starts. */
export type Confirmation = {
  title: string;
  text: string;
  confirm: string;
  /** Runs when confirmed; the dialog closes when it resolves and shows its error if not. */
  work: () => Promise<unknown>;
};

/**
 * A modal confirmation dialog (Cancel has the focus: the safe choice is the default).
 * `id` prefixes the ids of its title and text; `testid` marks its confirm button.
 */
export function confirmDialog(id: string, testid: string): { el: HTMLDialogElement; ask(c: Confirmation): void } {
  const title = h("h2", { id: `${id}-title` });
  const text = h("p", { id: `${id}-text` });
  const error = errorLine();
  let current: Confirmation | null = null;
  const cancel = h("button", { type: "button", text: "Cancel", onclick: () => el.close() });
  const ok: HTMLButtonElement = h("button", {
    type: "button", class: "danger", "data-testid": testid,
    onclick: async () => {
      if (!current) return;
      error.show(null);
      try {
        await busy(ok, current.work);
        el.close();
      } catch (e) {
        error.show(errorText(e));
      }
    },
  });
  const el = h(
    "dialog",
    { class: "dialog", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text` },
    title, text, error.el,
    h("div", { class: "actions end" }, cancel, ok),
  );
  return {
    el,
    ask(c) {
      current = c;
      title.textContent = c.title;
      text.textContent = c.text;
      ok.textContent = c.confirm;
      error.show(null);
      el.showModal();
      cancel.focus();
    },
  };
}
