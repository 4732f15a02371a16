//! Test harness: network namespaces created (and deleted) by the test, and
//! threads that enter one of them and run a current-thread tokio runtime.
//!
//! setns(2) switches only the calling thread, so each namespace gets its own
//! OS thread; a multi-threaded runtime would run tasks on threads still in
//! the original namespace.

#![allow(dead_code)] // each test binary uses a different part

use std::fs::File;
use std::future::Future;
use std::net::Ipv6Addr;
use std::process::Command;
use std::time::{Duration, Instant};

/// Bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(3);

/// True when we can create namespaces; otherwise the test prints why it is
/// skipped and returns.
pub fn can_run(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        true
    } else {
        eprintln!("SKIPPED {test}: needs root to create network namespaces");
        false
    }
}

/// Runs a command, panicking with its stderr on failure; returns stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace named `v6sys-<pid>-<tag>`, deleted on drop. Derefs
/// to an [`NsHandle`] for commands.
pub struct Netns {
    handle: NsHandle,
}

/// The name of a namespace plus helpers; cheap to clone into the thread
/// running inside it (only the owning [`Netns`] deletes the namespace).
#[derive(Clone, Debug)]
pub struct NsHandle {
    pub name: String,
}

impl std::ops::Deref for Netns {
    type Target = NsHandle;
    fn deref(&self) -> &NsHandle {
        &self.handle
    }
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("v6sys-{}-{tag}", std::process::id());
        // A leftover from a crashed run with a recycled pid.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run("ip", &["netns", "add", &name]);
        let ns = Netns {
            handle: NsHandle { name },
        };
        // DAD off before any link exists (new links copy `default`; DAD is
        // skipped only when both `all` and the link say 0), and no kernel
        // RSs that could be mistaken for ours.
        ns.exec(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.router_solicitations=0",
            "net.ipv6.conf.default.router_solicitations=0",
        ]);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn handle(&self) -> NsHandle {
        self.handle.clone()
    }
}

impl NsHandle {
    /// `ip -n <ns> args...`
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `ip netns exec <ns> args...`
    pub fn exec(&self, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    pub fn ifindex(&self, ifname: &str) -> u32 {
        let out = self.ip(&["-o", "link", "show", "dev", ifname]);
        out.split(':')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no index in {out:?}"))
    }

    /// Waits until `ifname` has a non-tentative link-local address.
    pub fn wait_link_local(&self, ifname: &str) -> Ipv6Addr {
        let deadline = Instant::now() + WAIT;
        loop {
            let out = self.ip(&["-6", "-o", "addr", "show", "dev", ifname, "scope", "link"]);
            if !out.contains("tentative") {
                let addr = out.split_whitespace().skip_while(|w| *w != "inet6").nth(1);
                if let Some(a) = addr
                    .and_then(|a| a.split('/').next())
                    .and_then(|a| a.parse().ok())
                {
                    return a;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no link-local address on {ifname} in {}: {out}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `f` on a thread inside this namespace, on a current-thread
    /// runtime, and returns its result (re-raising its panic).
    pub fn spawn<F, Fut, T>(&self, f: F) -> std::thread::JoinHandle<T>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("setns into the test namespace");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(f())
        })
    }

    /// [`Netns::spawn`] and wait.
    pub fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        join(self.spawn(f))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys its links (and veth peers).
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Joins a namespace thread, re-raising its panic in the test thread.
pub fn join<T>(h: std::thread::JoinHandle<T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Two namespaces joined by a veth pair `v6a` (in `a`) — `v6b` (in `b`),
/// both up with link-local addresses ready.
pub struct Pair {
    pub a: Netns,
    pub b: Netns,
    pub if_a: u32,
    pub if_b: u32,
    pub ll_a: Ipv6Addr,
    pub ll_b: Ipv6Addr,
}

pub const IF_A: &str = "v6a";
pub const IF_B: &str = "v6b";

impl Pair {
    pub fn new(tag: &str) -> Pair {
        let a = Netns::new(&format!("{tag}-a"));
        let b = Netns::new(&format!("{tag}-b"));
        // Created inside `a` with the peer placed straight into `b`, so the
        // names never meet in the root namespace.
        a.ip(&[
            "link", "add", IF_A, "type", "veth", "peer", "name", IF_B, "netns", &b.name,
        ]);
        a.ip(&["link", "set", IF_A, "up"]);
        b.ip(&["link", "set", IF_B, "up"]);
        let ll_a = a.wait_link_local(IF_A);
        let ll_b = b.wait_link_local(IF_B);
        let if_a = a.ifindex(IF_A);
        let if_b = b.ifindex(IF_B);
        Pair {
            a,
            b,
            if_a,
            if_b,
            ll_a,
            ll_b,
        }
    }
}
