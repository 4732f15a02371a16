//! Room for many packets moved by one system call (recvmmsg, sendmmsg, a
//! drained TUN device): the userspace tunnel's batched I/O
//! (`../shared/reference/mobility.md` §2.2). One TCP sender's burst is some
//! 45 full-size packets (a 64 KB TSO segment); moved one system call and
//! one wake-up each, the tunnel spent its time in the kernel entry path
//! rather than on packets.

/// Packets one batch holds by default: above a TSO burst.
pub const DEFAULT_BATCH: usize = 64;

/// Octets per packet slot: the largest IPv6 packet without jumbograms
/// (RFC 8200 §3: 40 + 65535), so nothing is ever truncated. The memory is
/// reserved, not touched: pages are only committed where packets land.
pub const SLOT: usize = 40 + 65535;

/// `capacity` packet slots of [`SLOT`] octets, and what was received in
/// them: each packet's length and its metadata `M` (outer addresses for a
/// tunnel socket, nothing for a TUN device).
#[derive(Debug)]
pub struct PacketBatch<M> {
    buf: Vec<u8>,
    capacity: usize,
    received: Vec<(usize, M)>,
}

impl<M: Copy> PacketBatch<M> {
    /// Room for `capacity` packets (at least one).
    pub fn new(capacity: usize) -> PacketBatch<M> {
        let capacity = capacity.max(1);
        PacketBatch {
            buf: vec![0; capacity * SLOT],
            capacity,
            received: Vec::with_capacity(capacity),
        }
    }

    /// How many packets fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many packets the last receive left here.
    pub fn len(&self) -> usize {
        self.received.len()
    }

    pub fn is_empty(&self) -> bool {
        self.received.is_empty()
    }

    /// The packets received, in arrival order, with their metadata.
    pub fn iter(&self) -> impl Iterator<Item = (M, &[u8])> + '_ {
        self.received
            .iter()
            .enumerate()
            .map(|(i, &(len, meta))| (meta, &self.buf[i * SLOT..i * SLOT + len.min(SLOT)]))
    }

    /// Forgets what was received (the receive calls do it first).
    pub(crate) fn clear(&mut self) {
        self.received.clear();
    }

    /// The slot the next packet goes to, or `None` when full.
    pub(crate) fn next_slot(&mut self) -> Option<&mut [u8]> {
        let i = self.received.len();
        (i < self.capacity).then(|| &mut self.buf[i * SLOT..(i + 1) * SLOT])
    }

    /// Every slot from the next one on, for a call that fills several.
    pub(crate) fn free_slots(&mut self) -> impl Iterator<Item = &mut [u8]> {
        let used = self.received.len();
        self.buf.chunks_exact_mut(SLOT).skip(used)
    }

    /// Records a packet of `len` octets in the next slot.
    pub(crate) fn push(&mut self, len: usize, meta: M) {
        if self.received.len() < self.capacity {
            self.received.push((len.min(SLOT), meta));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_packets_in_order() {
        let mut batch: PacketBatch<u8> = PacketBatch::new(3);
        assert!(batch.is_empty());
        for (i, len) in [(1u8, 5usize), (2, 0), (3, 1500)] {
            let slot = batch.next_slot().expect("room");
            slot[..len].fill(i);
            batch.push(len, i);
        }
        assert!(batch.next_slot().is_none());
        batch.push(9, 9); // ignored: full
        let got: Vec<(u8, Vec<u8>)> = batch.iter().map(|(m, p)| (m, p.to_vec())).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, vec![1; 5]));
        assert_eq!(got[1], (2, vec![]));
        assert_eq!(got[2], (3, vec![3; 1500]));
        batch.clear();
        assert_eq!(batch.len(), 0);
        assert_eq!(batch.free_slots().count(), 3);
    }

    #[test]
    fn capacity_is_at_least_one() {
        let batch: PacketBatch<()> = PacketBatch::new(0);
        assert_eq!(batch.capacity(), 1);
    }
}
