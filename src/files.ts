/**
 * What the server keeps on disk is its owner's alone: the data directory is 0700 and every file the
 * server writes into it 0600 (the mail, the token signing key, the TLS key). Modes are set with
 * chmod after creating, so they hold whatever the process umask is.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * The files the server makes in its data directory (SQLite gives a database's -wal, -shm and
 * -journal files the database file's own mode; a data directory of an earlier version has them 0644).
 */
const SERVER_FILES = [
  'mailvault.db',
  'mailvault.db-wal',
  'mailvault.db-shm',
  'mailvault.db-journal',
  'signing-key.json',
  'server.json',
  'tls-key.pem',
  'tls-cert.pem',
];

/** Creates `dir` if it is missing, it and every parent it had to create 0700. */
export function makePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const first = fs.mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  for (let d = target; ; d = path.dirname(d)) {
    fs.chmodSync(d, PRIVATE_DIR_MODE);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/**
 * At start: creates the data directory, or takes group and other access away from an existing one
 * this user owns and from the server's files in it (a data directory made by an earlier version).
 * Calls `tightened` with each path whose mode it changed. Other files in the directory are not touched.
 */
export function securePrivateDir(dir: string, tightened: (file: string, from: number, to: number) => void = () => {}): void {
  makePrivateDir(dir);
  const tighten = (p: string, to: number) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    // Not through a link, and never someone else's file (chmod would fail, and it is not ours to change).
    if (st.isSymbolicLink() || !ownedByMe(st)) return;
    const from = st.mode & 0o777;
    if ((from & 0o077) === 0) return;
    fs.chmodSync(p, to);
    tightened(p, from, to);
  };
  tighten(path.resolve(dir), PRIVATE_DIR_MODE);
  for (const name of SERVER_FILES) {
    tighten(path.join(dir, name), PRIVATE_FILE_MODE);
    tighten(path.join(dir, name + '.tmp'), PRIVATE_FILE_MODE);
  }
}

/** Creates `file` empty and 0600 if it does not exist (for a file another library then opens, such as SQLite's). */
export function createPrivateFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, PRIVATE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `file` whole and 0600: into `file.tmp`, then renamed over it, so a reader never sees half of it. */
export function writePrivateFile(file: string, data: string): void {
  const tmp = file + '.tmp';
  const fd = fs.openSync(tmp, 'w', PRIVATE_FILE_MODE);
  try {
    // An existing .tmp (a crash between write and rename) keeps its mode through open(): set it.
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    fs.writeFileSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function ownedByMe(st: fs.Stats): boolean {
  return typeof process.getuid !== 'function' || st.uid === process.getuid();
}
