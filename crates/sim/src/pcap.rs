//! pcap output of a simulated link: classic libpcap format, link type
//! LINKTYPE_RAW (101, packets start with the IPv6 header), so Wireshark
//! and tshark read it. Checksums are computed as the kernel would.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv6Addr;
use std::path::Path;

use v6edge_core::Instant;

const LINKTYPE_RAW: u32 = 101;
const NEXT_UDP: u8 = 17;
const NEXT_ICMPV6: u8 = 58;

#[derive(Debug)]
pub struct PcapWriter {
    out: BufWriter<File>,
}

impl PcapWriter {
    pub fn create(path: &Path) -> anyhow::Result<PcapWriter> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(&0xa1b2_c3d4_u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    /// One packet at simulated time `at`: UDP with `ports` (source,
    /// destination), else ICMPv6 (`payload` is the ICMPv6 message).
    pub fn write(
        &mut self,
        at: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        ports: Option<(u16, u16)>,
        payload: &[u8],
    ) {
        let frame = ipv6_packet(src, dst, hop_limit, ports, payload);
        let us = at.as_micros();
        let mut rec = Vec::with_capacity(16 + frame.len());
        rec.extend_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        rec.extend_from_slice(&frame);
        // A capture is best effort: a full disk must not stop the run.
        let _ = self.out.write_all(&rec);
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn ipv6_packet(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    ports: Option<(u16, u16)>,
    payload: &[u8],
) -> Vec<u8> {
    let (next, mut upper) = match ports {
        Some((sp, dp)) => {
            let mut u = Vec::with_capacity(8 + payload.len());
            u.extend_from_slice(&sp.to_be_bytes());
            u.extend_from_slice(&dp.to_be_bytes());
            u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(payload);
            (NEXT_UDP, u)
        }
        None => {
            let mut u = payload.to_vec();
            if u.len() >= 4 {
                u[2] = 0;
                u[3] = 0;
            }
            (NEXT_ICMPV6, u)
        }
    };
    let sum = checksum(src, dst, next, &upper);
    let at = if next == NEXT_UDP { 6 } else { 2 };
    if upper.len() >= at + 2 {
        let sum = if next == NEXT_UDP && sum == 0 {
            0xffff
        } else {
            sum
        };
        upper[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    }
    let mut p = Vec::with_capacity(40 + upper.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(upper.len() as u16).to_be_bytes());
    p.push(next);
    p.push(hop_limit);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&upper);
    p
}

/// RFC 8200 §8.1: the upper-layer checksum over the pseudo-header.
fn checksum(src: Ipv6Addr, dst: Ipv6Addr, next: u8, upper: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], 0])
            };
            sum += u64::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(upper.len() as u32).to_be_bytes());
    add(&[0, 0, 0, next]);
    add(upper);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
