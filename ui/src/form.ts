// Validated form fields for the settings: whole numbers in a range, with the message next
// to the field (aria-invalid, aria-describedby) and a callback so Save can be disabled.
import { errorLine, h } from "./dom";

export type IntField = {
  el: HTMLElement;
  input: HTMLInputElement;
  /** The number, or null while the text is not a whole number in range. */
  value(): number | null;
  set(n: number): void;
};

export type IntOptions = {
  id: string;
  label: string;
  unit?: string;
  help: string;
  min: number;
  max?: number;
  /** Said when the value is invalid, e.g. "Enter a whole number from 5 to 3600." */
  message: string;
  onChange: () => void;
};

export function intField(o: IntOptions): IntField {
  const help = h("p", { id: `${o.id}-help`, class: "muted small", text: o.help });
  const msg = h("p", { id: `${o.id}-msg`, class: "field-error", "data-testid": `${o.id}-msg` });
  const input = h("input", {
    type: "text", id: o.id, inputmode: "numeric", autocomplete: "off", class: "num",
    "aria-describedby": `${o.id}-help ${o.id}-msg`,
  });
  const value = (): number | null => {
    const text = input.value.trim();
    if (!/^\d{1,15}$/.test(text)) return null;
    const n = Number(text);
    return n < o.min || (o.max !== undefined && n > o.max) ? null : n;
  };
  const check = () => {
    const bad = value() === null;
    input.setAttribute("aria-invalid", String(bad));
    msg.textContent = bad ? o.message : "";
  };
  input.addEventListener("input", () => {
    check();
    o.onChange();
  });
  const el = h(
    "div",
    { class: "field" },
    h("label", { for: o.id, text: o.label }),
    h("div", { class: "row tight" }, input, o.unit ? h("span", { class: "muted", text: o.unit }) : null),
    help,
    msg,
  );
  return {
    el,
    input,
    value,
    set(n) {
      input.value = String(n);
      check();
    },
  };
}

/** A labelled select of fixed options. */
export function selectField(id: string, label: string, options: [string, string][]): { el: HTMLElement; select: HTMLSelectElement } {
  const select = h("select", { id }, ...options.map(([value, text]) => h("option", { value, text })));
  return { el: h("div", { class: "field" }, h("label", { for: id, text: label }), select), select };
}

/** A save bar: the submit button, a "Saved." note and the command's error. */
export function saveBar(testid: string, label = "Save"): {
  el: HTMLElement; button: HTMLButtonElement; note: HTMLElement; error: ReturnType<typeof errorLine>;
} {
  const button = h("button", { type: "submit", class: "primary", "data-testid": testid, text: label });
  const note = h("span", { class: "muted small", "data-testid": `${testid}-note` });
  const error = errorLine();
  error.el.dataset.testid = `${testid}-error`;
  return { el: h("div", { class: "save-bar" }, error.el, h("div", { class: "actions end" }, note, button)), button, note, error };
}
