//! The HTTP API end to end, against a real PostgreSQL: `DATABASE_URL` names a server on which
//! each test creates (and drops) a database of its own. `scripts/test.sh` starts a private
//! PostgreSQL and sets it; without it these tests fail with a message saying so.

// `allow-unwrap-in-tests` covers `#[test]` functions, not the helpers they share: in a test
// crate a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "../support/test_db.rs"]
mod test_db;

mod events;
mod health;
mod helpers;
mod limits;
mod outage;
mod recovery;
mod runs;
mod samples;
mod storage;
mod web;
