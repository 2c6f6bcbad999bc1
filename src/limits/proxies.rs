//! Which peers may tell us the client's address in `X-Forwarded-For`
//! (`TRUSTED_PROXIES`, issue 15): a list of networks (CIDR) and presets.
//!
//! - `TRUSTED_PROXIES` unset: `TRUST_PROXY=true` means the preset
//!   `private` (the rule before `TRUSTED_PROXIES` existed: loopback,
//!   RFC 1918, link-local, CGNAT, IPv6 unique-local and link-local), and
//!   `TRUST_PROXY=false` (the default) means nobody;
//! - `TRUSTED_PROXIES` set: it alone decides (`TRUST_PROXY` is ignored).
//!   Comma or space separated entries, each a CIDR (`203.0.113.0/24`,
//!   `2001:db8::/32`), a bare address (a /32 or /128), or a preset:
//!   `private`, `railway` and `render` (both = `private`: their edge
//!   proxies reach the service from private addresses), `cloudflare`
//!   (Cloudflare's published ranges, <https://www.cloudflare.com/ips/>),
//!   `none`.
//!
//! Behind Cloudflare in front of Railway: `TRUSTED_PROXIES=cloudflare,railway`.
//!
//! Reading `X-Forwarded-For` ([`TrustedProxies::client_of`], issue 20
//! item 5): the entries are walked from the right (the hop the peer itself
//! appended) to the left; each is an address with or without a port
//! ([`parse_hop`]: `203.0.113.8`, `203.0.113.8:4711`, `2001:db8::1`,
//! `[2001:db8::1]:4711`). The first one outside the trusted networks is the
//! client. An entry that is no address (`unknown`, an obfuscated
//! identifier, garbage) stops the walk: whatever lies left of it was not
//! vouched for, so it is never used. When the walk ends without an
//! untrusted address, the right-most hop is the client (the peer when
//! there is none).
//! The list is parsed once at start-up and lives for the whole process (it
//! is `Copy`, so every layer and handler holds it for free).

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::LazyLock,
};

use ipnet::IpNet;

/// Networks whose peers are believed when they append to
/// `X-Forwarded-For`; empty: nobody (the header is ignored).
#[derive(Clone, Copy, Default)]
pub struct TrustedProxies {
    nets: &'static [IpNet],
}

impl std::fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nets.iter().map(|n| n.to_string()))
            .finish()
    }
}

/// `none`, or the networks comma-separated (for `sohbet check-config`).
impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nets.is_empty() {
            return f.write_str("none");
        }
        let list: Vec<String> = self.nets.iter().map(ToString::to_string).collect();
        f.write_str(&list.join(","))
    }
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().filter_map(|s| s.parse().ok()).collect()
}

/// Loopback, RFC 1918, link-local, CGNAT (RFC 6598), IPv6 loopback,
/// unique-local (RFC 4193) and link-local.
static PRIVATE: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    nets(&[
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    ])
});

/// Cloudflare's edge (<https://www.cloudflare.com/ips-v4/>, `ips-v6`).
static CLOUDFLARE: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    nets(&[
        "173.245.48.0/20",
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "141.101.64.0/18",
        "108.162.192.0/18",
        "190.93.240.0/20",
        "188.114.96.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
        "162.158.0.0/15",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "172.64.0.0/13",
        "131.0.72.0/22",
        "2400:cb00::/32",
        "2606:4700::/32",
        "2803:f800::/32",
        "2405:b500::/32",
        "2405:8100::/32",
        "2a06:98c0::/29",
        "2c0f:f248::/32",
    ])
});

impl TrustedProxies {
    /// Trust nobody: `X-Forwarded-For` is ignored.
    pub fn none() -> Self {
        TrustedProxies { nets: &[] }
    }

    /// The preset `private` (what `TRUST_PROXY=true` means).
    pub fn private() -> Self {
        TrustedProxies { nets: &PRIVATE }
    }

    /// Does any proxy count as trusted?
    pub fn is_enabled(self) -> bool {
        !self.nets.is_empty()
    }

