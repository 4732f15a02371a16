//! Linux layer: rtnetlink and sockets. The only crate with unsafe code.
