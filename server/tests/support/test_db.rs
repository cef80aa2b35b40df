//! A PostgreSQL database of its own for each test, on the server `DATABASE_URL` names: shared
//! by the API tests (`tests/api/`) and the end-to-end test (`tests/e2e.rs`).

use sqlx::Connection;

/// `DATABASE_URL`, which these tests cannot do without: they fail rather than skip.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "DATABASE_URL is not set: these tests need a real PostgreSQL. Run `scripts/test.sh`, \
             or start the project's private one with `source scripts/pg.sh && pg_start` (it \
             exports DATABASE_URL) and run `cargo test` from that shell"
        ),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database name");
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// A database of its own for one test, dropped (with any connections left) when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin_url = database_url();
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL ({admin_url}): {e}"));
        sqlx::query(&format!("create database {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        TestDb {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any async context: a thread of its own with a small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}
