//! Agents' passwords: Argon2id (the `argon2` crate's defaults, m = 19 MiB,
//! t = 2, p = 1, OWASP's first choice) as PHC strings with a random salt.
//! Hashing and verifying run on the blocking pool: each takes tens of
//! milliseconds of CPU on purpose.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// Fewest characters of a password (issue 22 item 1).
pub const MIN_CHARS: usize = 12;
/// Most characters of a password (bounds the work of one hash).
pub const MAX_CHARS: usize = 256;

/// Why a password is refused, as the API says it.
pub fn check_rules(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(format!(
            "password must have at least {MIN_CHARS} characters"
        ));
    }
    if n > MAX_CHARS {
        return Err(format!("password must have at most {MAX_CHARS} characters"));
    }
    Ok(())
}

/// The Argon2id PHC string of `password` (`$argon2id$v=19$…`), or `None`
/// when hashing failed (no randomness).
pub async fn hash(password: &str) -> Option<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .ok()
            .map(|h| h.to_string())
    })
    .await
    .ok()
    .flatten()
}

/// Does `password` match the PHC string `phc`? A malformed string never
/// matches.
pub async fn verify(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Spends the time of one verification without a stored hash (an unknown
/// login), so that the answer's timing does not tell which logins exist.
pub async fn verify_nothing(password: &str) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29oYmV0LWR1bW15LXNhbHQ$\
                         2W1a4wXo3kBT4fS0uJ0jzl8H8w0bI6o1iSxUxqkG2vE";
    let _ = verify(password, DUMMY).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse battery").await.unwrap();
        let b = hash("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        assert!(verify("correct horse battery", &a).await);
        assert!(!verify("correct horse batterz", &a).await);
        assert!(!verify("x", "not a hash").await);
        verify_nothing("x").await;
        assert!(check_rules("short").is_err());
        assert!(check_rules(&"x".repeat(12)).is_ok());
        assert!(check_rules(&"x".repeat(257)).is_err());
    }
}
