//! Identity associations and their address/prefix options: IA_NA (RFC 8415
//! §21.4), IA_TA (§21.5), IAADDR (§21.6), IA_PD (§21.21), IAPREFIX
//! (§21.22), and the Prefix Exclude option (RFC 6603 §4.2), which is only
//! meaningful inside an IAPREFIX.
//!
//! Each of these carries its own options after a fixed part. An option
//! length shorter than the fixed part is `BadLength`; the nested options
//! must fill the rest exactly. Lifetimes (preferred, valid) are
//! [`Lifetime`]s; T1 and T2 are plain seconds because 0 there means "the
//! client chooses" (§21.4) rather than "now", and 0xffffffff "never renew".
//! Whether T1 <= T2 or preferred <= valid is a protocol check left to the
//! client (§21.4, §21.6), not a syntax error.

use std::net::Ipv6Addr;

use crate::Lifetime;

use super::Reader;
use super::error::{DecodeError, DecodeErrorKind};
use super::option::{Ctx, Options};
use super::status::Status;
use crate::codec::Writer;

/// IA_NA: non-temporary addresses (RFC 8415 §21.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaNa {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub options: Options,
}

/// IA_TA: temporary addresses (RFC 8415 §21.5), no T1/T2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaTa {
    pub iaid: u32,
    pub options: Options,
}

/// IA_PD: delegated prefixes (RFC 8415 §21.21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaPd {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub options: Options,
}

/// IAADDR: one address of an IA_NA or IA_TA (RFC 8415 §21.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaAddr {
    pub addr: Ipv6Addr,
    pub preferred: Lifetime,
    pub valid: Lifetime,
    pub options: Options,
}

/// IAPREFIX: one prefix of an IA_PD (RFC 8415 §21.22). `prefix` is kept
/// as received, host bits included (a hint like `::/60` is all zeros);
/// `v6edge-prefix` validates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IaPrefix {
    pub preferred: Lifetime,
    pub valid: Lifetime,
    pub prefix_len: u8,
    pub prefix: Ipv6Addr,
    pub options: Options,
}

/// Prefix Exclude (RFC 6603 §4.2): the one prefix inside a delegated
/// prefix the requesting router must not use (the one the delegating
/// router keeps for the link between them).
///
/// `subnet_id` is the excluded prefix's bits after the delegated prefix
/// length, left-aligned and padded to whole octets, kept as received.
/// Inside an IAPREFIX the parser checks RFC 6603 §4.2's rules against the
/// enclosing prefix length (see [`PdExclude::fits`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdExclude {
    pub prefix_len: u8,
    pub subnet_id: Vec<u8>,
}

/// RFC 8415 §21.4 / §21.21: IAID, T1, T2.
const IA_FIXED: usize = 12;
/// RFC 8415 §21.5: IAID.
const IA_TA_FIXED: usize = 4;
/// RFC 8415 §21.6: address, preferred, valid.
const IAADDR_FIXED: usize = 24;
/// RFC 8415 §21.22: preferred, valid, prefix-length, prefix.
const IAPREFIX_FIXED: usize = 25;

/// Fails with `BadLength` unless the option body holds its fixed part.
/// `start` is the offset of the option header.
fn require_fixed(body: &Reader<'_>, fixed: usize, start: usize) -> Result<(), DecodeError> {
    if body.remaining() < fixed {
        return Err(DecodeError::new(
            DecodeErrorKind::BadLength {
                len: body.remaining(),
            },
            start,
        ));
    }
    Ok(())
}

