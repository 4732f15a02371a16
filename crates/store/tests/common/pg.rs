//! A PostgreSQL schema per test, on the server `V6EDGE_TEST_POSTGRES`
//! names: used by the PostgreSQL tests and by the behaviour tests every
//! store passes (`behaviour.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use v6edge_store::PostgresStore;

/// One schema of the test database, dropped on drop (also on failure).
pub struct TestDb {
    base: String,
    pub schema: String,
    admin: postgres::Client,
}

impl TestDb {
    /// `None` (after saying why) when no server is configured outside CI.
    pub fn new(tag: &str) -> Option<TestDb> {
        let base = match std::env::var("V6EDGE_TEST_POSTGRES") {
            Ok(v) if !v.trim().is_empty() => v,
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but V6EDGE_TEST_POSTGRES is not: the PostgreSQL tests must run in CI \
                     (.ci/run starts a server and exports it)"
                );
                eprintln!(
                    "skipped: V6EDGE_TEST_POSTGRES is not set (e.g. \
                     'host=/var/run/postgresql user=root dbname=v6edge_test')"
                );
                return None;
            }
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let schema = format!(
            "t_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&base, postgres::NoTls)
            .expect("connect to V6EDGE_TEST_POSTGRES");
        admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("create the test schema");
        Some(TestDb {
            base,
            schema,
            admin,
        })
    }

    pub fn conninfo(&self) -> String {
        format!("{} options='-c search_path={}'", self.base, self.schema)
    }

    pub fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.conninfo()).expect("open the store")
    }

    /// Runs SQL inside the test schema, behind the store's back.
    pub fn sql(&mut self, sql: &str) {
        self.admin
            .batch_execute(&format!("SET search_path = {}; {sql}", self.schema))
            .expect("raw SQL");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}
