//! `v6edge mobility caps` (MT-26): the kernel facilities Mobile IPv6 can
//! use (`../shared/reference/mobility.md` §2.2), probed by
//! `v6edge_sys::probe` in a scratch network namespace, and what v6edge
//! would choose from them (`v6edge_mip6::dataplane::Capabilities`).
//!
//! Panic contract: nothing here panics.

use std::fmt::Write as _;

use anyhow::Context as _;
use serde::Serialize;
use v6edge_mip6::dataplane::Capabilities;
use v6edge_sys::probe::{Facility, probe_mobility};

/// The `--json` document.
#[derive(Debug, Serialize)]
pub struct CapsReport {
    pub facilities: Vec<FacilityReport>,
    pub choices: Choices,
}

#[derive(Debug, Serialize)]
pub struct FacilityReport {
    pub name: &'static str,
    pub present: bool,
    pub detail: String,
    pub used_for: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Choices {
    /// What `dataplane = "auto"` would run: `seg6`, `tun`, or null.
    pub data_plane_auto: Option<&'static str>,
    /// The default data plane (TUN + IPv6-in-IPv6) works here.
    pub tun_available: bool,
    /// The seg6 fast path works here.
    pub seg6_available: bool,
    /// How HAO/RH2 are best received here: `nfqueue`, else the
    /// `af-packet` fallback, or null.
    pub signalling_capture: Option<&'static str>,
}

/// The choices the probes lead to.
pub fn capabilities(facilities: &[Facility]) -> Capabilities {
    let has = |name: &str| facilities.iter().any(|f| f.name == name && f.present);
    Capabilities {
        tun: has("tun"),
        raw_ipv6_in_ipv6: has("raw-ipv6-in-ipv6"),
        af_packet: has("af-packet"),
        nft_queue: has("nft-queue"),
        xt_nfqueue: has("xt-nfqueue"),
        seg6_encap_red: has("seg6-encap-red"),
        seg6local_end_dt6: has("seg6local-end-dt6"),
        policy_rules: has("policy-rules"),
    }
}

pub fn report(facilities: Vec<Facility>) -> CapsReport {
    let caps = capabilities(&facilities);
    CapsReport {
        choices: Choices {
            data_plane_auto: caps.auto_data_plane().map(|k| k.as_str()),
            tun_available: caps.tun_data_plane(),
            seg6_available: caps.seg6_data_plane(),
            signalling_capture: caps.signalling_capture().map(|c| c.as_str()),
        },
        facilities: facilities
            .into_iter()
            .map(|f| FacilityReport {
                name: f.name,
                present: f.present,
                detail: f.detail,
                used_for: f.used_for,
            })
            .collect(),
    }
}

/// One line per facility, then the choices.
pub fn format_human(r: &CapsReport) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    for f in &r.facilities {
        let _ = writeln!(
            out,
            "{:<19} {:<7} {} ({})",
            f.name,
            if f.present { "present" } else { "absent" },
            f.detail,
            f.used_for
        );
    }
    let none = "none";
    let _ = writeln!(
        out,
        "data plane (auto): {}; seg6 fast path {}; HAO/RH2 reception (preferred): {}",
        r.choices.data_plane_auto.unwrap_or(none),
        if r.choices.seg6_available {
            "available"
        } else {
            "unavailable"
        },
        r.choices.signalling_capture.unwrap_or(none)
    );
    out
}

/// Runs the probes and prints the report.
pub fn run(json: bool) -> anyhow::Result<()> {
    let facilities =
        probe_mobility().context("cannot probe in a scratch network namespace (needs root)")?;
    let r = report(facilities);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).context("cannot print the capabilities")?
        );
    } else {
        print!("{}", format_human(&r));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &'static str, present: bool) -> Facility {
        Facility {
            name,
            used_for: "test",
            present,
            detail: if present {
                "ok".into()
            } else {
                "ENOENT".into()
            },
        }
    }

    #[test]
    fn report_names_each_facility_and_the_choices() {
        let r = report(vec![
            f("tun", true),
            f("raw-ipv6-in-ipv6", true),
            f("af-packet", true),
            f("nft-queue", false),
            f("xt-nfqueue", false),
            f("seg6-encap-red", false),
        ]);
        assert_eq!(r.choices.data_plane_auto, Some("tun"));
        assert_eq!(r.choices.signalling_capture, Some("af-packet"));
        let text = format_human(&r);
        assert!(
            text.contains("nft-queue           absent  ENOENT (test)\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "data plane (auto): tun; seg6 fast path unavailable; HAO/RH2 reception (preferred): af-packet\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["facilities"][0]["name"], "tun");
        assert_eq!(json["choices"]["data_plane_auto"], "tun");
    }
}
