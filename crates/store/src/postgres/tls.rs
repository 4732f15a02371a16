//! TLS for the PostgreSQL store, configured as libpq is: the `sslmode`,
//! `sslrootcert`, `sslcert` and `sslkey` connection parameters (PostgreSQL
//! documentation, "libpq: Connection Strings" and "SSL Support").
//!
//! The `postgres` client understands only `sslmode=disable|prefer|require`
//! and none of the file parameters, so this module takes those four out of
//! the connection string (keyword/value or URL form), gives the client the
//! rest with the mode it can carry out, and builds an OpenSSL connector
//! that does the verification libpq would:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` (default) | if the server offers it | not checked |
//! | `require` | always | not checked; checked as `verify-ca` when `sslrootcert` is given (as libpq does) |
//! | `verify-ca` | always | signed by a CA of `sslrootcert` |
//! | `verify-full` | always | signed by a CA of `sslrootcert`, and names the host |
//!
//! `sslrootcert=system` trusts the system's CAs. Unlike libpq there is no
//! default `~/.postgresql/root.crt` or client certificate: the files are
//! named in the connection string or not used. `allow` tries TLS first
//! (libpq tries without it first); both accept either.
//!
//! TLS over a Unix socket does not exist (the server refuses it): `prefer`
//! connects in the clear there, `require` and stricter fail.

use std::path::{Path, PathBuf};

use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use openssl::x509::store::X509StoreBuilder;
use postgres::config::SslMode;
use postgres_openssl::MakeTlsConnector;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(v: &str) -> Result<Mode, String> {
        Ok(match v {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => return Err(format!("invalid sslmode {other:?}")),
        })
    }

    /// What the `postgres` client carries out itself: whether to ask.
    fn client_mode(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Allow | Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

/// The TLS parameters of a connection string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: Mode,
    pub root_cert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The parameters this module handles instead of the client.
const TLS_KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

impl TlsSettings {
    /// Splits a connection string into its TLS settings and the rest (in
    /// the same form, for the client to parse).
    pub fn split(conninfo: &str) -> Result<(TlsSettings, String), String> {
        let trimmed = conninfo.trim_start();
        let (pairs, rest) =
            if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
                split_url(trimmed)?
            } else {
                split_keyword_value(conninfo)?
            };
        let mut s = TlsSettings::default();
        for (k, v) in pairs {
            match k.as_str() {
                "sslmode" => s.mode = Mode::parse(&v)?,
                "sslrootcert" => s.root_cert = Some(PathBuf::from(v)),
                "sslcert" => s.cert = Some(PathBuf::from(v)),
                "sslkey" => s.key = Some(PathBuf::from(v)),
                _ => {}
            }
        }
        if s.cert.is_some() != s.key.is_some() {
            return Err("sslcert and sslkey go together".to_owned());
        }
        // libpq: `require` with a root certificate verifies like verify-ca.
        if s.mode == Mode::Require && s.root_cert.is_some() {
            s.mode = Mode::VerifyCa;
        }
        if matches!(s.mode, Mode::VerifyCa | Mode::VerifyFull) && s.root_cert.is_none() {
            return Err(
                "sslmode=verify-ca and verify-full need sslrootcert (a CA file, or \"system\")"
                    .to_owned(),
            );
        }
        Ok((s, rest))
    }

    /// The mode the client is given.
    pub fn client_mode(&self) -> SslMode {
        self.mode.client_mode()
    }

    /// The connector that carries out the verification (module docs).
    pub fn connector(&self) -> Result<MakeTlsConnector, String> {
        let ossl = |what: &str, path: &Path| {
            let path = path.display().to_string();
            let what = what.to_owned();
            move |e: openssl::error::ErrorStack| format!("{what} {path}: {e}")
        };
        let mut b = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| format!("TLS setup: {e}"))?;
        let verify = matches!(self.mode, Mode::VerifyCa | Mode::VerifyFull);
        match (&self.root_cert, verify) {
            (Some(root), true) if root.as_os_str() != "system" => {
                // Only the CAs of the file: the system's would widen
                // verify-ca to any publicly signed certificate.
                let pem = std::fs::read(root)
                    .map_err(|e| format!("sslrootcert {}: {e}", root.display()))?;
                let certs =
                    X509::stack_from_pem(&pem).map_err(ossl("sslrootcert", root.as_path()))?;
                if certs.is_empty() {
                    return Err(format!(
                        "sslrootcert {}: no certificate in it",
                        root.display()
                    ));
                }
                let mut store = X509StoreBuilder::new().map_err(|e| format!("TLS setup: {e}"))?;
                for c in certs {
                    store
                        .add_cert(c)
                        .map_err(ossl("sslrootcert", root.as_path()))?;
                }
                b.set_cert_store(store.build());
                b.set_verify(SslVerifyMode::PEER);
            }
            // "system": the builder's default paths.
            (_, true) => b.set_verify(SslVerifyMode::PEER),
            (_, false) => b.set_verify(SslVerifyMode::NONE),
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            b.set_certificate_chain_file(cert)
                .map_err(ossl("sslcert", cert.as_path()))?;
            b.set_private_key_file(key, SslFiletype::PEM)
                .map_err(ossl("sslkey", key.as_path()))?;
            b.check_private_key()
                .map_err(ossl("sslkey (does not match sslcert)", key.as_path()))?;
        }
        let mut connector = MakeTlsConnector::new(b.build());
        let check_host = self.mode == Mode::VerifyFull;
        connector.set_callback(move |config, _host| {
            config.set_verify_hostname(check_host);
            Ok(())
        });
        Ok(connector)
    }
}

