//! Requesting-router policy: carving delegations into links, RA prefix sets, kernel state.
