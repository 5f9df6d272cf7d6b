//! The `network` subset's everyday facts: the default IPv4/IPv6 route's interface and address
//! (`ip route get`, as Ansible asks it) and every address (`ip -o addr show`).

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::Sections;

/// The facts of this subset (names without `ansible_`).
pub(super) const NAMES: [&str; 4] = [
    "default_ipv4",
    "default_ipv6",
    "all_ipv4_addresses",
    "all_ipv6_addresses",
];

/// `interface`, `address` and `gateway` of `ip route get <target>`'s first line.
fn route(line: &str, target: &str) -> Map<String, Value> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = Map::new();
    if words.first() != Some(&target) {
        return out;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => out.insert("interface".into(), json!(pair[1])),
            "src" => out.insert("address".into(), json!(pair[1])),
            "via" if pair[1] != target => out.insert("gateway".into(), json!(pair[1])),
            _ => None,
        };
    }
    out
}

/// One interface's `/sys/class/net` facts: MAC address, MTU and type.
struct Link<'a> {
    mac: Option<&'a str>,
    mtu: Option<u64>,
    kind: &'a str,
}

/// The interfaces in directory order, as Ansible walks them, and their details.
fn links<'a>(s: &Sections<'a>) -> (Vec<&'a str>, HashMap<&'a str, Link<'a>>) {
    let mut order = Vec::new();
    let mut out = HashMap::new();
    for line in s.get("links") {
        let w: Vec<&'a str> = line.split_whitespace().collect();
        if w.len() < 4 {
            continue;
        }
        let mac = (w[1] != "-" && w[1] != "00:00:00:00:00:00").then_some(w[1]);
        let kind = match w[3] {
            "1" => "ether",
            "512" => "ppp",
            "772" => "loopback",
            "65534" => "tunnel",
            "bridge" => "bridge",
            "bonding" => "bonding",
            _ => "unknown",
        };
        order.push(w[0]);
        out.insert(
            w[0],
            Link {
                mac,
                mtu: w[2].parse().ok(),
                kind,
            },
        );
    }
    (order, out)
}

/// Fills the default route's entry with its interface's details, as Ansible does.
fn describe(d: &mut Map<String, Value>, link: Option<&Link>) {
    d.insert(
        "macaddress".into(),
        json!(link.and_then(|l| l.mac).unwrap_or("unknown")),
    );
    d.insert("mtu".into(), json!(link.and_then(|l| l.mtu)));
    d.insert("type".into(), json!(link.map_or("unknown", |l| l.kind)));
}

pub(super) fn facts(s: &Sections, f: &mut Map<String, Value>) {
    let mut v4 = route(s.line("route4", 0), "8.8.8.8");
    let mut v6 = route(s.line("route6", 0), "2404:6800:400a:800::1012");
    let (order, links) = links(s);
    // Each interface's addresses, listed in the interfaces' order.
    let mut all4: Vec<(&str, Value)> = Vec::new();
    let mut all6: Vec<(&str, Value)> = Vec::new();
    for line in s.get("addr") {
        // `2: eth0    inet 10.0.0.2/24 brd 10.0.0.255 scope global eth0\       valid_lft ...`
        let line = line.split('\\').next().unwrap_or("");
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 4 {
            continue;
        }
        let device = w[1];
        let link = links.get(device);
        match w[2] {
            "inet" => {
                let (address, prefix) = w[3].split_once('/').unwrap_or((w[3], "32"));
                let broadcast = match (w.get(4), w.get(5)) {
                    (Some(&"brd"), Some(b)) => *b,
                    _ => "",
                };
                if v4.get("address").and_then(Value::as_str) == Some(address) {
                    let bits: u32 = prefix.parse().unwrap_or(32).min(32);
                    let mask = if bits == 0 {
                        0
                    } else {
                        u32::MAX << (32 - bits)
                    };
                    let addr: u32 = address.parse::<Ipv4Addr>().map_or(0, u32::from);
                    v4.insert("broadcast".into(), json!(broadcast));
                    v4.insert("netmask".into(), json!(Ipv4Addr::from(mask).to_string()));
                    v4.insert(
                        "network".into(),
                        json!(Ipv4Addr::from(addr & mask).to_string()),
                    );
                    v4.insert("prefix".into(), json!(prefix));
                    describe(&mut v4, link);
                    v4.insert("alias".into(), json!(w.last().copied().unwrap_or(device)));
                }
                if !address.starts_with("127.") {
                    all4.push((device, json!(address)));
                }
            }
            "inet6" => {
                let (address, prefix, scope) = if w.get(4) == Some(&"peer") {
                    let prefix = w.get(5).and_then(|p| p.split_once('/')).map_or("", |p| p.1);
                    (w[3], prefix, w.get(7).copied().unwrap_or(""))
                } else {
                    let (a, p) = w[3].split_once('/').unwrap_or((w[3], ""));
                    (a, p, w.get(5).copied().unwrap_or(""))
                };
                if v6.get("address").and_then(Value::as_str) == Some(address) {
                    v6.insert("prefix".into(), json!(prefix));
                    v6.insert("scope".into(), json!(scope));
                    describe(&mut v6, link);
                }
                if address != "::1" {
                    all6.push((device, json!(address)));
                }
            }
            _ => {}
        }
    }
    f.insert("default_ipv4".into(), Value::Object(v4));
    f.insert("default_ipv6".into(), Value::Object(v6));
    let rank = |d: &str| order.iter().position(|o| *o == d).unwrap_or(order.len());
    for (name, mut all) in [("all_ipv4_addresses", all4), ("all_ipv6_addresses", all6)] {
        all.sort_by_key(|(d, _)| rank(d));
        f.insert(
            name.into(),
            Value::Array(all.into_iter().map(|(_, a)| a).collect()),
        );
    }
}
