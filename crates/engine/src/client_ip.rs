//! The client address used for the local check and the ban table.
//!
//! The address is the TCP peer. `X-Forwarded-For` and `X-Real-IP` are read
//! only when the peer is listed in `trusted-proxies` (v8 `server.trusted-proxies`),
//! which is empty by default. Upstream CLIProxyAPI v7.2.140 trusts every peer,
//! so one header makes a remote caller look local and evades the per-address
//! ban. Upstream v8 added the setting with the same empty default.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// One trusted proxy: an address or a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                prefix_match(&base.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                prefix_match(&base.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_match(base: &[u8], ip: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    if base[..full] != ip[..full] {
        return false;
    }
    let rest = prefix % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (base[full] & mask) == (ip[full] & mask)
}

/// The parsed `trusted-proxies` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Network>,
}

impl TrustedProxies {
    /// Parses a list of IP addresses and CIDR blocks (`10.0.0.1`, `10.0.0.0/8`, `::1/128`).
    ///
    /// Blank entries are skipped; any other entry that is not an address or a
    /// CIDR block is an error naming the entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut networks = Vec::new();
        for entry in entries {
            let text = entry.trim();
            if text.is_empty() {
                continue;
            }
            networks.push(parse_network(text).ok_or_else(|| {
                format!("invalid trusted proxy `{text}`: expected an IP address or a CIDR block such as 10.0.0.0/8")
            })?);
        }
        Ok(Self { networks })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|network| network.contains(ip))
    }
}

fn parse_network(text: &str) -> Option<Network> {
    match text.split_once('/') {
        Some((address, prefix)) => {
            let base = canonical(address.parse::<IpAddr>().ok()?);
            let prefix: u8 = prefix.parse().ok()?;
            let max = if base.is_ipv4() { 32 } else { 128 };
            (prefix <= max).then_some(Network { base, prefix })
        }
        None => {
            let base = canonical(text.parse::<IpAddr>().ok()?);
            let prefix = if base.is_ipv4() { 32 } else { 128 };
            Some(Network { base, prefix })
        }
    }
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, as a dual-stack
/// socket reports IPv4 peers) to plain IPv4, as Go reports such peers.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Returns the client address as text, the way gin's `ClientIP()` computes it
/// with the given trusted proxies.
///
/// When the peer is trusted, `X-Forwarded-For` (first header line) is walked
/// from the right, skipping trusted hops. The first untrusted hop wins, or the
/// left-most one, as written in the header (trimmed). A header with an
/// element that is not an IP address is ignored, and `X-Real-IP` is tried the
/// same way. Otherwise the peer address is returned.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> String {
    let peer = canonical(peer);
    if trusted.contains(peer) {
        for name in ["x-forwarded-for", "x-real-ip"] {
            let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) else {
                continue;
            };
            if let Some(ip) = walk_forwarded(value, trusted) {
                return ip;
            }
        }
    }
    peer.to_string()
}

fn walk_forwarded(value: &str, trusted: &TrustedProxies) -> Option<String> {
    let items: Vec<&str> = value.split(',').collect();
    for index in (0..items.len()).rev() {
        let text = items[index].trim();
        let ip: IpAddr = text.parse().ok()?;
        if index == 0 || !trusted.contains(ip) {
            return Some(text.to_string());
        }
    }
    None
}

/// Returns whether upstream treats the client as local: exactly `127.0.0.1`
/// or `::1` (so not `127.0.0.2`, `localhost` or `::ffff:127.0.0.1` from a header).
pub fn is_local(client_ip: &str) -> bool {
    client_ip == "127.0.0.1" || client_ip == "::1"
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_headers() {
        let peer: IpAddr = "203.0.113.7".parse().unwrap();
        let map = headers(&[("x-forwarded-for", "127.0.0.1"), ("x-real-ip", "127.0.0.1")]);
        assert_eq!(
            resolve(peer, &map, &TrustedProxies::default()),
            "203.0.113.7"
        );
    }

    #[test]
    fn trusted_peer_uses_first_untrusted_hop_from_right() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let map = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.3")]);
        assert_eq!(
            resolve(peer, &map, &trusted(&["10.0.0.0/8"])),
            "203.0.113.9"
        );
    }

    #[test]
    fn trusted_chain_falls_back_to_leftmost() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let map = headers(&[("x-forwarded-for", " 10.1.1.1 , 10.0.0.3")]);
        assert_eq!(resolve(peer, &map, &trusted(&["10.0.0.0/8"])), "10.1.1.1");
    }

    #[test]
    fn invalid_forwarded_header_falls_back_to_real_ip() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let map = headers(&[("x-forwarded-for", "nonsense"), ("x-real-ip", "192.0.2.4")]);
        assert_eq!(resolve(peer, &map, &trusted(&["127.0.0.1"])), "192.0.2.4");
    }

    #[test]
    fn trusted_peer_without_headers_is_peer() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            resolve(peer, &HeaderMap::new(), &trusted(&["127.0.0.1"])),
            "127.0.0.1"
        );
    }

    #[test]
    fn mapped_ipv4_peer_is_reported_as_ipv4() {
        let peer: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(
            resolve(peer, &HeaderMap::new(), &TrustedProxies::default()),
            "127.0.0.1"
        );
        assert!(is_local("127.0.0.1"));
    }

    #[test]
    fn local_means_exact_loopback_text() {
        assert!(is_local("::1"));
        assert!(!is_local("127.0.0.2"));
        assert!(!is_local("::ffff:127.0.0.1"));
        assert!(!is_local("localhost"));
    }

    #[test]
    fn cidr_matching_respects_prefix_bits() {
        let list = trusted(&["192.168.4.0/22", "2001:db8::/32"]);
        assert!(list.contains("192.168.7.255".parse().unwrap()));
        assert!(!list.contains("192.168.8.0".parse().unwrap()));
        assert!(list.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!list.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn invalid_entries_are_rejected_by_name() {
        let err = TrustedProxies::parse(&["10.0.0.0/33".to_string()]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        let err = TrustedProxies::parse(&["proxy.local".to_string()]).unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
        assert_eq!(
            TrustedProxies::parse(&[" ".to_string()]).unwrap(),
            TrustedProxies::default()
        );
    }
}
