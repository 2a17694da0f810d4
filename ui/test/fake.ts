// An in-memory backend implementing the commands of docs/app-api.md for the UI tests.
// It records every call, checks argument keys and types like Tauri's deserializer would,
// and lets a test make the next call of a command reject (`fail`) or wait (`hold`).
import type { Activity, ActivityQuery, AppSettings, DriveFolder, Pair, PairSettings, Preview } from "../src/api";
import { CONNECTED, type State } from "./scenario";

export type Call = { cmd: string; args: Record<string, unknown> };
type Args = Record<string, unknown>;

const copy = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/** Rejects unless `args` has exactly these keys (Tauri rejects missing ones; extra ones are a UI bug). */
function keys(cmd: string, args: Args, expected: string[]): void {
  const got = Object.keys(args).sort().join(",");
  if (got !== [...expected].sort().join(",")) throw `${cmd}: expected arguments {${expected}}, got {${got}}`;
}

function int(cmd: string, name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw `${cmd}: ${name} must be an integer, got ${JSON.stringify(v)}`;
  if (v < min || v > max) throw `${name} must be from ${min} to ${max}.`;
  return v;
}

export class FakeBackend {
  calls: Call[] = [];
  /** What the native folder picker (plugin:dialog|open) returns. */
  dialogPath: string | null = "/home/ana/Documents/Taxes";
  private failures = new Map<string, string>();
  private holds = new Map<string, { release?: () => void }>();
  private connectCancelled = false;

  constructor(public state: State) {}

  fail(cmd: string, message: string): void {
    this.failures.set(cmd, message);
  }
  hold(cmd: string): void {
    this.holds.set(cmd, {});
  }
  release(cmd: string): void {
    this.holds.get(cmd)?.release?.();
    this.holds.delete(cmd);
  }

  async handle(cmd: string, args: Args): Promise<unknown> {
    this.calls.push({ cmd, args: copy(args) });
    const held = this.holds.get(cmd);
    if (held) await new Promise<void>((resolve) => (held.release = resolve));
    const failure = this.failures.get(cmd);
    if (failure !== undefined) {
      this.failures.delete(cmd);
      throw failure;
    }
    return copy(this.run(cmd, args));
  }

  private pair(id: unknown): Pair {
    const p = this.state.pairs.find((x) => x.id === id);
    if (!p) throw `There is no pair ${id}.`;
    return p;
  }

