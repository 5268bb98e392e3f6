//! A gruf run in the background, for tests that signal it mid-way (Ctrl-C, SIGTERM) and
//! read what it says as it says it.

use std::path::Path;

/// A gruf run in the background, its stderr read line by line as it comes.
pub struct Running {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    seen: String,
}

impl Running {
    pub fn start(dir: &Path, args: &[&str]) -> Running {
        Running::start_with(
            std::process::Command::new(env!("CARGO_BIN_EXE_gruf")),
            dir,
            args,
        )
    }

    /// Runs `program` (gruf, or a wrapper of it) with `args` in `dir`.
    pub fn start_with(mut program: std::process::Command, dir: &Path, args: &[&str]) -> Running {
        use std::process::Stdio;
        let mut child = program
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        Running {
            child,
            stderr,
            seen: String::new(),
        }
    }

    /// Reads stderr until `text` has appeared in it.
    pub fn wait_for(&mut self, text: &str) {
        use std::io::BufRead;
        while !self.seen.contains(text) {
            let mut line = String::new();
            assert!(
                self.stderr.read_line(&mut line).unwrap() > 0,
                "gruf ended before '{text}': {}",
                self.seen
            );
            self.seen.push_str(&line);
        }
    }

    /// Sends `signal` (`INT`, `TERM`) with `kill`.
    pub fn signal(&self, signal: &str) {
        assert!(std::process::Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
    }

    /// Waits for the end: the exit code, stdout, and all of stderr.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        use std::io::Read;
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        let mut out = String::new();
        (self.child.stdout.take().unwrap())
            .read_to_string(&mut out)
            .unwrap();
        let status = self.child.wait().unwrap();
        (status.code(), out, self.seen + &rest)
    }
}
