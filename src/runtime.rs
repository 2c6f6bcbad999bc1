//! The tokio runtime `main` runs on, sized from `RUNTIME_WORKERS` (issue 25
//! item 4): read before the runtime exists, so it is parsed here and not in
//! [`crate::config`] (which is read on the runtime). Owns nothing else.

use std::num::NonZeroUsize;

/// How the runtime runs tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Every task on the thread that calls `block_on` (tokio's
    /// current-thread scheduler): no work stealing, no wake-ups between
    /// worker threads.
    CurrentThread,
    /// This many worker threads (tokio's multi-thread scheduler).
    Workers(NonZeroUsize),
}

/// The error of a `RUNTIME_WORKERS` that is not `auto`, `current` or 1–1024.
#[derive(Debug, thiserror::Error)]
#[error("RUNTIME_WORKERS must be auto, current or a number of worker threads (1-1024), not {0:?}")]
pub struct RuntimeError(String);

/// The flavour `RUNTIME_WORKERS` asks for:
/// - unset, empty or `auto`: one worker per CPU this process may run on
///   (its affinity mask and cgroup quota, [`std::thread::available_parallelism`]),
///   and the current-thread scheduler when that is one CPU;
/// - `current`: the current-thread scheduler whatever the CPUs;
/// - `N` (1–1024): N worker threads.
///
/// `cpus` is the number of CPUs available (`None`: unknown, taken as one).
///
/// # Errors
/// [`RuntimeError`] for any other value.
pub fn flavor(value: Option<&str>, cpus: Option<NonZeroUsize>) -> Result<Flavor, RuntimeError> {
    match value.map(str::trim).unwrap_or("") {
        "" | "auto" => Ok(match cpus {
            Some(n) if n.get() > 1 => Flavor::Workers(n),
            _ => Flavor::CurrentThread,
        }),
        "current" => Ok(Flavor::CurrentThread),
        other => match other.parse::<NonZeroUsize>() {
            Ok(n) if n.get() <= 1024 => Ok(Flavor::Workers(n)),
            _ => Err(RuntimeError(other.to_owned())),
        },
    }
}

/// Builds the runtime `main` runs on, from `RUNTIME_WORKERS` (see
/// [`flavor`]), with every driver (I/O, time) enabled.
///
/// # Errors
/// [`RuntimeError`] for a bad value; an I/O error when the OS refuses the
/// runtime's threads or its event queue.
pub fn build() -> Result<tokio::runtime::Runtime, Box<dyn std::error::Error + Send + Sync>> {
    let value = std::env::var("RUNTIME_WORKERS").ok();
    let cpus = std::thread::available_parallelism().ok();
    let mut builder = match flavor(value.as_deref(), cpus)? {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavor::Workers(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n.get());
            b
        }
    };
    Ok(builder.enable_all().build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: usize) -> Option<NonZeroUsize> {
        NonZeroUsize::new(v)
    }

    #[test]
    fn auto_follows_the_cpus_and_one_cpu_runs_on_the_current_thread() {
        assert_eq!(flavor(None, n(1)).unwrap(), Flavor::CurrentThread);
        assert_eq!(flavor(Some("auto"), n(1)).unwrap(), Flavor::CurrentThread);
        assert_eq!(flavor(Some(""), None).unwrap(), Flavor::CurrentThread);
        assert_eq!(flavor(None, n(8)).unwrap(), Flavor::Workers(n(8).unwrap()));
    }

    #[test]
    fn explicit_values_win_and_bad_ones_are_refused() {
        assert_eq!(
            flavor(Some("current"), n(8)).unwrap(),
            Flavor::CurrentThread
        );
        assert_eq!(
            flavor(Some(" 1 "), n(8)).unwrap(),
            Flavor::Workers(n(1).unwrap())
        );
        assert_eq!(
            flavor(Some("3"), n(1)).unwrap(),
            Flavor::Workers(n(3).unwrap())
        );
        for bad in ["0", "-1", "1025", "many", "2.5"] {
            let e = flavor(Some(bad), n(2)).unwrap_err();
            assert!(e.to_string().contains("RUNTIME_WORKERS"), "{bad}");
        }
    }
}
