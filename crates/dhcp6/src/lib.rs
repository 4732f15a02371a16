//! Sans-IO DHCPv6 client, server and relay state machines.
