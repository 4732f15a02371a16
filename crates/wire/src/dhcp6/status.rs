//! Status Code option body (RFC 8415 §21.13) and the status codes of
//! RFC 8415 §21.13 / IANA "DHCPv6 Status Codes".
//!
//! The message is "a UTF-8 encoded text string suitable for display to an
//! end user, which MUST NOT be null-terminated". Peers do not always obey;
//! a message that is not UTF-8 is not an error: [`Status::message`] holds a
//! lossy decoding and the original octets are kept and re-emitted.

use super::Reader;
use super::error::DecodeError;
use crate::codec::Writer;

/// A DHCPv6 status code. The numbering is fixed by IANA; unknown codes are
/// kept as [`StatusCode::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusCode {
    Success,
    UnspecFail,
    NoAddrsAvail,
    NoBinding,
    NotOnLink,
    UseMulticast,
    NoPrefixAvail,
    Unknown(u16),
}

impl From<u16> for StatusCode {
    fn from(v: u16) -> Self {
        match v {
            0 => StatusCode::Success,
            1 => StatusCode::UnspecFail,
            2 => StatusCode::NoAddrsAvail,
            3 => StatusCode::NoBinding,
            4 => StatusCode::NotOnLink,
            5 => StatusCode::UseMulticast,
            6 => StatusCode::NoPrefixAvail,
            other => StatusCode::Unknown(other),
        }
    }
}

impl From<StatusCode> for u16 {
    fn from(v: StatusCode) -> u16 {
        match v {
            StatusCode::Success => 0,
            StatusCode::UnspecFail => 1,
            StatusCode::NoAddrsAvail => 2,
            StatusCode::NoBinding => 3,
            StatusCode::NotOnLink => 4,
            StatusCode::UseMulticast => 5,
            StatusCode::NoPrefixAvail => 6,
            StatusCode::Unknown(other) => other,
        }
    }
}

/// The body of a Status Code option.
///
/// Build with [`Status::new`]; `code` and `message` may be changed freely
/// afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: StatusCode,
    pub message: String,
    /// The received octets when they were not UTF-8 (then `message` is
    /// their lossy decoding). Emitted instead of `message` for as long as
    /// `message` still equals that decoding.
    raw_message: Option<Vec<u8>>,
}

impl Status {
    pub fn new(code: StatusCode, message: impl Into<String>) -> Status {
        Status {
            code,
            message: message.into(),
            raw_message: None,
        }
    }

    /// Success with an empty message.
    pub fn success() -> Status {
        Status::new(StatusCode::Success, String::new())
    }

    pub fn is_success(&self) -> bool {
        self.code == StatusCode::Success
    }

    /// The message octets as they go on the wire.
    pub fn message_bytes(&self) -> &[u8] {
        match &self.raw_message {
            Some(raw) if String::from_utf8_lossy(raw) == self.message.as_str() => raw,
            _ => self.message.as_bytes(),
        }
    }

    /// True when the received message was not valid UTF-8.
    pub fn message_was_invalid_utf8(&self) -> bool {
        self.raw_message.is_some()
    }

    pub(crate) fn body_len(&self) -> usize {
        2 + self.message_bytes().len()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) {
        w.put_u16(self.code.into());
        w.put_slice(self.message_bytes());
    }

    /// `r` is exactly the option body.
    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Status, DecodeError> {
        let code = StatusCode::from(r.u16()?);
        let raw = r.rest();
        Ok(match std::str::from_utf8(raw) {
            Ok(text) => Status::new(code, text),
            Err(_) => Status {
                code,
                message: String::from_utf8_lossy(raw).into_owned(),
                raw_message: Some(raw.to_vec()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit(s: &Status) -> Vec<u8> {
        let mut buf = vec![0; s.body_len()];
        s.emit_body(&mut Writer::new(&mut buf));
        buf
    }

    #[test]
    fn invalid_utf8_is_kept_until_changed() {
        let body = [0, 6, b'n', 0xff, b'o'];
        let mut s = Status::parse_body(&mut Reader::new(&body)).unwrap();
        assert_eq!(s.code, StatusCode::NoPrefixAvail);
        assert!(s.message_was_invalid_utf8());
        assert_eq!(s.message, "n\u{fffd}o");
        assert_eq!(emit(&s), body);
        s.message = "none".into();
        assert_eq!(emit(&s), b"\x00\x06none");
    }

    #[test]
    fn codes_round_trip() {
        for v in 0..20u16 {
            assert_eq!(u16::from(StatusCode::from(v)), v);
        }
        let s = Status::parse_body(&mut Reader::new(&[0, 0])).unwrap();
        assert_eq!(s, Status::success());
        assert!(Status::parse_body(&mut Reader::new(&[0])).is_err());
    }
}
