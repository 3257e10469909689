/**
 * A real Dovecot IMAP server for tests: its own configuration, state and maildirs in a temporary
 * directory, listening on a free loopback port, started in the foreground and stopped at the end.
 * Works as root (mail processes run as `nobody`) and as an unprivileged user (everything runs as
 * that user, no chroot). Without the `dovecot` binary, `dovecotOrSkip` skips the test with a
 * message, except under CI, where a missing Dovecot fails the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Dovecot {
  host: string;
  port: number;
  /** The implicit TLS port (with `tls` only). */
  tlsPort: number | undefined;
  /** Adds a user with a plaintext password (the passwd-file is re-read on change). */
  addUser(name: string, password: string): void;
  /**
   * Puts messages straight into a user's INBOX as maildir files (thousands a second, far faster than
   * APPEND): `flags` in maildir letters (S seen, F flagged, R answered), the file time is the internal date.
   */
  deliver(user: string, messages: Array<{ mime: Buffer; flags?: string; date?: Date }>): void;
  /** Runs doveadm against this instance; returns its standard output. */
  doveadm(args: string[]): string;
  /** Stops the server (its clients lose their connections), waits `downMs`, and starts it again on the same port and mail. */
  restart(downMs?: number): Promise<void>;
  /** The Dovecot log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

const BINARY_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...BINARY_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why Dovecot cannot run here, or undefined when it can. */
export function dovecotMissing(): string | undefined {
  if (!findBinary('dovecot')) return "Dovecot is not installed (Debian: 'apt-get install dovecot-imapd'); the IMAP source tests need it";
  if (!findBinary('doveadm')) return "doveadm is not installed (it comes with 'dovecot-core')";
  return undefined;
}

/**
 * For `test(name, { skip: dovecotSkip() }, ...)`: a skip message when Dovecot is missing locally. Under
 * CI a missing Dovecot throws instead, so the run fails rather than silently skipping.
 */