    /// Is `ip` (an IPv4-mapped IPv6 address as its IPv4 address) in one of
    /// the trusted networks?
    pub fn contains(self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request whose peer `peer` is a trusted proxy, from
    /// the `X-Forwarded-For` entries `hops` in header order (left to right,
    /// all header lines joined): the right-most entry outside the trusted
    /// networks; the walk from the right stops at an entry that is no
    /// address ([`parse_hop`]). Without an untrusted address before that,
    /// the right-most hop, or `peer` when no entry parses (module doc).
    pub fn client_of(self, hops: &[&str], peer: IpAddr) -> IpAddr {
        let mut rightmost = None;
        for entry in hops.iter().rev() {
            let Some(ip) = parse_hop(entry) else { break };
            if !self.contains(ip) {
                return ip;
            }
            rightmost.get_or_insert(ip);
        }
        rightmost.unwrap_or(peer)
    }

    /// Parses `TRUSTED_PROXIES` (see the module doc).
    ///
    /// # Errors
    /// The entry that is neither a network, an address nor a preset.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut out: Vec<IpNet> = Vec::new();
        for entry in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match entry.to_ascii_lowercase().as_str() {
                "private" | "railway" | "render" => out.extend(PRIVATE.iter()),
                "cloudflare" => out.extend(CLOUDFLARE.iter()),
                "none" => {}
                _ => {
                    let net = entry
                        .parse::<IpNet>()
                        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| {
                            format!(
                                "TRUSTED_PROXIES: `{entry}` is not a network (CIDR), an address \
                                 or a preset (private, railway, render, cloudflare, none)"
                            )
                        })?;
                    out.push(net.trunc());
                }
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Ok(Self::none());
        }
        // Parsed once per configuration; see the module doc.
        Ok(TrustedProxies {
            nets: Box::leak(out.into_boxed_slice()),
        })
    }

    /// `TRUSTED_PROXIES` when set, else what `TRUST_PROXY` (a boolean)
    /// means: `private` or nobody.
    ///
    /// # Errors
    /// A malformed value, naming its variable.
    pub fn from_vars(trust_proxy: Option<&str>, trusted: Option<&str>) -> Result<Self, String> {
        if let Some(list) = trusted {
            return Self::parse(list);
        }
        match trust_proxy {
            None | Some("false") | Some("0") | Some("no") => Ok(Self::none()),
            Some("true") | Some("1") | Some("yes") => Ok(Self::private()),
            Some(other) => Err(format!("TRUST_PROXY must be true or false, not `{other}`")),
        }
    }
}

/// One `X-Forwarded-For` entry as an address, its port dropped:
/// `203.0.113.8`, `203.0.113.8:4711`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:4711` (white space around it ignored). `None` for anything
/// else, e.g. `unknown` or an obfuscated identifier (RFC 7239 § 6).
pub fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = entry.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trust_proxy_true_is_the_private_preset() {
        let t = TrustedProxies::from_vars(Some("true"), None).unwrap();
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "100.64.0.1",
        ] {
            assert!(t.contains(ip(a)), "{a}");
        }
        for a in ["::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
            assert!(t.contains(ip(a)), "{a}");
        }
        for a in [
            "203.0.113.7",
            "2001:db8::1",
            "100.128.0.1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!t.contains(ip(a)), "{a}");
        }
        assert!(!TrustedProxies::from_vars(None, None).unwrap().is_enabled());
        assert!(TrustedProxies::from_vars(Some("maybe"), None).is_err());
    }

    #[test]
    fn lists_mix_presets_networks_and_addresses_and_win_over_trust_proxy() {
        let t = TrustedProxies::from_vars(
            Some("false"),
            Some("cloudflare, 198.51.100.0/24 2001:db8::9"),
        )
        .unwrap();
        assert!(t.contains(ip("104.16.1.1")));
        assert!(t.contains(ip("2606:4700::1")));
        assert!(t.contains(ip("198.51.100.200")));
        assert!(t.contains(ip("2001:db8::9")));
        assert!(!t.contains(ip("2001:db8::8")));
        assert!(!t.contains(ip("10.0.0.1")), "private is not implied");
        let none = TrustedProxies::from_vars(Some("true"), Some("none")).unwrap();
        assert!(!none.is_enabled());
        let e = TrustedProxies::parse("private,10.0.0.0/33").unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
        assert!(
            TrustedProxies::parse("railway")
                .unwrap()
                .contains(ip("10.9.0.1"))
        );
    }

    #[test]
    fn hops_parse_with_and_without_ports() {
        for (entry, want) in [
            ("203.0.113.8", "203.0.113.8"),
            (" 203.0.113.8:4711 ", "203.0.113.8"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("::ffff:203.0.113.8", "::ffff:203.0.113.8"),
        ] {
            assert_eq!(parse_hop(entry), Some(ip(want)), "{entry}");
        }
        for entry in [
            "",
            "unknown",
            "_hidden",
            "203.0.113.8:",
            "203.0.113.8:99999",
            "[203.0.113.8]:80",
            "2001:db8::1:4711x",
            "[2001:db8::1",
            "203.0.113",
        ] {
            assert_eq!(parse_hop(entry), None, "{entry}");
        }
    }

    #[test]
    fn the_walk_skips_trusted_hops_and_stops_at_garbage() {
        let t = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let peer = ip("127.0.0.1");
        let client = |hops: &[&str]| t.client_of(hops, peer);
        // The port no longer hides the client: the forged left entry is ignored.
        assert_eq!(
            client(&["198.51.100.1", "203.0.113.8:4711"]),
            ip("203.0.113.8")
        );
        assert_eq!(
            client(&["198.51.100.1", "[2001:db8::8]:4711", "10.0.0.3:80"]),
            ip("2001:db8::8")
        );
        // An entry that is no address stops the walk: nothing left of it counts.
        assert_eq!(
            client(&["198.51.100.1", "unknown", "10.0.0.3"]),
            ip("10.0.0.3")
        );
        assert_eq!(client(&["198.51.100.1", "unknown"]), peer);
        // Every hop trusted: the right-most one (a forged left entry is not it).
        assert_eq!(
            client(&["10.9.9.9", "10.0.0.3", "10.0.0.4"]),
            ip("10.0.0.4")
        );
        assert_eq!(client(&[]), peer);
    }
}
