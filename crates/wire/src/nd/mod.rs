//! ICMPv6 Neighbor Discovery codec (RFC 4861). Filled in by the codec work.
