//! The `run_samples` table: a run's iteration rows, written by binary `COPY` and read back
//! in keyset pages.

use scenarioforge_core::RunStatus;

use sqlx::postgres::PgPool;
use uuid::Uuid;

use super::{stored, to_i64};

/// Rows per `COPY` below which the rows are not split between connections.
const COPY_SPLIT_MIN: usize = 2_000;

/// Writes sample rows by binary `COPY`, split over as many connections as there are cores: each
/// PostgreSQL backend parses and indexes its share on a core of its own. (Text COPY of 10,000
/// rows of 50 values took 300 ms, as long as the run that made them; one binary COPY took 90 ms,
/// two in parallel about half.)
pub(super) async fn store_samples(
    pool: &PgPool,
    id: Uuid,
    rows: &[(u64, Vec<f64>)],
) -> Result<(), sqlx::Error> {
    let ways = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.len() / COPY_SPLIT_MIN)
        .max(1);
    let part = rows.len().div_ceil(ways).max(1);
    let copies = rows.chunks(part).map(|rows| copy_rows(pool, id, rows));
    futures_util::future::try_join_all(copies).await?;
    Ok(())
}

async fn copy_rows(pool: &PgPool, id: Uuid, rows: &[(u64, Vec<f64>)]) -> Result<(), sqlx::Error> {
    let mut conn = ClosedUnlessKept {
        conn: pool.acquire().await?,
        keep: false,
    };
    copy_rows_on(&mut conn.conn, id, rows).await?;
    conn.keep = true;
    Ok(())
}

/// A pooled connection that is closed when dropped, not returned to the pool, unless `keep` was
/// set. sqlx 0.8.6 loses its place in the protocol when a `COPY` stops part way (it fails, or
/// `try_join_all` drops a sibling copy): the aborted copy's `ReadyForQuery` goes unread, and
/// the next query on that connection reads it as its own empty answer, so a stored run would read
/// as missing. Such a connection must never serve another query.
struct ClosedUnlessKept {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    keep: bool,
}

impl Drop for ClosedUnlessKept {
    fn drop(&mut self) {
        if !self.keep {
            self.conn.close_on_drop();
        }
    }
}

async fn copy_rows_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    rows: &[(u64, Vec<f64>)],
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut tx = conn.begin().await?;
    // The rows' commit need not wait for its WAL to reach the disk: the status update that
    // follows commits synchronously, which flushes all WAL before it, rows included. Until then a
    // crash leaves the run `running`, to be run again.
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let mut copy = tx
        .copy_in_raw(
            "copy run_samples (run_id, iteration, \"values\") from stdin with (format binary)",
        )
        .await?;
    let mut buf = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    for (iteration, values) in rows {
        copy_row(&mut buf, id, *iteration, values);
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    tx.commit().await
}

/// The signature, flags and header extension length of PostgreSQL's binary COPY format.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's type oid of `double precision`, the element type of the `values` arrays.
const FLOAT8_OID: u32 = 701;

/// One tuple of binary COPY: (run_id uuid, iteration bigint, values double precision[]). Every
/// field is its byte length then its bytes, big-endian; an array is its dimensions, element type
/// and elements. NaN and infinities are IEEE bits like any other value.
fn copy_row(buf: &mut Vec<u8>, id: Uuid, iteration: u64, values: &[f64]) {
    let field = |buf: &mut Vec<u8>, len: usize| {
        buf.extend_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes());
    };
    buf.extend_from_slice(&3i16.to_be_bytes());
    field(buf, 16);
    buf.extend_from_slice(id.as_bytes());
    field(buf, 8);
    buf.extend_from_slice(&to_i64(iteration).to_be_bytes());
    field(buf, 20 + values.len() * 12);
    buf.extend_from_slice(&1i32.to_be_bytes()); // dimensions
    buf.extend_from_slice(&0i32.to_be_bytes()); // no nulls
    buf.extend_from_slice(&FLOAT8_OID.to_be_bytes());
    buf.extend_from_slice(
        &i32::try_from(values.len())
            .unwrap_or(i32::MAX)
            .to_be_bytes(),
    );
    buf.extend_from_slice(&1i32.to_be_bytes()); // lower bound
    for v in values {
        field(buf, 8);
        buf.extend_from_slice(&v.to_bits().to_be_bytes());
    }
}

/// The columns of a run's sample rows (its node ids, in model order) and the number of rows;
/// `None` when there is no such run.
pub async fn sample_info(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(Vec<String>, i32, RunStatus)>, sqlx::Error> {
    let row: Option<(Vec<String>, i32, String)> = sqlx::query_as(
        "select array(select n.node->>'id'
                      from jsonb_array_elements(model->'nodes') with ordinality as n(node, i)
                      order by n.i),
                sample_rows, status
         from runs where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|(ids, rows, status)| Ok((ids, rows, stored(&status)?)))
        .transpose()
}

/// Up to `limit` sample rows with iterations after `after`, in iteration order: one step of the
/// keyset walk over the primary key (run_id, iteration).
pub async fn sample_page(
    pool: &PgPool,
    id: Uuid,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, Vec<f64>)>, sqlx::Error> {
    sqlx::query_as(
        "select iteration, \"values\" from run_samples
         where run_id = $1 and iteration > $2
         order by iteration
         limit $3",
    )
    .bind(id)
    .bind(after.unwrap_or(-1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::copy_row;
    use uuid::Uuid;

    #[test]
    fn copy_rows_are_postgres_binary_tuples() {
        let mut buf = Vec::new();
        copy_row(&mut buf, Uuid::nil(), 7, &[1.5, f64::NAN]);
        let mut want = vec![0, 3, 0, 0, 0, 16];
        want.extend([0; 16]);
        want.extend([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        want.extend([
            0, 0, 0, 44, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 189, 0, 0, 0, 2, 0, 0, 0, 1,
        ]);
        want.extend([0, 0, 0, 8]);
        want.extend(1.5f64.to_bits().to_be_bytes());
        want.extend([0, 0, 0, 8]);
        want.extend(f64::NAN.to_bits().to_be_bytes());
        assert_eq!(buf, want);
    }
}
