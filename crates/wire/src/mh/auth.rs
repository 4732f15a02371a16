//! The octets the two Mobility Header authenticators cover, so a machine
//! can compute and check them without re-serialising anything (this crate
//! does no cryptography):
//!
//! - RFC 4285 §5 (MN-HA, and the same layout for MN-AAA): Mobility Data =
//!   care-of address | home address | the Mobility Header from Payload
//!   Proto up to and including the option's SPI field, checksum set to 0;
//!   the authenticator is First(96, HMAC_SHA1(key, Mobility Data)).
//! - RFC 6275 §5.2.6 (Binding Authorization Data, return routability):
//!   care-of address | correspondent address | the Mobility Header with
//!   checksum 0 and without the Authenticator field itself.
//!
//! Both options must be the last (padding aside), which
//! [`MobilityHeader::parse`] enforces. The ranges are found on the bytes as
//! received, which a parsed message re-emits exactly.
//!
//! Panic contract: none of these functions panics, for any input.

use std::net::Ipv6Addr;
use std::ops::Range;

use super::error::MhError;
use super::message::{MobilityHeader, field};
use super::option::MhOption;

/// 96 bits: the authenticator length of RFC 4285 §5.1 and RFC 6275
/// §5.2.6.
pub const AUTHENTICATOR_LEN: usize = 12;

/// What a keyed hash must cover to produce or check one authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInput {
    /// The input of the keyed hash, addresses first.
    pub data: Vec<u8>,
    /// Where the authenticator sits in the Mobility Header bytes.
    pub authenticator: Range<usize>,
}

impl AuthInput {
    /// The authenticator in `mh_bytes` (empty if the range is not there).
    pub fn received<'a>(&self, mh_bytes: &'a [u8]) -> &'a [u8] {
        mh_bytes.get(self.authenticator.clone()).unwrap_or(&[])
    }

    /// Writes the first octets of `mac` over the authenticator in
    /// `mh_bytes` (a message emitted with a placeholder, e.g.
    /// [`MhOption::mn_ha_placeholder`]); then fill the checksum, which the
    /// authenticator does not cover. Does nothing where the range is not
    /// in `mh_bytes`.
    pub fn fill(&self, mh_bytes: &mut [u8], mac: &[u8]) {
        if let Some(slot) = mh_bytes.get_mut(self.authenticator.clone()) {
            for (to, from) in slot.iter_mut().zip(mac) {
                *to = *from;
            }
        }
    }
}

/// The option offsets of a parsed message: each option with the offset of
/// its Type octet.
fn placed(message: &MobilityHeader) -> impl Iterator<Item = (usize, &MhOption)> {
    let start = message.body.fixed_len();
    message.options.iter().scan(start, |at, o| {
        let here = *at;
        *at += o.buffer_len();
        Some((here, o))
    })
}

/// `mh_bytes` with the checksum field zeroed.
fn zero_checksum(mh_bytes: &[u8]) -> Vec<u8> {
    let mut v = mh_bytes.to_vec();
    if let Some(c) = v.get_mut(field::CHECKSUM) {
        c.fill(0);
    }
    v
}

/// RFC 4285 §5: the input of the Mobility Message Authentication option
/// of `mh_bytes` for a message between `care_of` and `home`, or `None`
/// when the message has no such option. Errors are those of
/// [`MobilityHeader::parse`].
pub fn mobility_message_auth_input(
    care_of: Ipv6Addr,
    home: Ipv6Addr,
    mh_bytes: &[u8],
) -> Result<Option<AuthInput>, MhError> {
    let message = MobilityHeader::parse(mh_bytes)?;
    let Some((at, MhOption::Authentication(a))) =
        placed(&message).find(|(_, o)| matches!(o, MhOption::Authentication(_)))
    else {
        return Ok(None);
    };
    // Type, Length, Subtype, SPI (4): the SPI ends 7 octets in.
    let spi_end = at + 7;
    let mut data = Vec::with_capacity(32 + spi_end);
    data.extend_from_slice(&care_of.octets());
    data.extend_from_slice(&home.octets());
    data.extend_from_slice(zero_checksum(mh_bytes).get(..spi_end).unwrap_or(&[]));
    Ok(Some(AuthInput {
        data,
        authenticator: spi_end..spi_end + a.authenticator.len(),
    }))
}