export function dovecotSkip(): string | false {
  const missing = dovecotMissing();
  if (!missing) return false;
  if (process.env.CI) throw new Error(`${missing}; CI must run them (.ci/run installs it)`);
  return `skipped: ${missing}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the server greets with `* OK`. */
async function greeting(port: number, deadline: number, exited: () => string | undefined): Promise<void> {
  for (;;) {
    const gone = exited();
    if (gone) throw new Error(gone);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let data = '';
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1000, () => done(false));
      sock.on('data', (d) => {
        data += d.toString('latin1');
        if (data.includes('\r\n')) done(data.startsWith('* OK'));
      });
      sock.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Dovecot did not accept connections on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DovecotOptions {
  /** Capabilities to advertise instead of Dovecot's own (e.g. without CONDSTORE/QRESYNC). */
  capabilities?: string;
  /** A certificate and key (PEM files): STARTTLS on `port` and implicit TLS on `tlsPort`. */
  tls?: { cert: string; key: string };
}

export async function startDovecot(o: DovecotOptions = {}): Promise<Dovecot> {
  const missing = dovecotMissing();
  if (missing) throw new Error(missing);
  const dovecot = findBinary('dovecot')!;
  const doveadmBin = findBinary('doveadm')!;
  // a short path: base_dir holds unix sockets (sun_path is about 108 bytes)
  const root = fs.mkdtempSync(path.join(fs.existsSync('/tmp') ? '/tmp' : os.tmpdir(), 'dv-'));
  // the auth process runs as another user when started as root: it must reach the users file
  fs.chmodSync(root, 0o755);
  const asRoot = process.getuid?.() === 0;
  const me = os.userInfo();
  const uid = asRoot ? 65534 : me.uid;
  const gid = asRoot ? 65534 : me.gid;
  const name = `mvt${path.basename(root).slice(3).toLowerCase()}`;
  for (const d of ['run', 'state', 'home']) fs.mkdirSync(path.join(root, d), { mode: 0o755 });
  const users = path.join(root, 'users');
  fs.writeFileSync(users, '', { mode: 0o644 });
  const conf = path.join(root, 'dovecot.conf');
  const logFile = path.join(root, 'dovecot.log');
  let port: number;
  let tlsPort: number;
  let child: ChildProcess | undefined;

  const rootless = asRoot
    ? ''
    : `default_internal_user = ${me.username}
default_internal_group = ${groupName(gid) ?? me.username}
default_login_user = ${me.username}
service anvil {
  chroot =
}
`;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    tlsPort = o.tls ? await freePort() : 0;
    fs.writeFileSync(
      conf,
      `instance_name = ${name}
base_dir = ${root}/run
state_dir = ${root}/state
log_path = ${logFile}
protocols = imap
listen = 127.0.0.1
${o.tls ? `ssl = yes\nssl_cert = <${o.tls.cert}\nssl_key = <${o.tls.key}` : 'ssl = no'}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = ${Math.min(uid, 500)}
first_valid_gid = ${Math.min(gid, 500)}
mail_location = maildir:~/Maildir
mail_fsync = never
${o.capabilities ? `imap_capability = ${o.capabilities}\n` : ''}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${users}
}
userdb {
  driver = passwd-file
  args = username_format=%n ${users}
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tlsPort}
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
${rootless}`,
    );
    try {
      child = await master();
      break;
    } catch (e) {
      // another process took the port between the probe and Dovecot's bind: try another one
      if (attempt < 3 && /Address already in use/.test(String((e as Error).message))) continue;
      fs.rmSync(root, { recursive: true, force: true });
      throw e;
    }
  }
  let proc = child!;

  /** Starts the master process on the configuration written above; resolves once it greets. */
  async function master(): Promise<ChildProcess> {
    let exitMessage: string | undefined;
    // its own process group, so that stopping it stops the mail processes it forked too
    const started = spawn(dovecot, ['-c', conf, '-F'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    started.stdout!.on('data', (d) => (output += d));
    started.stderr!.on('data', (d) => (output += d));
    started.once('exit', (code, signal) => {
      exitMessage = `Dovecot exited (${code ?? signal}): ${output}${readLog(logFile)}`;
    });
    try {
      await greeting(port, Date.now() + 10_000, () => exitMessage);
      return started;
    } catch (e) {
      try {
        process.kill(-started.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      throw e;
    }
  }

  async function stopMaster(): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-proc.pid!, signal);
      } catch {
        // already gone
      }
    };
    group('SIGTERM');
    const timer = setTimeout(() => group('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // the mail processes of connected clients may outlive the master briefly
    group('SIGKILL');
  }

  return {
    host: '127.0.0.1',
    port,
    tlsPort: o.tls ? tlsPort : undefined,
    addUser(user, password) {
      const home = path.join(root, 'home', user);
      fs.mkdirSync(home, { recursive: true, mode: 0o700 });
      if (asRoot) fs.chownSync(home, uid, gid);
      fs.appendFileSync(users, `${user}:{PLAIN}${password}:${uid}:${gid}::${home}\n`);
    },
    deliver(user, messages) {
      const maildir = path.join(root, 'home', user, 'Maildir');
      for (const d of ['', 'cur', 'new', 'tmp']) {
        fs.mkdirSync(path.join(maildir, d), { recursive: true, mode: 0o700 });
        if (asRoot) fs.chownSync(path.join(maildir, d), uid, gid);
      }
      messages.forEach((m, i) => {
        const at = m.date ?? new Date();
        const file = path.join(maildir, 'cur', `${Math.floor(at.getTime() / 1000)}.M${i}P${process.pid}R${Math.random().toString(36).slice(2, 8)}.mvt,S=${m.mime.length}:2,${[...(m.flags ?? '')].sort().join('')}`);
        fs.writeFileSync(file, m.mime);
        fs.utimesSync(file, at, at);
        if (asRoot) fs.chownSync(file, uid, gid);
      });
    },
    doveadm(args) {
      const r = spawnSync(doveadmBin, ['-c', conf, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`doveadm ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    log: () => readLog(logFile),
    async restart(downMs = 0) {
      await stopMaster();
      await new Promise((r) => setTimeout(r, downMs));
      proc = await master();
    },
    async stop() {
      await stopMaster();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function groupName(gid: number): string | undefined {
  try {
    const line = fs
      .readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid));
    return line?.split(':')[0];
  } catch {
    return undefined;
  }
}
