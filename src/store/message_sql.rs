//! The SQL texts of the group commit that its three executors share
//! ([`super::messages`] through sqlx on SQLite, [`super::pg_batch`] on
//! Postgres, [`super::sqlite_writer`] on the server's SQLite thread) and
//! the column list of a [`Message`](crate::domain::Message) row. Text only:
//! it runs nothing and imports nothing of the store, so every executor (and
//! [`super::batch`]'s `follow_ups!`) can import it without a cycle.

/// The columns of [`Message`](crate::domain::Message), as a literal for `concat!`.
macro_rules! message_cols {
    () => {
        "id, thread_id, content_text, type, sender, file_url, created_at, client_id, internal, \
         agent_id, agent_name, edited_at"
    };
}
pub(super) use message_cols;

/// Rows per multi-row statement: a batch is cut into chunks of 2^k rows
/// (largest first), so each statement kind has at most 10 shapes (1 … 512
/// rows) and the per-connection statement cache keeps them all prepared.
pub(super) const MAX_CHUNK_LOG2: u32 = 9;

/// `(start, len)` of the power-of-two chunks of `n` rows, largest first.
pub(super) fn chunks(n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut rest = n;
    while rest > 0 {
        let k = (usize::BITS - 1 - rest.leading_zeros()).min(MAX_CHUNK_LOG2);
        let len = 1usize << k;
        out.push((start, len));
        start += len;
        rest -= len;
    }
    out
}

/// The SQL of one statement shape: `head`, then `rows` tuples of `row`
/// (`row` uses `{}` for each of its `per_row` parameters; `$1` stays
/// shared), then `tail`. Built once per shape and kept for the process.
fn shaped(
    cache: &'static std::sync::OnceLock<Vec<String>>,
    head: &str,
    row: &str,
    per_row: usize,
    sep: &str,
    tail: &str,
    rows: usize,
) -> &'static str {
    let all = cache.get_or_init(|| {
        (0..=MAX_CHUNK_LOG2)
            .map(|k| {
                let mut sql = String::from(head);
                let mut param = 2;
                for r in 0..(1usize << k) {
                    if r > 0 {
                        sql.push_str(sep);
                    }
                    let mut parts = row.split("{}");
                    sql.push_str(parts.next().unwrap_or_default());
                    for part in parts.take(per_row) {
                        sql.push('$');
                        sql.push_str(&param.to_string());
                        sql.push_str(part);
                        param += 1;
                    }
                }
                sql.push_str(tail);
                sql
            })
            .collect()
    });
    &all[rows.trailing_zeros() as usize]
}

pub(super) fn thread_insert_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "INSERT INTO threads (id, display_name, created_at, last_activity_at, status) VALUES ",
        "({}, {}, $1, $1, 'open')",
        2,
        ", ",
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        rows,
    )
}

pub(super) fn message_insert_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "INSERT INTO messages (thread_id, sender, type, content_text, file_url, client_id, internal, \
         agent_id, agent_name, created_at) VALUES ",
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, $1)",
        9,
        ", ",
        concat!(
            " ON CONFLICT (thread_id, client_id) WHERE client_id IS NOT NULL DO NOTHING RETURNING ",
            message_cols!()
        ),
        rows,
    )
}

pub(super) fn outbox_insert_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "INSERT INTO telegram_outbox (message_id, thread_id, client_key, status, attempts, next_attempt_at, created_at) VALUES ",
        "({}, {}, {}, 'pending', 0, $1, $1)",
        3,
        ", ",
        "",
        rows,
    )
}

pub(super) fn touch_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "UPDATE threads SET last_activity_at = $1 WHERE id IN (",
        "{}",
        1,
        ", ",
        ")",
        rows,
    )
}

/// The touch of threads that got a visitor message: it also reopens a
/// closed thread (issue 13), and returns each thread's `status_changed_at`,
/// which equals `$1` exactly for the threads it reopened (the `SET`
/// expressions read the row's old values).
pub(super) fn visitor_touch_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "UPDATE threads SET last_activity_at = $1, status = 'open', status_changed_at = \
         CASE WHEN status = 'closed' THEN $1 ELSE status_changed_at END WHERE id IN (",
        "{}",
        1,
        ", ",
        ") RETURNING id, status_changed_at, blocked_at",
        rows,
    )
}

/// A stored row by its thread and `client_id` (a retry of an earlier batch).
pub(super) const BY_CLIENT_ID_SQL: &str = concat!(
    "SELECT ",
    message_cols!(),
    " FROM messages WHERE thread_id = $1 AND client_id = $2"
);

/// Which of a chunk of `rows` upload URLs (`$2`…) some message carries
/// (`$1`: the `LIKE` pattern of local uploads).
pub(super) fn referenced_sql(rows: usize) -> &'static str {
    static C: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    shaped(
        &C,
        "SELECT DISTINCT file_url FROM messages WHERE file_url LIKE $1 AND file_url IN (",
        "{}",
        1,
        ", ",
        ")",
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_largest_first() {
        assert_eq!(chunks(0), vec![]);
        assert_eq!(chunks(1), vec![(0, 1)]);
        assert_eq!(chunks(13), vec![(0, 8), (8, 4), (12, 1)]);
        assert_eq!(
            chunks(1100),
            vec![(0, 512), (512, 512), (1024, 64), (1088, 8), (1096, 4)]
        );
    }

    #[test]
    fn shapes_number_their_parameters_after_the_shared_one() {
        assert_eq!(
            touch_sql(4),
            "UPDATE threads SET last_activity_at = $1 WHERE id IN ($2, $3, $4, $5)"
        );
        assert_eq!(
            referenced_sql(2),
            "SELECT DISTINCT file_url FROM messages WHERE file_url LIKE $1 AND file_url IN ($2, $3)"
        );
        assert_eq!(
            thread_insert_sql(2),
            "INSERT INTO threads (id, display_name, created_at, last_activity_at, status) VALUES \
             ($2, $3, $1, $1, 'open'), ($4, $5, $1, $1, 'open') ON CONFLICT (id) DO NOTHING RETURNING id"
        );
    }
}