/// IA_NA and IA_PD share their layout (RFC 8415 §21.4, §21.21): IAID, T1,
/// T2, then options. One definition of the methods for both.
macro_rules! ia_with_timers {
    ($ty:ident, $doc_new:literal, $doc_status:literal) => {
        impl $ty {
            #[doc = $doc_new]
            pub fn new(iaid: u32, t1: u32, t2: u32) -> $ty {
                $ty {
                    iaid,
                    t1,
                    t2,
                    options: Options::new(),
                }
            }

            #[doc = $doc_status]
            pub fn status(&self) -> Option<&Status> {
                self.options.status()
            }

            pub(crate) fn body_len(&self) -> usize {
                IA_FIXED + self.options.buffer_len()
            }

            pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
                w.put_u32(self.iaid);
                w.put_u32(self.t1);
                w.put_u32(self.t2);
                self.options.emit(w);
            }

            pub(crate) fn parse_body(
                r: &mut Reader<'_>,
                start: usize,
                ctx: Ctx,
            ) -> Result<$ty, DecodeError> {
                require_fixed(r, IA_FIXED, start)?;
                Ok($ty {
                    iaid: r.u32()?,
                    t1: r.u32()?,
                    t2: r.u32()?,
                    options: Options::parse_nested(r, ctx, None)?,
                })
            }
        }
    };
}

ia_with_timers!(
    IaNa,
    "An IA_NA without addresses (a Solicit asks for one like this).",
    "The IA's own Status Code option (RFC 8415 §21.4), if present."
);
ia_with_timers!(
    IaPd,
    "An IA_PD without prefixes; push an [`IaPrefix`] with prefix `::` and a length to hint the size wanted (RFC 8415 §18.2.1).",
    "The IA's own Status Code option (RFC 8415 §21.21), if present."
);

impl IaNa {
    pub fn addresses(&self) -> impl Iterator<Item = &IaAddr> {
        self.options.ia_addrs()
    }
}

impl IaTa {
    pub fn new(iaid: u32) -> IaTa {
        IaTa {
            iaid,
            options: Options::new(),
        }
    }

    pub fn addresses(&self) -> impl Iterator<Item = &IaAddr> {
        self.options.ia_addrs()
    }

    pub fn status(&self) -> Option<&Status> {
        self.options.status()
    }

    pub(crate) fn body_len(&self) -> usize {
        IA_TA_FIXED + self.options.buffer_len()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
        w.put_u32(self.iaid);
        self.options.emit(w);
    }

    pub(crate) fn parse_body(
        r: &mut Reader<'_>,
        start: usize,
        ctx: Ctx,
    ) -> Result<IaTa, DecodeError> {
        require_fixed(r, IA_TA_FIXED, start)?;
        Ok(IaTa {
            iaid: r.u32()?,
            options: Options::parse_nested(r, ctx, None)?,
        })
    }
}

impl IaPd {
    pub fn prefixes(&self) -> impl Iterator<Item = &IaPrefix> {
        self.options.ia_prefixes()
    }
}

impl IaAddr {
    pub fn new(addr: Ipv6Addr, preferred: Lifetime, valid: Lifetime) -> IaAddr {
        IaAddr {
            addr,
            preferred,
            valid,
            options: Options::new(),
        }
    }

    pub fn status(&self) -> Option<&Status> {
        self.options.status()
    }

    pub(crate) fn body_len(&self) -> usize {
        IAADDR_FIXED + self.options.buffer_len()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
        w.put_ipv6(self.addr);
        w.put_u32(self.preferred.to_wire());
        w.put_u32(self.valid.to_wire());
        self.options.emit(w);
    }

    pub(crate) fn parse_body(
        r: &mut Reader<'_>,
        start: usize,
        ctx: Ctx,
    ) -> Result<IaAddr, DecodeError> {
        require_fixed(r, IAADDR_FIXED, start)?;
        Ok(IaAddr {
            addr: r.ipv6()?,
            preferred: Lifetime::from_wire(r.u32()?),
            valid: Lifetime::from_wire(r.u32()?),
            options: Options::parse_nested(r, ctx, None)?,
        })
    }
}

impl IaPrefix {
    pub fn new(prefix: Ipv6Addr, prefix_len: u8, preferred: Lifetime, valid: Lifetime) -> IaPrefix {
        IaPrefix {
            preferred,
            valid,
            prefix_len,
            prefix,
            options: Options::new(),
        }
    }

