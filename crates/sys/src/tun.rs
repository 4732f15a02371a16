//! TUN devices: layer-3 virtual interfaces whose packets a process reads
//! and writes through a file descriptor, as a Mobile IPv6 node or home
//! agent does to tunnel packets itself (RFC 6275 §10.4.2, §11.3.1).
//!
//! A TUN device is made by an ioctl on `/dev/net/tun` (TUNSETIFF), not by
//! rtnetlink. [`Tun::create`] makes (or attaches to) the device named and
//! returns its packet file descriptor, non-blocking and registered with
//! tokio. Without [`Tun::set_persist`] the device disappears with the
//! descriptor; `KernelOp::SetTun` makes it persistent so the role owning
//! it can attach again after a restart. Links up/down, addresses and
//! routes on it go through [`crate::Netlink`] like on any link.
//!
//! Packets are raw IP packets (IFF_NO_PI: no 4-byte packet information
//! header), IPv6 or IPv4 by their first nibble.

use crate::SysError;
use crate::batch::PacketBatch;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// `_IOW('T', 202, int)` and `_IOW('T', 203, int)` from linux/if_tun.h.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
/// IFF_TUN: layer 3; IFF_NO_PI: no packet information header.
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
/// IFNAMSIZ, with the terminating NUL.
const IFNAMSIZ: usize = 16;

/// `struct ifreq` as TUNSETIFF reads it: the name, then the flags (the
/// rest of the 40-byte union is unused here).
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    flags: libc::c_short,
    _rest: [u8; 22],
}

/// An open TUN device.
#[derive(Debug)]
pub struct Tun {
    fd: AsyncFd<File>,
    name: String,
}

impl Tun {
    /// Creates the TUN device `name`, or attaches to the persistent one of
    /// that name, and returns its packet descriptor (non-blocking).
    pub fn create(name: &str) -> Result<Tun, SysError> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) || name.contains('/') {
            return Err(SysError::InvalidName {
                what: "TUN device",
                name: name.to_owned(),
            });
        }
        let fail = |op: &'static str| {
            let name = name.to_owned();
            move |source: io::Error| SysError::Socket {
                op,
                target: format!("tun {name}"),
                source,
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(fail("open /dev/net/tun"))?;
        let mut req = IfReq {
            name: [0; IFNAMSIZ],
            flags: IFF_TUN | IFF_NO_PI,
            _rest: [0; 22],
        };
        req.name[..bytes.len()].copy_from_slice(bytes);
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`; `req` is one
        // (repr(C), 40 bytes, NUL-terminated name) and outlives the call.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req) };
        if rc < 0 {
            return Err(fail("TUNSETIFF")(io::Error::last_os_error()));
        }
        // SAFETY: `File` owns its descriptor: it stays open, and
        // `as_raw_fd` returns that same descriptor, until the `File` is
        // dropped, which only happens with the `AsyncFd` owning it.
        let fd = unsafe {
            AsyncFd::register_with_interest(file, Interest::READABLE | Interest::WRITABLE)
        }
        .map_err(|e| fail("register with tokio")(e.into_parts().1))?;
        Ok(Tun {
            fd,
            name: name.to_owned(),
        })
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the device outlives this descriptor (TUNSETPERSIST). A
    /// persistent device is removed by deleting its link.
    pub fn set_persist(&self, persist: bool) -> Result<(), SysError> {
        // SAFETY: TUNSETPERSIST takes its argument by value; the descriptor
        // is a TUN descriptor we own.
        let rc = unsafe {
            libc::ioctl(
                self.fd.get_ref().as_raw_fd(),
                TUNSETPERSIST as _,
                libc::c_ulong::from(persist),
            )
        };
        if rc < 0 {
            return Err(SysError::Socket {
                op: "TUNSETPERSIST",
                target: format!("tun {}", self.name),
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Reads one packet; waits until one is there. A buffer shorter than
    /// the packet gets its start (the rest is dropped by the kernel).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|f| {
                let mut file: &File = f.get_ref();
                file.read(buf)
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits for packets, then reads as many as are queued, up to the
    /// batch's capacity (one `read` each: a TUN descriptor has no batched
    /// read, but one wake-up then serves the whole burst and the caller
    /// sends it on with one `sendmmsg`). Returns how many.
    pub async fn recv_batch(&self, batch: &mut PacketBatch<()>) -> io::Result<usize> {
        batch.clear();
        loop {
            let mut guard = self.fd.readable().await?;
            while let Some(slot) = batch.next_slot() {
                let mut file: &File = guard.get_inner();
                match file.read(slot) {
                    Ok(n) => batch.push(n, ()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Drained: wait for the next readiness event.
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if batch.is_empty() => return Err(e),
                    // Reported by the next call; deliver what we have.
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                return Ok(batch.len());
            }
        }
    }

    /// Writes one packet.
    pub async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|f| {
                let mut file: &File = f.get_ref();
                file.write(packet)
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}