  private run(cmd: string, a: Args): unknown {
    const s = this.state;
    switch (cmd) {
      case "account_get": keys(cmd, a, []); return s.account;
      case "account_connect":
        keys(cmd, a, []);
        if (this.connectCancelled) {
          this.connectCancelled = false;
          return s.account;
        }
        return (s.account = { ...CONNECTED });
      case "account_connect_cancel":
        keys(cmd, a, []);
        this.connectCancelled = true;
        this.release("account_connect");
        return null;
      case "account_disconnect": keys(cmd, a, ["force"]); return (s.account = { state: "disconnected" });
      case "drive_folders":
        keys(cmd, a, ["parentId"]);
        return s.folders[(a.parentId as string | null) ?? "root"] ?? [];
      case "drive_create_folder": {
        keys(cmd, a, ["parentId", "name"]);
        const parent = (a.parentId as string | null) ?? "root";
        const parentPath = Object.values(s.folders).flat().find((f) => f.id === parent)?.path ?? "";
        const made: DriveFolder = { id: `d-new-${s.nextId++}`, name: String(a.name), path: `${parentPath}/${a.name}` };
        (s.folders[parent] ??= []).push(made);
        return made;
      }
      case "pair_preview":
        keys(cmd, a, ["local", "driveId"]);
        return preview();
      case "pair_add": {
        keys(cmd, a, ["local", "driveId", "name"]);
        const folder = a.driveId === "root"
          ? { id: "root", name: "My Drive", path: "/" }
          : Object.values(s.folders).flat().find((f) => f.id === a.driveId);
        if (!folder) throw `There is no Drive folder ${a.driveId}.`;
        const local = String(a.local);
        const settings: PairSettings = { concurrency: 4, delete_limit_files: 50, delete_limit_percent: 10, export_docs: false, enabled: true };
        const p: Pair = {
          id: s.nextId++, name: (a.name as string | null) ?? local.split("/").filter(Boolean).pop()!, local,
          drive_path: folder.path, drive_id: folder.id, enabled: true, last_sync: null, conflicts: 0, settings, left_out: [],
        };
        s.pairs.push(p);
        return p;
      }
      case "pairs_list": keys(cmd, a, []); return s.pairs;
      case "pair_set": {
        keys(cmd, a, ["id", "settings"]);
        const p = this.pair(a.id);
        const n = a.settings as PairSettings;
        keys("settings", n as unknown as Args, Object.keys(p.settings));
        int(cmd, "concurrency", n.concurrency, 1, 32);
        int(cmd, "delete_limit_files", n.delete_limit_files, 1);
        int(cmd, "delete_limit_percent", n.delete_limit_percent, 1, 100);
        p.settings = { ...n };
        p.enabled = n.enabled;
        return p;
      }
      case "pair_remove":
        keys(cmd, a, ["id"]);
        this.pair(a.id);
        s.pairs = s.pairs.filter((x) => x.id !== a.id);
        return null;
      case "ignore_get": keys(cmd, a, ["id"]); this.pair(a.id); return s.ignore[a.id as number] ?? "";
      case "ignore_set":
        keys(cmd, a, ["id", "text"]);
        this.pair(a.id);
        s.ignore[a.id as number] = String(a.text);
        return null;
      case "status_get": keys(cmd, a, []); return s.status;
      case "activity_list": keys(cmd, a, ["query"]); return activity(s.activity, a.query as ActivityQuery);
      case "conflicts_list": keys(cmd, a, []); return s.conflicts;
      case "conflict_resolve":
        keys(cmd, a, ["id", "resolution"]);
        if (!["keep_mine", "keep_theirs", "keep_both"].includes(a.resolution as string)) throw `bad resolution ${a.resolution}`;
        if (!s.conflicts.some((c) => c.id === a.id)) throw `There is no conflict ${a.id}.`;
        s.conflicts = s.conflicts.filter((c) => c.id !== a.id);
        return null;
      case "settings_get": keys(cmd, a, []); return s.settings;
      case "settings_set": {
        keys(cmd, a, ["settings"]);
        const n = a.settings as AppSettings;
        keys("settings", n as unknown as Args, Object.keys(s.settings));
        int(cmd, "poll_secs", n.poll_secs, 5, 3600);
        int(cmd, "upload_kib", n.upload_kib, 0);
        int(cmd, "download_kib", n.download_kib, 0);
        return (s.settings = { ...n, logs_dir: s.settings.logs_dir });
      }
      case "pause": case "resume": case "sync_now":
        keys(cmd, a, ["pair"]);
        return null;
      case "sync_force_deletes":
        keys(cmd, a, ["pair"]);
        this.pair(a.pair);
        return null;
      case "reveal": case "open_in_drive":
        keys(cmd, a, ["pair", "path"]);
        this.pair(a.pair);
        return null;
      case "open_logs": keys(cmd, a, []); return null;
      case "plugin:dialog|open": return this.dialogPath;
      default: throw `unknown command ${cmd}`;
    }
  }
}

function activity(all: Activity[], q: ActivityQuery): Activity[] {
  const text = q.text?.toLowerCase();
  return all
    .filter((e) =>
      (q.pair === undefined || e.pair === q.pair) &&
      (q.kind === undefined || e.kind === q.kind) &&
      (q.before === undefined || e.id < q.before) &&
      (!text || e.message.toLowerCase().includes(text) || (e.path ?? "").toLowerCase().includes(text)))
    .sort((x, y) => y.id - x.id)
    .slice(0, q.limit ?? 100);
}

function preview(): Preview {
  const upload = Array.from({ length: 12 }, (_, i) => `Returns/${2014 + i}.pdf`);
  return {
    upload_count: 12, download_count: 3, conflict_count: 1, same_count: 41,
    upload_bytes: 12 * 1_300_000, download_bytes: 4_800_000,
    upload, download: ["Receipts/2024-01.pdf", "Receipts/2024-02.pdf", "Summary.xlsx"], conflicts: ["Notes.txt"],
  };
}