    /// A prefix-length hint for a Solicit (RFC 8415 §18.2.1): `::/len`
    /// with zero lifetimes.
    pub fn hint(prefix_len: u8) -> IaPrefix {
        IaPrefix::new(
            Ipv6Addr::UNSPECIFIED,
            prefix_len,
            Lifetime::ZERO,
            Lifetime::ZERO,
        )
    }

    pub fn pd_exclude(&self) -> Option<&PdExclude> {
        self.options.pd_exclude()
    }

    /// The excluded prefix of this IAPREFIX's PD Exclude option, as
    /// (address, length), if there is one that fits.
    pub fn excluded_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let x = self.pd_exclude()?;
        Some((
            x.excluded_prefix(self.prefix, self.prefix_len)?,
            x.prefix_len,
        ))
    }

    pub fn status(&self) -> Option<&Status> {
        self.options.status()
    }

    pub(crate) fn body_len(&self) -> usize {
        IAPREFIX_FIXED + self.options.buffer_len()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
        w.put_u32(self.preferred.to_wire());
        w.put_u32(self.valid.to_wire());
        w.put_u8(self.prefix_len);
        w.put_ipv6(self.prefix);
        self.options.emit(w);
    }

    pub(crate) fn parse_body(
        r: &mut Reader<'_>,
        start: usize,
        ctx: Ctx,
    ) -> Result<IaPrefix, DecodeError> {
        require_fixed(r, IAPREFIX_FIXED, start)?;
        let preferred = Lifetime::from_wire(r.u32()?);
        let valid = Lifetime::from_wire(r.u32()?);
        let len_at = r.offset();
        let prefix_len = r.u8()?;
        if prefix_len > 128 {
            return Err(DecodeError::new(
                DecodeErrorKind::BadValue("prefix length above 128"),
                len_at,
            ));
        }
        let prefix = r.ipv6()?;
        // RFC 6603 §4.2: a PD Exclude inside is checked against this length.
        let options = Options::parse_nested(r, ctx, Some(prefix_len))?;
        Ok(IaPrefix {
            preferred,
            valid,
            prefix_len,
            prefix,
            options,
        })
    }
}

/// The prefix of `addr` of length `len` as a u128 mask.
fn mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    }
}

impl PdExclude {
    /// RFC 6603 §4.2: the number of subnet-ID octets for an exclusion of
    /// `excluded_len` inside a delegation of `delegated_len`, or `None`
    /// unless `delegated_len < excluded_len <= 128`.
    pub fn subnet_id_len(delegated_len: u8, excluded_len: u8) -> Option<usize> {
        if excluded_len > 128 || excluded_len <= delegated_len {
            return None;
        }
        Some(usize::from(excluded_len - delegated_len - 1) / 8 + 1)
    }

    /// Encodes the exclusion of `excluded/excluded_len` from the delegated
    /// prefix `delegated/delegated_len`. `None` unless the excluded prefix
    /// is longer than, and inside, the delegated one.
    pub fn new(
        delegated: Ipv6Addr,
        delegated_len: u8,
        excluded: Ipv6Addr,
        excluded_len: u8,
    ) -> Option<PdExclude> {
        let octets = PdExclude::subnet_id_len(delegated_len, excluded_len)?;
        let d = u128::from(delegated);
        let e = u128::from(excluded);
        if (d ^ e) & mask(delegated_len) != 0 {
            return None;
        }
        // delegated_len < excluded_len <= 128, so the shift is below 128.
        let bits = (e & mask(excluded_len)) << u32::from(delegated_len);
        let subnet_id = bits.to_be_bytes()[..octets].to_vec();
        Some(PdExclude {
            prefix_len: excluded_len,
            subnet_id,
        })
    }

    /// True when this option is well-formed for a delegated prefix of
    /// `delegated_len` (RFC 6603 §4.2).
    pub fn fits(&self, delegated_len: u8) -> bool {
        PdExclude::subnet_id_len(delegated_len, self.prefix_len) == Some(self.subnet_id.len())
    }

