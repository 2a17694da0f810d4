// Peer test: the unmodified Node client @googleapis/drive against drive-emulator.
// Media uploads from this client are always multipart/related with CRLF line ends,
// sent with Transfer-Encoding: chunked (a stream body, no Content-Length).
//
// Base URL: env EMULATOR_URL, or else this starts EMULATOR_BIN
// (default <repo>/target/debug/drive-emulator) with --port 0 --data-dir <tmp>.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Readable } = require('node:stream');
const { drive: driveApi, auth } = require('@googleapis/drive');

const CLIENT_ID = 'drivesync-emulator.apps.googleusercontent.com';
const CLIENT_SECRET = 'emulator-secret';
const DEFAULT_BIN = path.resolve(__dirname, '..', '..', '..', 'target', 'debug', 'drive-emulator');

let base;
let child;
let dataDir;

function startEmulator() {
  const bin = process.env.EMULATOR_BIN || DEFAULT_BIN;
  if (!fs.existsSync(bin)) throw new Error(`emulator binary not found: ${bin} (set EMULATOR_BIN)`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drive-emulator-node-'));
  // The emulator's stderr goes to a log file that is kept after the run.
  const logPath = path.join(os.tmpdir(), 'drive-emulator-peer-node.log');
  const logFd = fs.openSync(logPath, 'w');
  child = spawn(bin, ['--port', '0', '--data-dir', path.join(dataDir, 'data')], {
    stdio: ['ignore', 'pipe', logFd],
  });
  fs.closeSync(logFd);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('emulator did not print its base URL in 30 s')), 30000);
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      clearTimeout(timer);
      const url = line.trim();
      if (!url.startsWith('http://')) reject(new Error(`unexpected first line: ${JSON.stringify(line)}`));
      else resolve(url.replace(/\/+$/, ''));
      // keep draining stdout so the emulator never blocks on a full pipe
      rl.on('line', () => {});
    });
    child.once('exit', (code) => reject(new Error(`emulator exited early with ${code}; see ${logPath}`)));
  });
}

async function control(p, body) {
  const r = await fetch(`${base}/__emulator/${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  const text = await r.text();
  assert.ok(r.status < 300, `control ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function client() {
  const tok = await control('tokens', {});
  const oauth2 = new auth.OAuth2({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    endpoints: { oauth2TokenUrl: `${base}/token` },
  });
  // Only a refresh token: the client refreshes itself through the emulator's /token.
  oauth2.setCredentials({ refresh_token: tok.refresh_token });
  return driveApi({ version: 'v3', auth: oauth2, rootUrl: `${base}/` });
}

before(async () => {
  if (process.env.EMULATOR_URL) base = process.env.EMULATOR_URL.replace(/\/+$/, '');
  else base = await startEmulator();
  await fetch(`${base}/__emulator/faults`, { method: 'DELETE' });
  await control('reset');
});

after(() => {
  if (child) {
    child.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('multipart upload (CRLF, chunked), list with paging, download', async () => {
  const drive = await client();
  const rootUrl = `${base}/`;
  const md5 = (b) => crypto.createHash('md5').update(b).digest('hex');

  const bin = crypto.randomBytes(300000);
  const made = [];
  const a = await drive.files.create(
    {
      requestBody: { name: 'node/binary.bin', mimeType: 'application/octet-stream' },
      media: { mimeType: 'application/octet-stream', body: Readable.from([bin]) },
      fields: 'id,name,md5Checksum,size,mimeType',
    },
    { rootUrl },
  );
  assert.equal(a.status, 200);
  assert.equal(a.data.name, 'node/binary.bin');
  assert.equal(a.data.md5Checksum, md5(bin));
  assert.equal(a.data.size, String(bin.length));
  made.push(a.data.id);

  // Text whose content itself has CRLF and a boundary-looking line.
  const text = Buffer.from('line one\r\n--boundary-ish\r\n\r\nlast line\r\n');
  const b = await drive.files.create(
    {
      requestBody: { name: 'notes.txt' },
      media: { mimeType: 'text/plain', body: Readable.from([text]) },
      fields: 'id,md5Checksum,size',
    },
    { rootUrl },
  );
  assert.equal(b.data.md5Checksum, md5(text));
  assert.equal(b.data.size, String(text.length));
  made.push(b.data.id);

  const c = await drive.files.create({ requestBody: { name: 'c-empty-meta' }, fields: 'id' });
  made.push(c.data.id);

  const ids = [];
  let pageToken;
  let pages = 0;
  do {
    const res = await drive.files.list({
      q: 'trashed = false',
      pageSize: 2,
      pageToken,
      spaces: 'drive',
      fields: 'nextPageToken, files(id,name)',
    });
    pages += 1;
    assert.ok(pages < 10, 'paging does not terminate');
    for (const f of res.data.files) {
      assert.deepEqual(Object.keys(f).sort(), ['id', 'name']);
      ids.push(f.id);
    }
    pageToken = res.data.nextPageToken;
  } while (pageToken);
  assert.equal(pages, 2);
  assert.deepEqual([...ids].sort(), [...made].sort());

  const dl = await drive.files.get({ fileId: a.data.id, alt: 'media' }, { responseType: 'arraybuffer' });
  assert.equal(dl.status, 200);
  assert.ok(Buffer.from(dl.data).equals(bin), 'downloaded bytes differ');
});
