//! DHCPv6 codec (RFC 8415). Filled in by the codec work.