/// RFC 6275 §5.2.6: the input of the Binding Authorization Data option of
/// `mh_bytes` for a message between `care_of` and `correspondent`, or
/// `None` when it has none.
pub fn binding_authorization_input(
    care_of: Ipv6Addr,
    correspondent: Ipv6Addr,
    mh_bytes: &[u8],
) -> Result<Option<AuthInput>, MhError> {
    let message = MobilityHeader::parse(mh_bytes)?;
    let Some((at, MhOption::BindingAuthorizationData(d))) =
        placed(&message).find(|(_, o)| matches!(o, MhOption::BindingAuthorizationData(_)))
    else {
        return Ok(None);
    };
    let authenticator = at + 2..at + 2 + d.len();
    let zeroed = zero_checksum(mh_bytes);
    let mut data = Vec::with_capacity(32 + zeroed.len());
    data.extend_from_slice(&care_of.octets());
    data.extend_from_slice(&correspondent.octets());
    data.extend_from_slice(zeroed.get(..authenticator.start).unwrap_or(&[]));
    data.extend_from_slice(zeroed.get(authenticator.end..).unwrap_or(&[]));
    Ok(Some(AuthInput {
        data,
        authenticator,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mh::{BindingUpdate, BuFlags, FourSeconds, fill_checksum};

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn mn_ha_input_covers_up_to_the_spi_with_checksum_zero() {
        let (coa, hoa, ha) = (
            ip("2001:db8:2::5"),
            ip("2001:db8:1::200"),
            ip("2001:db8:1::1"),
        );
        let bu = BindingUpdate {
            sequence: 9,
            flags: BuFlags::home_registration(),
            lifetime: FourSeconds(100),
        };
        let m = MobilityHeader::new(bu)
            .with_option(MhOption::ReplayProtection(0x0102_0304_0506_0708))
            .with_option(MhOption::mn_ha_placeholder(1000));
        let mut bytes = m.to_bytes();
        fill_checksum(hoa, ha, &mut bytes);
        let input = mobility_message_auth_input(coa, hoa, &bytes)
            .unwrap()
            .unwrap();
        // The SPI ends 7 octets into the option; the authenticator follows.
        assert_eq!(input.authenticator.len(), AUTHENTICATOR_LEN);
        assert_eq!(input.data.len(), 32 + input.authenticator.start);
        assert_eq!(&input.data[..16], &coa.octets());
        assert_eq!(&input.data[16..32], &hoa.octets());
        assert_eq!(input.data[32 + 4..32 + 6], [0, 0], "checksum zeroed");
        let spi = &input.data[input.data.len() - 4..];
        assert_eq!(spi, 1000u32.to_be_bytes());
        let mac = [0x5au8; 20];
        input.fill(&mut bytes, &mac);
        assert_eq!(input.received(&bytes), &mac[..12]);
        // The authenticator is outside its own input.
        let again = mobility_message_auth_input(coa, hoa, &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(again.data[32 + 6..], input.data[32 + 6..]);
        // (4n+1) alignment held.
        assert_eq!((input.authenticator.start - 7) % 4, 1);
    }

    #[test]
    fn bad_input_leaves_the_authenticator_out() {
        let m = MobilityHeader::new(BindingUpdate::default())
            .with_option(MhOption::NonceIndices {
                home: 1,
                care_of: 2,
            })
            .with_option(MhOption::BindingAuthorizationData(vec![0xee; 12]));
        let bytes = m.to_bytes();
        let (coa, cn) = (ip("2001:db8:2::5"), ip("2001:db8:9::9"));
        let input = binding_authorization_input(coa, cn, &bytes)
            .unwrap()
            .unwrap();
        assert_eq!(input.received(&bytes), [0xee; 12]);
        assert_eq!(input.data.len(), 32 + bytes.len() - 12);
        assert!(!input.data.windows(12).any(|w| w == [0xee; 12]));
        assert_eq!((input.authenticator.start - 2) % 8, 2, "8n+2");
        assert_eq!(mobility_message_auth_input(coa, cn, &bytes), Ok(None));
    }
}
