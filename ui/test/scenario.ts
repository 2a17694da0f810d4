// The fake backend's starting data for the UI tests: "connected" (an account, three pairs,
// transfers, activity, conflicts) or "disconnected" (a fresh install).
import type {
  Account, Activity, ActivityKind, AppSettings, AppStatus, Conflict, DriveFolder, Pair, PairSettings,
} from "../src/api";

export type State = {
  account: Account;
  pairs: Pair[];
  status: AppStatus;
  activity: Activity[];
  conflicts: Conflict[];
  settings: AppSettings;
  ignore: Record<number, string>;
  /** Folders by parent id ("root" for My Drive). */
  folders: Record<string, DriveFolder[]>;
  nextId: number;
};

const MIN = 60_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const GIB = 1024 ** 3;

export const CONNECTED: Account = { state: "connected", name: "Ana Lima", email: "ana.lima@example.com", used: 5.3 * GIB, limit: 15 * GIB };

const defaults: PairSettings = { concurrency: 4, delete_limit_files: 50, delete_limit_percent: 10, export_docs: false, enabled: true };

function pair(id: number, name: string, local: string, drive_path: string, drive_id: string, last: number | null, over: Partial<PairSettings> = {}): Pair {
  const settings = { ...defaults, ...over };
  return { id, name, local, drive_path, drive_id, enabled: settings.enabled, last_sync: last === null ? null : ago(last), conflicts: 0, settings, left_out: [] };
}

const KINDS: ActivityKind[] = ["uploaded", "downloaded", "renamed", "uploaded", "moved", "downloaded", "trashedremote", "foldercreated", "skipped", "error", "info", "trashedlocal"];
const FILES = ["IMG_0412.jpg", "Budget 2025.xlsx", "notes/meeting.md", "Invoices/March.pdf", "Slides.pptx", "song.flac"];

const MESSAGES: Record<ActivityKind, string> = {
  uploaded: "Uploaded to Drive.",
  downloaded: "Downloaded from Drive.",
  moved: "Moved from Inbox/.",
  renamed: "Renamed from “draft”.",
  trashedlocal: "Deleted in Drive, so moved to this computer's trash.",
  trashedremote: "Deleted here, so moved to Drive's trash.",
  foldercreated: "Folder created in Drive.",
  conflict: "Changed on both sides: both versions kept.",
  skipped: "Skipped: the name is not allowed on this computer.",
  error: "Drive refused the upload: the file is too large. It is retried at the next sync.",
  info: "Sync finished: 3 uploaded, 1 downloaded.",
};

function activity(n: number): Activity[] {
  const out: Activity[] = [];
  for (let id = 1; id <= n; id++) {
    const kind = KINDS[id % KINDS.length];
    const path = kind === "info" ? null : `${id % 3 === 0 ? "2024/" : ""}${FILES[id % FILES.length]}`;
    const message = MESSAGES[kind];
    out.push({ id, pair: kind === "info" ? null : (id % 2) + 1, at: ago((n - id) * 7 * MIN + MIN), kind, path, message });
  }
  return out;
}

export function scenario(name: string): State {
  const settings: AppSettings = {
    poll_secs: 15, upload_kib: 0, download_kib: 2000, autostart: true, log_level: "info",
    logs_dir: "/home/ana/.local/share/drivesync/logs",
  };
  const folders: Record<string, DriveFolder[]> = {
    root: [
      { id: "d-music", name: "Music", path: "/Music" },
      { id: "d-photos", name: "Photos", path: "/Photos" },
      { id: "d-shared", name: "Shared projects", path: "/Shared projects" },
      { id: "d-work", name: "Work", path: "/Work" },
    ],
    "d-work": [
      { id: "d-contracts", name: "Contracts", path: "/Work/Contracts" },
      { id: "d-reports", name: "Reports", path: "/Work/Reports" },
    ],
  };
  if (name === "disconnected") {
    return {
      account: { state: "disconnected" }, pairs: [], activity: [], conflicts: [], settings, ignore: {}, folders, nextId: 100,
      status: { overall: "not_connected", summary: "Not connected", pairs: [], transfers: [] },
    };
  }
  const pairs = [
    pair(1, "Photos", "/home/ana/Pictures/Photos", "/Photos", "d-photos", 4 * MIN),
    pair(2, "Work", "/home/ana/Work", "/Work/Reports", "d-reports", 65 * MIN, { concurrency: 8, export_docs: true }),
    pair(3, "Music", "/media/ana/USB/Music", "/Music", "d-music", 3 * 24 * 60 * MIN, { enabled: false }),
  ];
  return {
    account: { ...CONNECTED },
    pairs,
    settings,
    folders,
    nextId: 100,
    ignore: { 1: "# Thumbnails and editor files\n*.tmp\n.thumbnails/\n", 2: "build/\n*.log\n", 3: "" },
    activity: activity(120),
    conflicts: [
      { id: 1, pair: 2, at: ago(30 * MIN), path: "Budget 2025.xlsx", copy: "Budget 2025 (conflict on ana-laptop).xlsx", host: "ana-laptop" },
      { id: 2, pair: 2, at: ago(90 * MIN), path: "notes/meeting.md", copy: "notes/meeting (conflict on ana-laptop).md", host: "ana-laptop" },
      { id: 3, pair: 1, at: ago(26 * 60 * MIN), path: "2024/IMG_0412.jpg", copy: "2024/IMG_0412 (conflict on ana-desktop).jpg", host: "ana-desktop" },
    ],
    status: {
      overall: "syncing",
      summary: "Syncing 2 files",
      pairs: [
        { pair: 1, name: "Photos", local: pairs[0].local, state: "idle", last_sync: pairs[0].last_sync, pending_local: 0, failed_files: 0, watch_problem: null },
        { pair: 2, name: "Work", local: pairs[1].local, state: "syncing", last_sync: pairs[1].last_sync, pending_local: 3, failed_files: 1, watch_problem: null },
        {
          pair: 3, name: "Music", local: pairs[2].local, state: "blocked", blocker: { kind: "folder_missing" },
          message: "The folder /media/ana/USB/Music is missing. Plug in the drive, or remove the pair.",
          last_sync: pairs[2].last_sync, pending_local: 0, failed_files: 0,
          watch_problem: "Too many folders to watch; changes are found by a rescan every 5 minutes.",
        },
      ],
      transfers: [
        { pair: 2, path: "Quarterly report.pdf", upload: true, done: 3_400_000, total: 8_200_000, bytes_per_sec: 1_250_000, finished: false },
        { pair: 2, path: "Scans/contract-signed.png", upload: false, done: 120_000, total: 950_000, bytes_per_sec: 310_000, finished: false },
      ],
    },
  };
}
