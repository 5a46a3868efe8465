//! `ipaddr`, `ipv4` and `ipv6`: the common queries of ansible.utils' filters (not part of
//! ansible-core, but used by many playbooks): the address, prefix, network, netmask, host form
//! and private/public checks; a list keeps the entries that are addresses.

use minijinja::{Error, Value as JValue};
use serde_json::Value;

use super::{j, to_jinja};

fn parse_ip(s: &str) -> Option<(std::net::IpAddr, Option<u8>)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix.is_some_and(|p| p > max) {
        return None;
    }
    Some((ip, prefix))
}

fn ip_query(s: &str, query: Option<&str>, family: Option<u8>) -> Value {
    let Some((ip, prefix)) = parse_ip(s.trim()) else {
        return Value::Bool(false);
    };
    if family.is_some_and(|f| (f == 4) != ip.is_ipv4()) {
        return Value::Bool(false);
    }
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let p = prefix.unwrap_or(max);
    let net = |ip: std::net::IpAddr, p: u8| -> std::net::IpAddr {
        match ip {
            std::net::IpAddr::V4(v) => {
                let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                std::net::IpAddr::V4((u32::from(v) & m).into())
            }
            std::net::IpAddr::V6(v) => {
                let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                std::net::IpAddr::V6((u128::from(v) & m).into())
            }
        }
    };
    match query.unwrap_or("") {
        "" => Value::from(s.trim()),
        "address" => Value::from(ip.to_string()),
        "prefix" => Value::from(p),
        "network" => Value::from(net(ip, p).to_string()),
        "host" => Value::from(format!("{ip}/{max}")),
        "netmask" => match ip {
            std::net::IpAddr::V4(_) => {
                let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                Value::from(std::net::Ipv4Addr::from(m).to_string())
            }
            _ => Value::Bool(false),
        },
        "private" => Value::Bool(match ip {
            std::net::IpAddr::V4(v) => v.is_private(),
            std::net::IpAddr::V6(v) => (v.segments()[0] & 0xfe00) == 0xfc00,
        }),
        "public" => Value::Bool(match ip {
            std::net::IpAddr::V4(v) => !(v.is_private() || v.is_loopback() || v.is_link_local()),
            std::net::IpAddr::V6(v) => !v.is_loopback(),
        }),
        _ => Value::from(s.trim()),
    }
}

fn ip_apply(v: JValue, query: Option<String>, family: Option<u8>) -> Result<JValue, Error> {
    let v = j(&v)?;
    let q = query.as_deref();
    Ok(to_jinja(&match v {
        Value::Array(items) => Value::Array(
            items.iter().map(|x| ip_query(&crate::template::to_text(x), q, family)).filter(|x| *x != Value::Bool(false)).collect(),
        ),
        other => ip_query(&crate::template::to_text(&other), q, family),
    }))
}

pub fn ipaddr(v: JValue, query: Option<String>) -> Result<JValue, Error> {
    ip_apply(v, query, None)
}

pub fn ipfamily(v: JValue, query: Option<String>, family: u8) -> Result<JValue, Error> {
    ip_apply(v, query, Some(family))
}
