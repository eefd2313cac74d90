//! `uq repl` under a real pseudo-terminal (libc's posix_openpt): Tab completion and persistent history.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process on the slave side of a pty; everything it writes is collected from the master.
struct Pty {
    master: File,
    child: Child,
    seen: Arc<Mutex<String>>,
}

impl Pty {
    fn spawn(history: &Path, dir: &Path) -> Pty {
        // SAFETY: plain libc calls on descriptors this function owns; results are checked.
        let (master_fd, slave_name) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt failed");
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            let mut buf = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()), 0);
            let ws = libc::winsize {
                ws_row: 40,
                ws_col: 120,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            libc::ioctl(fd, libc::TIOCSWINSZ, &ws);
            (fd, CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        };
        let master = unsafe { File::from_raw_fd(master_fd) };
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave_name)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_uq"));
        cmd.arg("repl")
            .current_dir(dir)
            .env("UQ_HISTORY", history)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        let seen = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let mut answer = master.try_clone().unwrap();
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                // rustyline asks where the cursor is; answer "row 1, column 1" as a terminal would.
                for _ in 0..text.matches("\x1b[6n").count() {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                sink.lock().unwrap().push_str(&text);
            }
        });
        Pty { master, child, seen }
    }

    /// Wait until the output holds `needle` at least `count` times.
    fn wait_for(&self, needle: &str, count: usize) {
        let start = Instant::now();
        loop {
            let seen = self.seen.lock().unwrap().clone();
            if seen.matches(needle).count() >= count {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out waiting for {needle:?} ×{count}; output so far:\n{seen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the child has written nothing for a while (it is waiting for keys).
    fn quiet(&self) {
        let mut last = usize::MAX;
        loop {
            let now = self.seen.lock().unwrap().len();
            if now == last {
                return;
            }
            last = now;
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    fn finish(mut self) -> String {
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(30), "uq repl did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.master.as_raw_fd();
        let out = self.seen.lock().unwrap().clone();
        out
    }
}

#[test]
fn tab_completes_names_and_history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");

    let mut pty = Pty::spawn(&history, dir.path());
    pty.wait_for("uq> ", 1);
    pty.quiet();
    pty.send("let sigma_noise = 0.25\r");
    pty.wait_for("let sigma_noise : real = 0.25", 1);
    pty.quiet();
    // `sigma_n` + Tab completes to the only name in scope with that prefix (else: E0101 not in scope).
    for keys in ["sigma_n", "\t", "\r"] {
        pty.send(keys);
        pty.quiet();
    }
    pty.wait_for("real = 0.25", 2);
    // Command names complete too.
    for keys in [":hel", "\t", "\r"] {
        pty.send(keys);
        pty.quiet();
    }
    pty.wait_for("this list", 1);
    pty.send("\x04");
    let first = pty.finish();
    assert!(!first.contains("E0101"), "{first}");

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("let sigma_noise = 0.25"), "history file: {saved}");
    assert!(saved.contains(":help"), "history file: {saved}");

    // A new session: Up arrow three times recalls the definition typed in the first one.
    let mut pty = Pty::spawn(&history, dir.path());
    pty.wait_for("uq> ", 1);
    pty.quiet();
    for keys in ["\x1b[A", "\x1b[A", "\x1b[A", "\r"] {
        pty.send(keys);
        pty.quiet();
    }
    pty.wait_for("let sigma_noise : real = 0.25", 1);
    pty.send(":quit\r");
    pty.finish();
}

#[test]
fn ctrl_c_stops_a_run_but_not_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(&dir.path().join("history"), dir.path());
    pty.wait_for("uq> ", 1);
    pty.quiet();
    pty.send("prior x : real ~ Normal(0, 1)\r");
    pty.wait_for("prior x : real ~ Normal(0, 1)\r\n", 1);
    pty.quiet();
    pty.send(":sample 1000000 warmup=10 chains=1\r");
    // The progress bar shows the draws so far, e.g. ` 1234/1000010 `.
    pty.wait_for("/1000010", 1);
    pty.send("\x03");
    pty.wait_for("(partial: interrupted)", 1);
    pty.quiet();
    pty.send("1 + 1\r");
    pty.wait_for("real = 2", 1);
    pty.quiet();
    pty.send(":summary\r");
    pty.wait_for("R_hat", 1);
    pty.quiet();
    pty.send(":quit\r");
    let out = pty.finish();
    assert!(out.contains("interrupted: stopping the run"), "{out}");
}

#[test]
fn lines_typed_ahead_are_all_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(&dir.path().join("history"), dir.path());
    pty.wait_for("uq> ", 1);
    pty.quiet();
    // Three lines in one write, as a paste or `tmux send-keys` delivers them: none is dropped.
    pty.send("let a1 = 1\rlet a2 = a1 + 1\rlet a3 = a2 + 1\r");
    pty.wait_for("let a3 : real = 3", 1);
    pty.quiet();
    pty.send("prior x : real ~ Normal(0, 1)\r");
    pty.wait_for("prior x : real ~ Normal(0, 1)\r\n", 1);
    pty.quiet();
    // Lines typed while a command runs wait for the next prompt.
    pty.send(":sample 200000 warmup=100 chains=1\r");
    pty.wait_for("sampler: ", 1);
    pty.send("let b = 7\rb * 6\r");
    pty.wait_for("real = 42", 1);
    pty.quiet();
    pty.send(":quit\r");
    let out = pty.finish();
    assert!(out.contains("let a2 : real = 2"), "{out}");
}
