//! The Reconfigure Key Authentication Protocol (RFC 8415 §20.4).
//!
//! A server that accepts a client's Reconfigure Accept hands the client a
//! 128-bit reconfigure key in an Authentication option (protocol 3,
//! algorithm 1 = HMAC-MD5, RDM 0 = monotonic counter, type 1 = key) of a
//! Reply. A later Reconfigure carries an Authentication option of type 2
//! whose 16-octet value is HMAC-MD5 over the whole Reconfigure message as
//! sent, computed with that value zeroed (the type octet is kept).
//!
//! The digest covers the received octets, so verification works on the raw
//! message rather than on a re-encoding (a server's option order may differ
//! from ours). Both directions live here so the server can sign with the
//! same code the client verifies with.
//!
//! Panic contract: no function here panics on any input.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

/// RFC 8415 §20.4: protocol value of the Reconfigure Key Authentication Protocol.
pub const PROTOCOL_RKAP: u8 = 3;
/// RFC 8415 §20.4: algorithm 1 = HMAC-MD5.
pub const ALGORITHM_HMAC_MD5: u8 = 1;
/// RFC 8415 §20.3: replay detection method 0 = monotonically increasing counter.
pub const RDM_MONOTONIC: u8 = 0;
/// RFC 8415 §20.4.1: authentication information type 1 carries the key (Reply).
pub const INFO_TYPE_KEY: u8 = 1;
/// RFC 8415 §20.4.1: authentication information type 2 carries the HMAC-MD5 digest (Reconfigure).
pub const INFO_TYPE_HMAC: u8 = 2;
/// RFC 8415 §21.11: OPTION_AUTH.
pub const OPTION_AUTH: u16 = 11;

/// protocol, algorithm, RDM, 8-octet replay detection.
const AUTH_FIXED_LEN: usize = 11;
/// type + 16-octet value.
const RKAP_INFO_LEN: usize = 17;
/// msg-type + transaction-id.
const CLIENT_HEADER_LEN: usize = 4;

/// The body of an RKAP Authentication option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RkapAuth {
    pub replay_detection: u64,
    /// [`INFO_TYPE_KEY`] or [`INFO_TYPE_HMAC`].
    pub info_type: u8,
    pub value: [u8; 16],
}

impl RkapAuth {
    /// Reads an Authentication option body; `None` unless it is RKAP with
    /// HMAC-MD5, RDM 0 and a 17-octet authentication information field.
    pub fn parse(body: &[u8]) -> Option<RkapAuth> {
        if body.len() != AUTH_FIXED_LEN + RKAP_INFO_LEN {
            return None;
        }
        if body[0] != PROTOCOL_RKAP || body[1] != ALGORITHM_HMAC_MD5 || body[2] != RDM_MONOTONIC {
            return None;
        }
        let replay_detection = u64::from_be_bytes(body[3..11].try_into().ok()?);
        let info_type = body[11];
        let value: [u8; 16] = body[12..28].try_into().ok()?;
        Some(RkapAuth {
            replay_detection,
            info_type,
            value,
        })
    }

    /// The option body (without code and length).
    pub fn to_body(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(AUTH_FIXED_LEN + RKAP_INFO_LEN);
        v.extend_from_slice(&[PROTOCOL_RKAP, ALGORITHM_HMAC_MD5, RDM_MONOTONIC]);
        v.extend_from_slice(&self.replay_detection.to_be_bytes());
        v.push(self.info_type);
        v.extend_from_slice(&self.value);
        v
    }
}

/// Why a Reconfigure failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RkapError {
    #[error("message too short for a client/server message header")]
    Truncated,
    #[error("no Authentication option")]
    Missing,
    #[error("more than one Authentication option")]
    Duplicate,
    #[error("Authentication option is not RKAP/HMAC-MD5/RDM 0 with a digest")]
    NotRkapDigest,
    #[error("HMAC-MD5 digest does not verify")]
    BadDigest,
}

/// Octet offset of the body of the only top-level Authentication option in
/// a client/server message, and its length.
fn find_auth(msg: &[u8]) -> Result<(usize, usize), RkapError> {
    if msg.len() < CLIENT_HEADER_LEN {
        return Err(RkapError::Truncated);
    }
    let mut at = CLIENT_HEADER_LEN;
    let mut found = None;
    while at < msg.len() {
        let Some(head) = msg.get(at..at + 4) else {
            return Err(RkapError::Truncated);
        };
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let body = at + 4;
        let end = body
            .checked_add(len)
            .filter(|e| *e <= msg.len())
            .ok_or(RkapError::Truncated)?;
        if code == OPTION_AUTH {
            if found.is_some() {
                return Err(RkapError::Duplicate);
            }
            found = Some((body, len));
        }
        at = end;
    }
    found.ok_or(RkapError::Missing)
}

fn digest(msg: &[u8], key: &[u8; 16]) -> Hmac<Md5> {
    // new_from_slice fails only for key lengths the MAC cannot take; HMAC
    // takes keys of any length, so the fallback is never used. It still
    // keeps this path free of panics.
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Md5> as KeyInit>::new(&Default::default()));
    mac.update(msg);
    mac
}

