//! The state directory: what survives a restart.
//!
//! - `duid`: the client DUID as hex text, created once and reused forever
//!   (RFC 7084 W-6, RFC 8415 §11). DUID-LLT (§11.2) from the uplink MAC when
//!   the daemon knows one, otherwise DUID-UUID (RFC 6355) from /dev/urandom.
//! - `iaids.json`: key → IAID. An IAID is derived once from its key (the
//!   interface name, see [`StateDir::iaid`]) with 32-bit FNV-1a and then kept,
//!   so it is stable across restarts (RFC 9096 WPD-10) even if the hash of a
//!   key would collide with one assigned later.
//! - `NAME.json`: documents written by [`StateDir::save`], e.g. the last
//!   delegated prefixes (restart hints), the LAN subnet-id assignments and the
//!   prefixes advertised on each LAN (RFC 9096 §3.5).
//!
//! Writes are atomic: write `.NAME.tmp`, fsync it, rename over `NAME`, fsync
//! the directory. A crash at any point leaves either the old or the new
//! content; a leftover temporary file is ignored by readers and overwritten
//! by the next write.
//!
//! Panic contract: nothing here panics; corrupt files are errors.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: corrupt ({reason}); move it away to start afresh")]
    Corrupt { path: PathBuf, reason: String },
    #[error("`{0}` is not a valid state document name (use a-z, 0-9, '-' and '_')")]
    BadName(String),
    #[error("{0} exists and is not a directory")]
    NotADirectory(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A DHCP Unique Identifier (RFC 8415 §11), type code included.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Duid(Vec<u8>);

/// RFC 8415 §11.1: at most 128 octets after the 2-octet type code.
const DUID_MAX_LEN: usize = 130;
/// RFC 8415 §11.2: DUID-LLT time is counted from midnight UTC, 1 January 2000.
const DUID_EPOCH_UNIX_SECS: u64 = 946_684_800;

impl Duid {
    /// DUID-LLT (RFC 8415 §11.2): type 1, hardware type 1 (Ethernet), time
    /// in seconds since 2000-01-01 UTC modulo 2^32, link-layer address.
    pub fn llt(mac: [u8; 6], now: SystemTime) -> Duid {
        let since_2000 = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs()
            .saturating_sub(DUID_EPOCH_UNIX_SECS);
        // Truncation is the specified behaviour: "modulo 2^32".
        let time = (since_2000 & 0xffff_ffff) as u32;
        let mut bytes = Vec::with_capacity(14);
        bytes.extend_from_slice(&1u16.to_be_bytes());
        bytes.extend_from_slice(&1u16.to_be_bytes());
        bytes.extend_from_slice(&time.to_be_bytes());
        bytes.extend_from_slice(&mac);
        Duid(bytes)
    }

    /// DUID-UUID (RFC 6355 §4): type 4 and a random (version 4) UUID.
    pub fn uuid(random: [u8; 16]) -> Duid {
        let mut uuid = random;
        // RFC 9562 §5.4: version 4, variant 10.
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        let mut bytes = Vec::with_capacity(18);
        bytes.extend_from_slice(&4u16.to_be_bytes());
        bytes.extend_from_slice(&uuid);
        Duid(bytes)
    }

    /// Parses the `duid` file format: hex digits, optionally separated by ':'.
    pub fn from_hex(text: &str) -> Result<Duid, String> {
        let digits: Vec<u8> = text.trim().bytes().filter(|b| *b != b':').collect();
        if !digits.len().is_multiple_of(2) {
            return Err("odd number of hex digits".into());
        }
        let mut bytes = Vec::with_capacity(digits.len() / 2);
        for pair in digits.chunks_exact(2) {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                // Each digit is < 16, so the byte fits.
                (Some(hi), Some(lo)) => bytes.push((hi * 16 + lo) as u8),
                _ => return Err("not hexadecimal".into()),
            }
        }
        // RFC 8415 §11.1: a type code and at least one octet, at most 130 in all.
        if bytes.len() < 3 || bytes.len() > DUID_MAX_LEN {
            return Err(format!(
                "{} octets, expected 3 to {DUID_MAX_LEN}",
                bytes.len()
            ));
        }
        Ok(Duid(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Plain hex, as stored in the `duid` file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Colon-separated hex, as shown in status output.
impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duid({self})")
    }
}

/// 32-bit FNV-1a (Fowler/Noll/Vo, offset basis 2166136261, prime 16777619):
/// the fixed hash from which IAIDs are first derived. It must never change,
/// or IAIDs of keys not yet stored would differ between versions.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The state directory of one daemon instance.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

const DUID_FILE: &str = "duid";
const IAIDS_DOC: &str = "iaids";

impl StateDir {
    /// Opens `path`, creating it (and missing parents) with mode 0700.
    pub fn open(path: &Path) -> Result<StateDir, StateError> {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(StateError::NotADirectory(path.to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(io_err(path))?;
                // The umask may have removed bits but never adds any; set the
                // mode explicitly anyway so the directory is exactly 0700.
                fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                    .map_err(io_err(path))?;
            }
            Err(e) => {
                return Err(StateError::Io {
                    path: path.to_owned(),
                    source: e,
                });
            }
        }
        Ok(StateDir {
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn document_path(&self, name: &str) -> Result<PathBuf, StateError> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(StateError::BadName(name.to_owned()));
        }
        Ok(self.path.join(format!("{name}.json")))
    }

    /// Atomically replaces `NAME.json` with `value` as JSON.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        let path = self.document_path(name)?;
        let mut text = serde_json::to_vec_pretty(value).map_err(|e| StateError::Corrupt {
            path: path.clone(),
            reason: format!("cannot serialise: {e}"),
        })?;
        text.push(b'\n');
        self.write_atomic(&path, &text)
    }

    /// Reads `NAME.json`; `Ok(None)` if it does not exist.
    pub fn load<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        let path = self.document_path(name)?;
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                reason: e.to_string(),
            })
    }

    /// The temporary file a write of `target` goes through.
    fn temp_path(target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        target.with_file_name(format!(".{name}.tmp"))
    }

    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<(), StateError> {
        let temp = Self::temp_path(target);
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temp)
                .map_err(io_err(&temp))?;
            file.write_all(bytes).map_err(io_err(&temp))?;
            // Data must be on disk before the rename makes it visible, or a
            // crash could leave the new name pointing at an empty file.
            file.sync_all().map_err(io_err(&temp))?;
        }
        fs::rename(&temp, target).map_err(io_err(target))?;
        // The rename itself is durable only once the directory is synced.
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.path))?;
        Ok(())
    }

    /// The stored DUID, if one was created before.
    pub fn load_duid(&self) -> Result<Option<Duid>, StateError> {
        let path = self.path.join(DUID_FILE);
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        Duid::from_hex(&text)
            .map(Some)
            .map_err(|reason| StateError::Corrupt { path, reason })
    }

    /// The stored DUID, or a new one saved before it is returned (RFC 7084
    /// W-6): DUID-LLT from `mac` and `now` if a MAC is known, DUID-UUID
    /// otherwise. `mac` is the uplink's link-layer address.
    pub fn duid_or_create(
        &self,
        mac: Option<[u8; 6]>,
        now: SystemTime,
    ) -> Result<Duid, StateError> {
        if let Some(duid) = self.load_duid()? {
            return Ok(duid);
        }
        let duid = match mac {
            Some(mac) => Duid::llt(mac, now),
            None => Duid::uuid(random_bytes()?),
        };
        let mut text = duid.to_hex();
        text.push('\n');
        self.write_atomic(&self.path.join(DUID_FILE), text.as_bytes())?;
        Ok(duid)
    }

    /// Every stored key → IAID.
    pub fn iaids(&self) -> Result<BTreeMap<String, u32>, StateError> {
        Ok(self.load(IAIDS_DOC)?.unwrap_or_default())
    }

    /// The IAID of `key`, assigned and stored on first use.
    ///
    /// Keys are chosen by the caller; the daemon uses the interface name for
    /// the first IA_PD and the IA_NA of an interface (IAIDs are per IA type,
    /// RFC 8415 §12), and `NAME#N` for the N-th further IA_PD. A new key gets
    /// FNV-1a(key), moved to the next free value if another key holds it.
    pub fn iaid(&self, key: &str) -> Result<u32, StateError> {
        let mut map = self.iaids()?;
        if let Some(iaid) = map.get(key) {
            return Ok(*iaid);
        }
        let mut iaid = fnv1a32(key.as_bytes());
        while map.values().any(|v| *v == iaid) {
            iaid = iaid.wrapping_add(1);
        }
        map.insert(key.to_owned(), iaid);
        self.save(IAIDS_DOC, &map)?;
        Ok(iaid)
    }
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::Io {
            path: path.to_owned(),
            source: e,
        }),
    }
}

