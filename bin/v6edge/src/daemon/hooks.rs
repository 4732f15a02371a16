//! Hook programs (`hook = "/path"` in `[server]`, `[uplink]`, `[relay]`,
//! `[home-agent]`, `[mobile-node]`): run one at a time, in the order the
//! events happened, each for at most [`HOOK_TIMEOUT`], with at most
//! [`MAX_QUEUED`] waiting. A slow hook therefore delays the hooks after it,
//! never the daemon (the loop only queues), and can never pile up
//! processes; what does not fit the queue is dropped and counted, and so
//! are failures and timeouts (`v6edge_hooks_total{result}`).
//!
//! In order matters: a firewall script must see "granted" before
//! "released" for the same prefix, which concurrent runs would not
//! guarantee.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

/// A hook still running after this is killed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(30);
/// Hook runs waiting behind a slow one; past this, new ones are dropped.
pub const MAX_QUEUED: usize = 1024;

/// One run: the program and its environment.
#[derive(Debug)]
pub struct HookRun {
    pub program: PathBuf,
    pub env: Vec<(String, String)>,
}

/// What became of the hook runs so far.
#[derive(Debug, Default)]
pub struct HookCounts {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub timed_out: AtomicU64,
    pub dropped: AtomicU64,
}

impl HookCounts {
    /// (result label, count) for metrics.
    pub fn snapshot(&self) -> [(&'static str, u64); 4] {
        [
            ("ok", self.ok.load(Ordering::Relaxed)),
            ("failed", self.failed.load(Ordering::Relaxed)),
            ("timeout", self.timed_out.load(Ordering::Relaxed)),
            ("dropped", self.dropped.load(Ordering::Relaxed)),
        ]
    }
}

/// The loop's end of the hook queue.
#[derive(Debug)]
pub struct Hooks {
    queue: Option<mpsc::Sender<HookRun>>,
    worker: Option<tokio::task::JoinHandle<()>>,
    counts: Arc<HookCounts>,
}

impl Hooks {
    /// Starts the worker task (within a tokio runtime).
    pub fn start() -> Hooks {
        Hooks::with(HOOK_TIMEOUT, MAX_QUEUED)
    }

    fn with(timeout: Duration, queued: usize) -> Hooks {
        let (queue, runs) = mpsc::channel(queued);
        let counts = Arc::new(HookCounts::default());
        let worker = tokio::spawn(worker(runs, timeout, counts.clone()));
        Hooks {
            queue: Some(queue),
            worker: Some(worker),
            counts,
        }
    }

    /// At exit: lets the queued runs finish, for at most `limit` (the
    /// events of the stop itself, a deregistration, are in the queue).
    pub async fn finish(&mut self, limit: Duration) {
        self.queue = None;
        if let Some(w) = self.worker.take()
            && tokio::time::timeout(limit, w).await.is_err()
        {
            tracing::warn!("hooks still queued at exit were abandoned");
        }
    }

    /// Queues a run; never waits.
    pub fn run(&self, run: HookRun) {
        let Some(queue) = &self.queue else { return };
        if let Err(e) = queue.try_send(run) {
            let n = self.counts.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per power of two: a stuck hook does not flood the log.
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, reason = %e, "hook queue full: hook runs dropped");
            }
        }
    }

    pub fn counts(&self) -> &HookCounts {
        &self.counts
    }
}

async fn worker(mut runs: mpsc::Receiver<HookRun>, timeout: Duration, counts: Arc<HookCounts>) {
    while let Some(run) = runs.recv().await {
        let mut cmd = tokio::process::Command::new(&run.program);
        cmd.envs(run.env)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %run.program.display(), error = %e, "cannot run the hook");
                continue;
            }
        };
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(s)) if s.success() => {
                counts.ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(s)) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %run.program.display(), status = %s, "hook failed");
            }
            Ok(Err(e)) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %run.program.display(), error = %e, "hook lost");
            }
            Err(_) => {
                counts.timed_out.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(hook = %run.program.display(), timeout = ?timeout, "hook killed: it ran too long");
                let _ = child.kill().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    async fn settle(hooks: &Hooks, total: u64) {
        for _ in 0..200 {
            let done: u64 = hooks.counts().snapshot().iter().map(|(_, n)| n).sum();
            if done >= total {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("hooks did not finish: {:?}", hooks.counts().snapshot());
    }

    /// In order, one at a time; a slow hook is killed at the timeout; a
    /// full queue drops and counts; a failing one is counted.
    #[tokio::test(flavor = "current_thread")]
    async fn ordered_bounded_and_counted() {
        let dir = std::env::temp_dir().join(format!("v6edge-hooks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let append = script(&dir, "append", &format!("echo \"$N\" >> {}", log.display()));
        let hooks = Hooks::with(Duration::from_millis(300), 64);
        for n in 0..20 {
            hooks.run(HookRun {
                program: append.clone(),
                env: vec![("N".into(), n.to_string())],
            });
        }
        settle(&hooks, 20).await;
        let order: Vec<u32> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(order, (0..20).collect::<Vec<_>>());

        let slow = script(&dir, "slow", "sleep 5");
        let fail = script(&dir, "fail", "exit 3");
        let hooks = Hooks::with(Duration::from_millis(300), 2);
        hooks.run(HookRun {
            program: slow.clone(),
            env: vec![],
        });
        // The worker took the first; two wait; the rest are dropped.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for _ in 0..5 {
            hooks.run(HookRun {
                program: fail.clone(),
                env: vec![],
            });
        }
        settle(&hooks, 6).await;
        let c = hooks.counts().snapshot();
        assert_eq!(
            c,
            [("ok", 0), ("failed", 2), ("timeout", 1), ("dropped", 3)]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
