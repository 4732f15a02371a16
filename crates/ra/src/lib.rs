//! Sans-IO Router Advertisement sender (RFC 4861 §6.2, RFC 9096).
