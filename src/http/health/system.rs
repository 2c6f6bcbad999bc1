//! The machine figures of `/health`'s details: memory (of the container
//! when it has a cgroup limit, else of the host) and disk (of the data
//! folder).

use serde::Serialize;

/// `checks.memory` of `/health`: `{used_percent, available_gb, limit_gb,
/// source: cgroup|host}`, every field `null` when nothing could be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Memory {
    /// Used share, in percent (two decimals).
    pub used_percent: Option<f64>,
    /// Available, in GiB (two decimals).
    pub available_gb: Option<f64>,
    /// Limit (or host total), in GiB (two decimals).
    pub limit_gb: Option<f64>,
    /// `cgroup` | `host`.
    pub source: Option<&'static str>,
}

/// `checks.disk` of `/health`: `{used_percent, free_gb}`, `null`s when the
/// file system could not be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Disk {
    /// Used share, in percent (two decimals).
    pub used_percent: Option<f64>,
    /// Free for unprivileged users, in GiB (two decimals).
    pub free_gb: Option<f64>,
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub(super) fn memory() -> Memory {
    memory_from(
        std::path::Path::new("/sys/fs/cgroup"),
        std::path::Path::new("/proc/meminfo"),
    )
}

/// Memory of the container when it has a limit, else of the host:
/// `{used_percent, available_gb, limit_gb, source}`.
///
/// - cgroup v2 (`<root>/memory.max` a number): used = `memory.current`
///   minus `inactive_file` of `memory.stat` (the "working set" `docker
///   stats` and the kubelet show: page cache that can be dropped is not
///   pressure), `source: "cgroup"`;
/// - cgroup v1 (`<root>/memory/memory.limit_in_bytes` below 2^60; larger
///   means no limit): the same from `memory.usage_in_bytes` and
///   `total_inactive_file`;
/// - otherwise `MemTotal` / `MemAvailable` of `meminfo`, `source: "host"`.
pub fn memory_from(cgroup_root: &std::path::Path, meminfo: &std::path::Path) -> Memory {
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
    let number = |p: std::path::PathBuf| read(p).and_then(|s| s.trim().parse::<f64>().ok());
    let stat = |p: std::path::PathBuf, key: &str| {
        read(p).and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        })
    };
    let gb = |bytes: f64| round(bytes / 1024f64.powi(3));
    let v2 = number(cgroup_root.join("memory.max")).map(|limit| {
        let used = number(cgroup_root.join("memory.current")).unwrap_or(0.0);
        let inactive = stat(cgroup_root.join("memory.stat"), "inactive_file").unwrap_or(0.0);
        (limit, used - inactive)
    });
    let v1 = || {
        let dir = cgroup_root.join("memory");
        number(dir.join("memory.limit_in_bytes"))
            .filter(|l| *l < 2f64.powi(60))
            .map(|limit| {
                let used = number(dir.join("memory.usage_in_bytes")).unwrap_or(0.0);
                let inactive = stat(dir.join("memory.stat"), "total_inactive_file").unwrap_or(0.0);
                (limit, used - inactive)
            })
    };
    if let Some((limit, used)) = v2.or_else(v1).filter(|(l, _)| *l > 0.0) {
        let used = used.clamp(0.0, limit);
        return Memory {
            used_percent: Some(round(used / limit * 100.0)),
            available_gb: Some(gb(limit - used)),
            limit_gb: Some(gb(limit)),
            source: Some("cgroup"),
        };
    }
    let info = std::fs::read_to_string(meminfo).unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    match (field("MemTotal:"), field("MemAvailable:")) {
        (Some(total), Some(avail)) if total > 0.0 => Memory {
            used_percent: Some(round((total - avail) / total * 100.0)),
            available_gb: Some(round(avail / 1024.0 / 1024.0)),
            limit_gb: Some(round(total / 1024.0 / 1024.0)),
            source: Some("host"),
        },
        _ => Memory::default(),
    }
}

pub(super) fn disk(path: &std::path::Path) -> Disk {
    let probe = if path.exists() {
        path
    } else {
        std::path::Path::new(".")
    };
    match nix::sys::statvfs::statvfs(probe) {
        Ok(s) => {
            let frag = s.fragment_size() as f64;
            let total = s.blocks() as f64 * frag;
            let free = s.blocks_available() as f64 * frag;
            Disk {
                used_percent: Some(if total > 0.0 {
                    round((total - free) / total * 100.0)
                } else {
                    0.0
                }),
                free_gb: Some(round(free / 1024f64.powi(3))),
            }
        }
        Err(_) => Disk::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_from_the_cgroup_limit_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let meminfo = dir.path().join("meminfo");
        std::fs::write(
            &meminfo,
            "MemTotal: 16777216 kB\nMemAvailable: 8388608 kB\n",
        )
        .unwrap();
        let host = memory_from(&dir.path().join("none"), &meminfo);
        assert_eq!(host.source, Some("host"));
        assert_eq!(host.used_percent, Some(50.0));
        assert_eq!(host.limit_gb, Some(16.0));
        // cgroup v2: 512 MiB limit, 300 MiB charged of which 44 MiB droppable cache.
        let v2 = dir.path().join("v2");
        std::fs::create_dir(&v2).unwrap();
        std::fs::write(v2.join("memory.max"), "536870912\n").unwrap();
        std::fs::write(v2.join("memory.current"), "314572800\n").unwrap();
        std::fs::write(v2.join("memory.stat"), "anon 1\ninactive_file 46137344\n").unwrap();
        let m = memory_from(&v2, &meminfo);
        assert_eq!(m.source, Some("cgroup"));
        assert_eq!(m.used_percent, Some(50.0));
        assert_eq!(m.limit_gb, Some(0.5));
        assert_eq!(m.available_gb, Some(0.25));
        // No limit ("max"): the host's figures.
        std::fs::write(v2.join("memory.max"), "max\n").unwrap();
        assert_eq!(memory_from(&v2, &meminfo).source, Some("host"));
        // cgroup v1 with a limit.
        let v1 = dir.path().join("v1");
        std::fs::create_dir_all(v1.join("memory")).unwrap();
        std::fs::write(v1.join("memory/memory.limit_in_bytes"), "1073741824").unwrap();
        std::fs::write(v1.join("memory/memory.usage_in_bytes"), "268435456").unwrap();
        let m = memory_from(&v1, &meminfo);
        assert_eq!((m.source, m.used_percent), (Some("cgroup"), Some(25.0)));
        std::fs::write(
            v1.join("memory/memory.limit_in_bytes"),
            "9223372036854771712",
        )
        .unwrap();
        assert_eq!(memory_from(&v1, &meminfo).source, Some("host"));
    }

    #[test]
    fn figures_serialise_as_before() {
        let unread = serde_json::json!({
            "used_percent": null, "available_gb": null, "limit_gb": null, "source": null
        });
        assert_eq!(serde_json::to_value(Memory::default()).unwrap(), unread);
        let disk = Disk {
            used_percent: Some(0.0),
            free_gb: Some(1.5),
        };
        assert_eq!(
            serde_json::to_value(disk).unwrap(),
            serde_json::json!({"used_percent": 0.0, "free_gb": 1.5})
        );
        assert_eq!(
            serde_json::to_value(Disk::default()).unwrap(),
            serde_json::json!({"used_percent": null, "free_gb": null})
        );
    }
}