    /// The excluded prefix's address, built from the delegated prefix and
    /// the subnet ID; `None` if the option does not fit `delegated_len`.
    /// Padding bits past the excluded length are ignored.
    pub fn excluded_prefix(&self, delegated: Ipv6Addr, delegated_len: u8) -> Option<Ipv6Addr> {
        if !self.fits(delegated_len) {
            return None;
        }
        let mut octets = [0u8; 16];
        octets[..self.subnet_id.len()].copy_from_slice(&self.subnet_id);
        let subnet = u128::from_be_bytes(octets) >> u32::from(delegated_len);
        let addr = (u128::from(delegated) & mask(delegated_len)) | (subnet & mask(self.prefix_len));
        Some(Ipv6Addr::from(addr))
    }

    pub(crate) fn body_len(&self) -> usize {
        1 + self.subnet_id.len()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
        w.put_u8(self.prefix_len);
        w.put_slice(&self.subnet_id);
    }

    /// `delegated_len` is the enclosing IAPREFIX's prefix length, when
    /// there is one.
    pub(crate) fn parse_body(
        r: &mut Reader<'_>,
        start: usize,
        delegated_len: Option<u8>,
    ) -> Result<PdExclude, DecodeError> {
        let len = r.remaining();
        // RFC 6603 §4.2: prefix-len and at least one subnet-ID octet; a
        // subnet ID has at most 127 bits.
        if !(2..=17).contains(&len) {
            return Err(DecodeError::new(DecodeErrorKind::BadLength { len }, start));
        }
        let len_at = r.offset();
        let prefix_len = r.u8()?;
        let subnet_id = r.rest().to_vec();
        let x = PdExclude {
            prefix_len,
            subnet_id,
        };
        match delegated_len {
            Some(d) if !x.fits(d) => Err(DecodeError::new(
                DecodeErrorKind::BadValue("PD exclude does not fit its IAPREFIX"),
                len_at,
            )),
            None if prefix_len == 0 || prefix_len > 128 => Err(DecodeError::new(
                DecodeErrorKind::BadValue("PD exclude prefix length not in 1..=128"),
                len_at,
            )),
            _ => Ok(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn pd_exclude_rfc6603_encoding() {
        // 2001:db8:1200::/56 delegated, 2001:db8:1200:ff::/64 excluded:
        // 8 bits of subnet ID, one octet.
        let x = PdExclude::new(a("2001:db8:1200::"), 56, a("2001:db8:1200:ff::"), 64).unwrap();
        assert_eq!(
            x,
            PdExclude {
                prefix_len: 64,
                subnet_id: vec![0xff]
            }
        );
        assert_eq!(
            x.excluded_prefix(a("2001:db8:1200::"), 56),
            Some(a("2001:db8:1200:ff::"))
        );
        // /48 -> /64: 16 bits, two octets; /60 -> /64: 4 bits, one octet, left-aligned.
        let x = PdExclude::new(a("2001:db8:1::"), 48, a("2001:db8:1:abcd::"), 64).unwrap();
        assert_eq!(x.subnet_id, vec![0xab, 0xcd]);
        let x = PdExclude::new(a("2001:db8:1:a0::"), 60, a("2001:db8:1:a5::"), 64).unwrap();
        assert_eq!(x.subnet_id, vec![0x50]);
        assert_eq!(
            x.excluded_prefix(a("2001:db8:1:a0::"), 60),
            Some(a("2001:db8:1:a5::"))
        );
        assert!(x.fits(56), "one octet covers 56..64 as well");
        assert!(!x.fits(48) && !x.fits(64));
        // Outside the delegated prefix, or not longer than it: no option.
        assert_eq!(
            PdExclude::new(a("2001:db8:1::"), 48, a("2001:db8:2::"), 64),
            None
        );
        assert_eq!(
            PdExclude::new(a("2001:db8:1::"), 48, a("2001:db8:1::"), 48),
            None
        );
        assert_eq!(PdExclude::subnet_id_len(0, 128), Some(16));
        assert_eq!(PdExclude::subnet_id_len(127, 128), Some(1));
        assert_eq!(PdExclude::subnet_id_len(128, 128), None);
    }
}
