//! The `hardware` subset: processors from /proc/cpuinfo (Ansible's counting, quirks included),
//! memory from /proc/meminfo, mounts from /proc/mounts with their `statvfs` sizes.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use super::Sections;

/// The facts of this subset (names without `ansible_`).
pub(super) const NAMES: [&str; 11] = [
    "processor",
    "processor_count",
    "processor_cores",
    "processor_threads_per_core",
    "processor_vcpus",
    "processor_nproc",
    "memtotal_mb",
    "memfree_mb",
    "swaptotal_mb",
    "swapfree_mb",
    "mounts",
];

/// `processor*` as ansible-core's `LinuxHardware.get_cpu_facts` (x86 and ARM; no Xen or s390x
/// special cases).
fn cpu(s: &Sections, architecture: &str, f: &mut Map<String, Value>) {
    let lines = s.get("cpuinfo");
    if lines.is_empty() {
        return;
    }
    let mut processor = Vec::new();
    let (mut i, mut vendors, mut models, mut procs) = (0u64, 0u64, 0u64, 0u64);
    let (mut physid, mut coreid) = (String::from("0"), String::from("0"));
    let mut sockets: IndexMap<String, u64> = IndexMap::new();
    let mut cores: IndexMap<String, u64> = IndexMap::new();
    for line in lines {
        let (key, val) = line.split_once(':').unwrap_or((line, ""));
        let (key, val) = (key.trim(), val.trim());
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(json!(val));
                match key {
                    "vendor_id" => vendors += 1,
                    "model name" => models += 1,
                    "processor" => procs += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_owned();
                sockets.entry(physid.clone()).or_insert(1);
            }
            "core id" => {
                coreid = val.to_owned();
                // Ansible tests `sockets` here, not `cores`.
                if !sockets.contains_key(&coreid) {
                    cores.insert(coreid.clone(), 1);
                }
            }
            "cpu cores" => {
                sockets.insert(physid.clone(), val.parse().unwrap_or(0));
            }
            "siblings" => {
                cores.insert(coreid.clone(), val.parse().unwrap_or(0));
            }
            _ => {}
        }
    }
    if vendors > 0 && vendors == models {
        i = vendors;
    }
    if ["armv", "aarch", "ppc"]
        .iter()
        .any(|p| architecture.starts_with(p))
    {
        i = procs;
    }
    let count = if sockets.is_empty() {
        i
    } else {
        sockets.len() as u64
    };
    let cores_per = match sockets.values().next() {
        Some(&n) if n > 0 => n,
        _ => 1,
    };
    let first_core = cores.values().next().copied().unwrap_or(1);
    // Python's round(): halves to even.
    let ratio = first_core as f64 / cores_per as f64;
    let threads = {
        let r = ratio.round();
        if (ratio - ratio.trunc() - 0.5).abs() < f64::EPSILON && r as u64 % 2 == 1 {
            r as u64 - 1
        } else {
            r as u64
        }
    };
    f.insert("processor".into(), Value::Array(processor));
    f.insert("processor_count".into(), json!(count));
    f.insert("processor_cores".into(), json!(cores_per));
    f.insert("processor_threads_per_core".into(), json!(threads));
    f.insert("processor_vcpus".into(), json!(threads * count * cores_per));
    let nproc = s.line("nproc", 0).parse::<u64>().unwrap_or(procs);
    f.insert("processor_nproc".into(), json!(nproc));
}

/// `memtotal_mb`, `memfree_mb`, `swaptotal_mb`, `swapfree_mb` (kB / 1024, rounded down).
fn memory(s: &Sections, f: &mut Map<String, Value>) {
    for line in s.get("meminfo") {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kb: u64 = rest
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let name = match key {
            "MemTotal" => "memtotal_mb",
            "MemFree" => "memfree_mb",
            "SwapTotal" => "swaptotal_mb",
            "SwapFree" => "swapfree_mb",
            _ => continue,
        };
        f.insert(name.into(), json!(kb / 1024));
    }
}

/// /proc/mounts' `\040`-style escapes decoded.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mounts`: each real file system's entry with its sizes (`stat -f`) and `uuid` (lsblk, else
/// `N/A`).
fn mounts(s: &Sections, f: &mut Map<String, Value>) {
    let mut uuids: HashMap<&str, &str> = HashMap::new();
    for line in s.get("lsblk") {
        let mut parts = line.split_whitespace();
        if let (Some(dev), Some(uuid)) = (parts.next(), parts.next()) {
            uuids.entry(dev).or_insert(uuid);
        }
    }
    let mut sizes: HashMap<String, Vec<u64>> = HashMap::new();
    for line in s.get("statfs") {
        let parts: Vec<&str> = line.splitn(8, ' ').collect();
        if parts.len() == 8 {
            let nums: Vec<u64> = parts[..7].iter().filter_map(|n| n.parse().ok()).collect();
            if nums.len() == 7 {
                sizes.insert(parts[7].to_owned(), nums);
            }
        }
    }
    // Bind mounts: findmnt's SOURCE ends with `[/dir]` (Ansible's `_find_bind_mounts`).
    let binds: Vec<&str> = s
        .get("findmnt")
        .iter()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (target, source) = (w.next()?, w.next()?);
            source.ends_with(']').then_some(target)
        })
        .collect();
    let mut mounts = Vec::new();
    for line in s.get("mounts") {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 {
            continue;
        }
        let device = unescape(fields[0]);
        let mount = unescape(fields[1]);
        let mut options = unescape(fields[3]);
        // Ansible's test for `bind` already there wants a `"` after it, so it adds `,bind`.
        let marked = options
            .find("bind")
            .is_some_and(|i| options[i..].contains('"'));
        if binds.contains(&mount.as_str()) && !marked {
            options.push_str(",bind");
        }
        let mut m = json!({
            "device": device,
            "mount": mount,
            "fstype": unescape(fields[2]),
            "options": options,
            "dump": fields[4].parse::<u64>().unwrap_or(0),
            "passno": fields[5].parse::<u64>().unwrap_or(0),
            "uuid": uuids.get(device.as_str()).copied().unwrap_or("N/A"),
        });
        if let (Some(n), Value::Object(o)) = (sizes.get(&mount), &mut m) {
            // %s %S %b %f %a %c %d: f_bsize, f_frsize, blocks, free, available, inodes, free.
            let (bsize, frsize, blocks, free, avail, files, ffree) =
                (n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
            o.insert("size_total".into(), json!(frsize * blocks));
            o.insert("size_available".into(), json!(frsize * avail));
            o.insert("block_size".into(), json!(bsize));
            o.insert("block_total".into(), json!(blocks));
            o.insert("block_available".into(), json!(avail));
            o.insert("block_used".into(), json!(blocks.saturating_sub(free)));
            o.insert("inode_total".into(), json!(files));
            o.insert("inode_available".into(), json!(ffree));
            o.insert("inode_used".into(), json!(files.saturating_sub(ffree)));
        }
        mounts.push(m);
    }
    f.insert("mounts".into(), Value::Array(mounts));
}

pub(super) fn facts(s: &Sections, f: &mut Map<String, Value>) {
    let architecture = f
        .get("architecture")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    cpu(s, &architecture, f);
    memory(s, f);
    mounts(s, f);
}