/// `key = value` pairs (libpq: values bare or in single quotes, `\`
/// escapes); the TLS ones are taken out, the rest re-written quoted.
fn split_keyword_value(s: &str) -> Result<(Vec<(String, String)>, String), String> {
    let mut tls = Vec::new();
    let mut rest = String::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!(
                "missing \"=\" after {key:?} in the connection string"
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err("unterminated quoted value".to_owned()),
                    },
                    Some(c) => value.push(c),
                    None => return Err("unterminated quoted value".to_owned()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(e) = chars.next() {
                        value.push(e);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        if TLS_KEYS.contains(&key.as_str()) {
            tls.push((key, value));
        } else {
            if !rest.is_empty() {
                rest.push(' ');
            }
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            rest.push_str(&format!("{key}='{quoted}'"));
        }
    }
    Ok((tls, rest))
}

/// A `postgres://` URL: the TLS parameters of its query are taken out
/// (percent-decoded), the rest of the URL is kept as written.
fn split_url(s: &str) -> Result<(Vec<(String, String)>, String), String> {
    let Some((base, query)) = s.split_once('?') else {
        return Ok((Vec::new(), s.to_owned()));
    };
    let mut tls = Vec::new();
    let mut kept = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        if TLS_KEYS.contains(&k) {
            tls.push((k.to_owned(), percent_decode(v)?));
        } else {
            kept.push(param);
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((tls, rest))
}

fn percent_decode(v: &str) -> Result<String, String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {v:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{v:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_value_form_loses_only_the_tls_keys() {
        let (tls, rest) = TlsSettings::split(
            "host=db.example  sslmode = verify-full sslrootcert='/etc/ca dir/ca.pem' \
             options='-c search_path=a\\'b' user=v6",
        )
        .expect("valid");
        assert_eq!(tls.mode, Mode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca dir/ca.pem")));
        assert_eq!(
            rest,
            "host='db.example' options='-c search_path=a\\'b' user='v6'"
        );
        let c: postgres::Config = rest.parse().expect("the client parses the rest");
        assert_eq!(c.get_options(), Some("-c search_path=a'b"));
        assert_eq!(c.get_user(), Some("v6"));
    }

    #[test]
    fn url_form_loses_only_the_tls_keys() {
        let (tls, rest) = TlsSettings::split(
            "postgresql://u@db.example/l?sslmode=require&application_name=x&sslrootcert=%2Fca.pem",
        )
        .expect("valid");
        // require with a root certificate verifies it, as libpq does.
        assert_eq!(tls.mode, Mode::VerifyCa);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(rest, "postgresql://u@db.example/l?application_name=x");
        let (tls, rest) = TlsSettings::split("postgres://u@h/d?sslmode=disable").expect("valid");
        assert_eq!(tls.mode, Mode::Disable);
        assert_eq!(rest, "postgres://u@h/d");
    }

    #[test]
    fn default_is_prefer_and_bad_settings_are_refused() {
        let (tls, _) = TlsSettings::split("host=/run/postgresql").expect("valid");
        assert_eq!(tls, TlsSettings::default());
        assert_eq!(tls.client_mode(), SslMode::Prefer);
        for bad in [
            "sslmode=sometimes",
            "sslmode=verify-full host=x",
            "sslcert=/a.pem",
            "host='unterminated",
            "host",
        ] {
            assert!(TlsSettings::split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connector_reports_unreadable_files() {
        let (tls, _) =
            TlsSettings::split("sslmode=verify-ca sslrootcert=/nonexistent/ca.pem").expect("valid");
        let err = tls.connector().err().expect("missing file");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let (tls, _) = TlsSettings::split("sslmode=require").expect("valid");
        assert!(tls.connector().is_ok());
    }
}
