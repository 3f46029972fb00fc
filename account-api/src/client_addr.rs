//! Who is on the other end: the client address behind trusted proxies, and
//! the key an address is throttled under.
//!
//! `X-Forwarded-For` is a list anyone can start: a client sends whatever it
//! likes and each proxy appends the address it received the request from.
//! Only the entries appended by proxies we run are facts, so the header is
//! read only when the TCP peer is one of the configured trusted proxies, and
//! then from the right: the right-most hop that is not itself a trusted
//! proxy is the client. Everything to its left was written by that client
//! and is ignored. Without trusted proxies the socket address is the client.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::{IpNet, Ipv6Net};

use crate::state::AppState;

/// The client's address as this server decided it, stored in the request's
/// extensions by [`resolve`] for the extractors in `extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Parses a `--trusted-proxy` value: a CIDR block, or one address (taken as
/// a /32 or /128).
pub fn parse_trusted_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is neither a CIDR block (10.0.0.0/8) nor an IP address"))
}

/// The client address of a request whose TCP peer is `peer`, given the
/// `X-Forwarded-For` values in the order they arrived.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    // Walk from the right. `last` is the nearest hop known so far: when the
    // walk stops at a hop that does not parse, the request is keyed by the
    // proxy that forwarded it rather than by anything the client wrote.
    let mut last = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return last;
        };
        if !is_trusted(ip, trusted) {
            return ip;
        }
        last = ip;
    }
    last
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The key an address is throttled under. One IPv6 subscriber usually
/// holds a whole /64 and can pick any address in it at will, so IPv6
/// clients are counted per /64; IPv4 (and IPv4-mapped IPv6) per address.
/// Text that is not an address (`unknown`) is its own key.
pub fn throttle_key(addr: &str) -> String {
    match addr.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => v6_prefix(v6).to_string(),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => addr.to_string(),
    }
}

fn v6_prefix(ip: Ipv6Addr) -> Ipv6Net {
    // 64 is a valid prefix length for IPv6, so `new` cannot fail.
    Ipv6Net::new(ip, 64)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| Ipv6Net::from(ip))
}

/// Middleware: decides the client address once per request and stores it
/// as [`ClientIp`].
pub async fn resolve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(peer) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = client_ip(
            peer,
            forwarded_for(request.headers()),
            &state.config.trusted_proxies,
        );
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

fn forwarded_for(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// The client address of a request, as text for the audit log and the
/// throttle: the resolved one, else the socket's, else `unknown`.
pub fn of(parts: &Parts) -> String {
    if let Some(ClientIp(ip)) = parts.extensions.get::<ClientIp>() {
        return ip.to_string();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| parse_trusted_proxy(s).unwrap())
            .collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), [], &[]), ip("10.0.0.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.7"]);
        // The client wrote a fake first entry; the edge proxy appended the
        // real client; an inner proxy appended the edge proxy.
        assert_eq!(
            client_ip(
                ip("10.1.1.1"),
                ["6.6.6.6, 203.0.113.9, 192.168.1.7"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Several headers read as one list, in order.
        assert_eq!(
            client_ip(ip("10.1.1.1"), ["6.6.6.6", "203.0.113.9:4711"], &trusted),
            ip("203.0.113.9")
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.1.1.1"), [], &trusted), ip("10.1.1.1"));
        // Every hop trusted: the left-most one.
        assert_eq!(
            client_ip(ip("10.1.1.1"), ["10.2.2.2, 192.168.1.7"], &trusted),
            ip("10.2.2.2")
        );
        // Garbage where the client should be: the proxy that forwarded it.
        assert_eq!(
            client_ip(ip("10.1.1.1"), ["1.2.3.4, not-an-ip, 10.3.3.3"], &trusted),
            ip("10.3.3.3")
        );
        // IPv6 hops, with and without a port; mapped IPv4 peers.
        assert_eq!(
            client_ip(ip("::ffff:10.1.1.1"), ["[2001:db8:1:2::5]:443"], &trusted),
            ip("2001:db8:1:2::5")
        );
    }

    #[test]
    fn trusted_proxy_values_parse() {
        assert_eq!(
            parse_trusted_proxy("127.0.0.1").unwrap(),
            "127.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_trusted_proxy(" 10.1.2.3/8 ").unwrap(),
            "10.0.0.0/8".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_trusted_proxy("fd00::/8").unwrap(),
            "fd00::/8".parse::<IpNet>().unwrap()
        );
        assert!(parse_trusted_proxy("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxy("proxy.example.com").is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(
            throttle_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            throttle_key("2001:db8:1:2::1"),
            throttle_key("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            throttle_key("2001:db8:1:2::1"),
            throttle_key("2001:db8:1:3::1")
        );
        assert_eq!(throttle_key("203.0.113.9"), "203.0.113.9");
        assert_eq!(throttle_key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(throttle_key("unknown"), "unknown");
    }
}
