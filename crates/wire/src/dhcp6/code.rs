//! Code points: message types (RFC 8415 §7.3) and option codes (RFC 8415
//! §21 and the IANA "DHCPv6 Option Codes" registry).
//!
//! Unknown code points are values, never errors: they convert losslessly in
//! both directions, so they survive parse and emit unchanged.

use crate::codec::macros::enum_with_unknown;

enum_with_unknown! {
    /// DHCPv6 message type (RFC 8415 §7.3).
    pub enum MessageType(u8) {
        Solicit = 1,
        Advertise = 2,
        Request = 3,
        Confirm = 4,
        Renew = 5,
        Rebind = 6,
        Reply = 7,
        Release = 8,
        Decline = 9,
        Reconfigure = 10,
        InformationRequest = 11,
        RelayForw = 12,
        RelayRepl = 13,
    }
}

impl MessageType {
    /// Relay-forw and Relay-reply use the relay format (RFC 8415 §9); every
    /// other type, unknown ones included, the client/server format (§8).
    pub fn is_relay(self) -> bool {
        matches!(self, MessageType::RelayForw | MessageType::RelayRepl)
    }
}

enum_with_unknown! {
    /// DHCPv6 option code. Codes without a typed [`DhcpOption`] variant
    /// still get a name here when an ORO commonly lists them.
    ///
    /// [`DhcpOption`]: super::DhcpOption
    pub enum OptionCode(u16) {
        ClientId = 1,
        ServerId = 2,
        IaNa = 3,
        IaTa = 4,
        IaAddr = 5,
        Oro = 6,
        Preference = 7,
        ElapsedTime = 8,
        RelayMessage = 9,
        Authentication = 11,
        ServerUnicast = 12,
        StatusCode = 13,
        RapidCommit = 14,
        UserClass = 15,
        VendorClass = 16,
        VendorOpts = 17,
        InterfaceId = 18,
        ReconfigureMessage = 19,
        ReconfigureAccept = 20,
        SipServerDomains = 21,
        SipServerAddresses = 22,
        DnsServers = 23,
        DomainList = 24,
        IaPd = 25,
        IaPrefix = 26,
        NisServers = 27,
        NispServers = 28,
        NisDomainName = 29,
        NispDomainName = 30,
        SntpServers = 31,
        InformationRefreshTime = 32,
        RemoteId = 37,
        SubscriberId = 38,
        ClientFqdn = 39,
        NtpServer = 56,
        PdExclude = 67,
        ClientLinkLayerAddress = 79,
        SolMaxRt = 82,
        InfMaxRt = 83,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_convert_losslessly() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
        for v in 0..=u16::MAX {
            assert_eq!(u16::from(OptionCode::from(v)), v);
        }
        assert_eq!(MessageType::from(13), MessageType::RelayRepl);
        assert_eq!(MessageType::from(14), MessageType::Unknown(14));
        assert_eq!(OptionCode::from(67), OptionCode::PdExclude);
        assert_eq!(OptionCode::from(10), OptionCode::Unknown(10));
        assert!(MessageType::RelayForw.is_relay());
        assert!(!MessageType::Unknown(12).is_relay());
    }
}
