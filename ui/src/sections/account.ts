// Account section: connect Google Drive (busy while the browser sign-in runs), the
// connected account with its storage use, disconnect, and the "reconnect" state.
import * as api from "../api";
import type { Account } from "../api";
import { announce, busy, errorLine, fill, h, sectionHeader } from "../dom";
import { bytes } from "../format";
import { ICONS } from "../icons";
import type { Section } from "../shell";
import { account } from "../store";

export function accountSection(): Section {
  const body = h("div", { class: "panel-stack" });
  const error = errorLine();
  const el = h(
    "section",
    { class: "section", "aria-labelledby": "account-title" },
    sectionHeader("account-title", "Account", "The Google account whose Drive drivesync keeps in sync."),
    body,
    error.el,
  );

  async function connect(button: HTMLButtonElement, cancel: HTMLButtonElement): Promise<void> {
    error.show(null);
    announce("Waiting for the browser: finish signing in there.");
    let cancelled = false;
    cancel.onclick = async () => {
      cancelled = true;
      try {
        await busy(cancel, api.accountConnectCancel);
      } catch (e) {
        error.show(api.errorText(e));
      }
    };
    cancel.hidden = false;
    try {
      const a = await busy(button, api.accountConnect, "Waiting for the browser…");
      if (cancelled && a.state !== "connected") announce("Connecting was cancelled.");
      account.set(a);
    } catch (e) {
      error.show(api.errorText(e));
      announce("Connecting failed.");
    } finally {
      cancel.hidden = true;
    }
  }

  /** The connect button, and the Cancel shown while the browser sign-in runs. */
  function connectActions(label: string, testid: string): HTMLElement {
    const cancel = h("button", { type: "button", "data-testid": "cancel-connect", text: "Cancel", hidden: true });
    const b: HTMLButtonElement = h("button", {
      type: "button", class: "primary", "data-testid": testid, text: label,
      onclick: () => void connect(b, cancel),
    });
    return h("div", { class: "actions" }, b, cancel);
  }

  function render(a: Account | null): void {
    if (!a) return fill(body, h("p", { class: "muted", text: "Loading…" }));
    if (a.state === "disconnected") {
      return fill(
        body,
        h(
          "div",
          { class: "panel" },
          h("p", { text: "drivesync is not connected to Google Drive." }),
          h("p", {
            class: "muted",
            text: "Connecting opens your browser to sign in to Google. drivesync never sees your password.",
          }),
          connectActions("Connect Google Drive", "connect"),
        ),
      );
    }
    if (a.state === "reconnect") {
      return fill(
        body,
        h(
          "div",
          { class: "panel warning", "data-testid": "reconnect-panel" },
          h("p", { class: "strong", text: a.email ? `Access to ${a.email} was lost.` : "Access to Google Drive was lost." }),
          h("p", { "data-testid": "reconnect-message", text: a.message }),
          connectActions("Reconnect", "reconnect"),
        ),
      );
    }
    // When Google does not confirm the revoke, the account stays signed in; the user may
    // then sign out anyway (the token is deleted; the access is removed in Google's settings).
    const signOut = async (button: HTMLButtonElement, force: boolean) => {
      error.show(null);
      try {
        account.set(await busy(button, () => api.accountDisconnect(force)));
      } catch (e) {
        const text = api.errorText(e);
        error.show(text);
        anyway.hidden = force || !text.includes("still signed in");
      }
    };
    const disconnect: HTMLButtonElement = h("button", {
      type: "button", "data-testid": "disconnect", text: "Disconnect",
      onclick: () => signOut(disconnect, false),
    });
    const anyway: HTMLButtonElement = h("button", {
      type: "button", class: "danger", "data-testid": "disconnect-anyway", text: "Sign out anyway", hidden: true,
      onclick: () => signOut(anyway, true),
    });
    fill(
      body,
      h(
        "div",
        { class: "panel" },
        h(
          "dl",
          { class: "facts" },
          h("dt", { text: "Name" }), h("dd", { "data-testid": "account-name", text: a.name }),
          h("dt", { text: "Email" }), h("dd", { "data-testid": "account-email", text: a.email }),
          h("dt", { text: "Storage" }), h("dd", {}, quota(a.used, a.limit)),
        ),
      ),
      h(
        "div",
        { class: "panel row" },
        h("p", { class: "muted grow", text: "Disconnecting stops syncing. Your files stay where they are, here and in Drive." }),
        disconnect,
        anyway,
      ),
    );
  }

  let last: Account["state"] | null = null;
  account.watch((a) => {
    render(a);
    if (a && last && a.state !== last) {
      announce(
        a.state === "connected" ? `Connected as ${a.email}.`
        : a.state === "disconnected" ? "Disconnected from Google Drive."
        : `Google Drive access lost. ${a.message}`,
      );
    }
    last = a?.state ?? null;
  });

  return { id: "account", title: "Account", icon: ICONS.account, el };
}

function quota(used: number | null, limit: number | null): HTMLElement {
  if (used === null) return h("span", { "data-testid": "quota", text: "Unknown" });
  if (limit === null) {
    return h("span", { "data-testid": "quota", text: `${bytes(used)} used (unlimited)` });
  }
  const text = `${bytes(used)} of ${bytes(limit)} used`;
  return h(
    "div",
    { class: "quota" },
    h("progress", { max: limit, value: Math.min(used, limit), "aria-label": "Storage used", "data-testid": "quota-bar" }),
    h("span", { "data-testid": "quota", text }),
  );
}