fn random_bytes() -> Result<[u8; 16], StateError> {
    let path = Path::new("/dev/urandom");
    let mut buf = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(io_err(path))?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "v6edge-test-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn open_creates_private_directory() {
        let tmp = TempDir::new("open");
        let dir = tmp.0.join("a/b");
        let state = StateDir::open(&dir).unwrap();
        let mode = fs::metadata(state.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // Opening again is fine; a file in the way is not.
        StateDir::open(&dir).unwrap();
        let file = tmp.0.join("file");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(
            StateDir::open(&file),
            Err(StateError::NotADirectory(_))
        ));
    }

    #[test]
    fn save_load_round_trip_and_missing() {
        let tmp = TempDir::new("doc");
        let state = StateDir::open(&tmp.0).unwrap();
        assert_eq!(state.load::<Vec<String>>("prefixes").unwrap(), None);
        let v = vec!["2001:db8:1200::/56".to_owned()];
        state.save("prefixes", &v).unwrap();
        assert_eq!(state.load::<Vec<String>>("prefixes").unwrap(), Some(v));
        assert!(
            !tmp.0.join(".prefixes.json.tmp").exists(),
            "temporary file left behind"
        );
        let mode = fs::metadata(tmp.0.join("prefixes.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn crash_before_rename_keeps_old_content() {
        let tmp = TempDir::new("crash");
        let state = StateDir::open(&tmp.0).unwrap();
        state.save("lans", &vec![1u32, 2]).unwrap();
        // A crash after writing the temporary file but before the rename
        // leaves it behind, possibly half-written.
        fs::write(tmp.0.join(".lans.json.tmp"), b"[3, 4").unwrap();
        assert_eq!(state.load::<Vec<u32>>("lans").unwrap(), Some(vec![1, 2]));
        // The next write goes through the same temporary name and wins.
        state.save("lans", &vec![5u32]).unwrap();
        assert_eq!(state.load::<Vec<u32>>("lans").unwrap(), Some(vec![5]));
        assert!(!tmp.0.join(".lans.json.tmp").exists());
    }

    #[test]
    fn corrupt_document_and_bad_names_are_errors() {
        let tmp = TempDir::new("corrupt");
        let state = StateDir::open(&tmp.0).unwrap();
        fs::write(tmp.0.join("x.json"), b"{not json").unwrap();
        assert!(matches!(
            state.load::<Vec<u32>>("x"),
            Err(StateError::Corrupt { .. })
        ));
        for bad in ["", "../etc/passwd", "a/b", "Upper", ".hidden"] {
            assert!(
                matches!(state.save(bad, &1u8), Err(StateError::BadName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn duid_llt_layout() {
        // 2000-01-01T00:00:00Z + 0x12345678 s.
        let now = UNIX_EPOCH + Duration::from_secs(DUID_EPOCH_UNIX_SECS + 0x1234_5678);
        let duid = Duid::llt([0x02, 0, 0x5e, 0x10, 0x20, 0x30], now);
        assert_eq!(duid.to_hex(), "000100011234567802005e102030");
        assert_eq!(
            duid.to_string(),
            "00:01:00:01:12:34:56:78:02:00:5e:10:20:30"
        );
    }

    #[test]
    fn duid_uuid_sets_version_and_variant() {
        let duid = Duid::uuid([0xff; 16]);
        let b = duid.as_bytes();
        assert_eq!(b.len(), 18);
        assert_eq!(&b[..2], &[0, 4]);
        assert_eq!(b[2 + 6] >> 4, 4);
        assert_eq!(b[2 + 8] >> 6, 0b10);
    }

    #[test]
    fn duid_hex_parsing() {
        assert_eq!(
            Duid::from_hex("00:01:00:01:aa\n").unwrap().to_hex(),
            "00010001aa"
        );
        assert!(Duid::from_hex("0001").is_err());
        assert!(Duid::from_hex("000g01").is_err());
        assert!(Duid::from_hex("00010").is_err());
        assert!(Duid::from_hex(&"00".repeat(131)).is_err());
    }

    /// W-6: the DUID is created once and then never changes, even if the
    /// MAC or the clock do.
    #[test]
    fn w6_duid_persists_across_restarts() {
        let tmp = TempDir::new("duid");
        let state = StateDir::open(&tmp.0).unwrap();
        assert_eq!(state.load_duid().unwrap(), None);
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = state.duid_or_create(Some([2, 0, 0, 0, 0, 1]), t0).unwrap();
        assert_eq!(&first.as_bytes()[..4], &[0, 1, 0, 1]);
        let restarted = StateDir::open(&tmp.0).unwrap();
        let again = restarted
            .duid_or_create(Some([2, 0, 0, 0, 0, 2]), t0 + Duration::from_secs(99))
            .unwrap();
        assert_eq!(first, again);
        let text = fs::read_to_string(tmp.0.join("duid")).unwrap();
        assert_eq!(text.trim(), first.to_hex());
    }

    #[test]
    fn duid_uuid_without_mac_persists() {
        let tmp = TempDir::new("uuid");
        let state = StateDir::open(&tmp.0).unwrap();
        let first = state.duid_or_create(None, SystemTime::now()).unwrap();
        assert_eq!(&first.as_bytes()[..2], &[0, 4]);
        assert_eq!(
            state.duid_or_create(None, SystemTime::now()).unwrap(),
            first
        );
    }

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    /// WPD-10: IAIDs are derived once and kept across restarts.
    #[test]
    fn wpd10_iaids_stable_and_distinct() {
        let tmp = TempDir::new("iaid");
        let state = StateDir::open(&tmp.0).unwrap();
        let wan = state.iaid("wan0").unwrap();
        assert_eq!(wan, fnv1a32(b"wan0"));
        let second = state.iaid("wan0#1").unwrap();
        assert_ne!(wan, second);
        let restarted = StateDir::open(&tmp.0).unwrap();
        assert_eq!(restarted.iaid("wan0").unwrap(), wan);
        assert_eq!(restarted.iaids().unwrap().len(), 2);
    }

    #[test]
    fn iaid_collision_moves_to_next_free_value() {
        let tmp = TempDir::new("collide");
        let state = StateDir::open(&tmp.0).unwrap();
        // Pretend an older key already holds the hash of "lan9".
        let mut map = BTreeMap::new();
        map.insert("old".to_owned(), fnv1a32(b"lan9"));
        state.save("iaids", &map).unwrap();
        assert_eq!(
            state.iaid("lan9").unwrap(),
            fnv1a32(b"lan9").wrapping_add(1)
        );
    }
}