/// RFC 8415 §20.4.4: checks a received Reconfigure's digest with `key`.
/// Returns the replay detection value for the caller's monotonicity check.
pub fn verify(msg: &[u8], key: &[u8; 16]) -> Result<u64, RkapError> {
    let (body, len) = find_auth(msg)?;
    let auth = msg
        .get(body..body + len)
        .and_then(RkapAuth::parse)
        .ok_or(RkapError::NotRkapDigest)?;
    if auth.info_type != INFO_TYPE_HMAC {
        return Err(RkapError::NotRkapDigest);
    }
    // RFC 8415 §20.4.2: the digest is computed with the 16-octet HMAC-MD5
    // field set to zero; the type octet stays as sent.
    let mut zeroed = msg.to_vec();
    let value_at = body + AUTH_FIXED_LEN + 1;
    zeroed[value_at..value_at + 16].fill(0);
    digest(&zeroed, key)
        .verify_slice(&auth.value)
        .map_err(|_| RkapError::BadDigest)?;
    Ok(auth.replay_detection)
}

/// RFC 8415 §20.4.2 (server side, and tests): fills in the digest of a
/// Reconfigure that already carries an RKAP Authentication option of type 2
/// (its value is overwritten).
pub fn sign(msg: &mut [u8], key: &[u8; 16]) -> Result<(), RkapError> {
    let (body, len) = find_auth(msg)?;
    let auth = msg
        .get(body..body + len)
        .and_then(RkapAuth::parse)
        .ok_or(RkapError::NotRkapDigest)?;
    if auth.info_type != INFO_TYPE_HMAC {
        return Err(RkapError::NotRkapDigest);
    }
    let value_at = body + AUTH_FIXED_LEN + 1;
    msg[value_at..value_at + 16].fill(0);
    let out = digest(msg, key).finalize().into_bytes();
    msg[value_at..value_at + 16].copy_from_slice(&out);
    Ok(())
}

/// A new reconfigure key (RFC 8415 §20.4.2: 128 bits, "cryptographically
/// strong random or pseudorandom"): HMAC-MD5 keyed with the server's 256-bit
/// secret over a label and `input` (the server passes a per-machine counter
/// and the client's DUID, so no two keys of one secret repeat). HMAC is a
/// pseudorandom function under its key whatever MD5's collision weakness;
/// the secret comes from the daemon's random source, never from the
/// machine's replayable jitter seed.
pub fn derive_key(secret: &[u8; 32], input: &[u8]) -> [u8; 16] {
    // As in `digest`: HMAC takes keys of any length, the fallback is unused.
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Md5> as KeyInit>::new(&Default::default()));
    mac.update(b"v6edge rkap reconfigure key v1");
    mac.update(input);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Reconfigure (type 10, xid 0) with a Reconfigure Message option
    /// (19, Renew) and an RKAP digest option.
    fn reconfigure(rd: u64) -> Vec<u8> {
        let mut m = vec![10, 0, 0, 0];
        m.extend_from_slice(&[0, 19, 0, 1, 5]);
        let auth = RkapAuth {
            replay_detection: rd,
            info_type: INFO_TYPE_HMAC,
            value: [0xaa; 16],
        }
        .to_body();
        m.extend_from_slice(&OPTION_AUTH.to_be_bytes());
        m.extend_from_slice(&(auth.len() as u16).to_be_bytes());
        m.extend_from_slice(&auth);
        m
    }

    #[test]
    fn sign_then_verify() {
        let key = [7u8; 16];
        let mut m = reconfigure(42);
        sign(&mut m, &key).unwrap();
        assert_eq!(verify(&m, &key), Ok(42));
        assert_eq!(verify(&m, &[8u8; 16]), Err(RkapError::BadDigest));
        // Any flipped octet outside the digest breaks it.
        for i in 0..m.len() {
            let mut t = m.clone();
            t[i] ^= 0x01;
            assert!(verify(&t, &key).is_err(), "octet {i}");
        }
    }

    #[test]
    fn derived_keys_differ_by_secret_and_input() {
        let a = derive_key(&[1; 32], b"client a");
        assert_eq!(a, derive_key(&[1; 32], b"client a"));
        assert_ne!(a, derive_key(&[2; 32], b"client a"));
        assert_ne!(a, derive_key(&[1; 32], b"client b"));
        assert_ne!(a, [0; 16]);
    }

    #[test]
    fn rfc2202_hmac_md5_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let out = mac.finalize().into_bytes();
        let expect = [
            0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
            0xb7, 0x38,
        ];
        assert_eq!(out.as_slice(), &expect);
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(verify(&[10, 0], &[0; 16]), Err(RkapError::Truncated));
        assert_eq!(verify(&[10, 0, 0, 0], &[0; 16]), Err(RkapError::Missing));
        assert_eq!(
            verify(&[10, 0, 0, 0, 0, 11, 0, 40], &[0; 16]),
            Err(RkapError::Truncated)
        );
        let mut two = reconfigure(1);
        let tail = two[9..].to_vec();
        two.extend_from_slice(&tail);
        assert_eq!(verify(&two, &[0; 16]), Err(RkapError::Duplicate));
        let mut key_type = reconfigure(1);
        let n = key_type.len();
        key_type[n - 17] = INFO_TYPE_KEY;
        assert_eq!(verify(&key_type, &[0; 16]), Err(RkapError::NotRkapDigest));
    }
}
