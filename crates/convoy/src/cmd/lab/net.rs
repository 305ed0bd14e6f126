//! The lab's network: two namespaces (private, cloud) joined by a veth "WAN"
//! shaped with `tc`, and a management link from this namespace to each, on
//! which the mover reaches the agents (so that only migration traffic crosses
//! the shaped WAN).
//!
//! ```text
//!   root ns ── mgmt 10.79.0.1/30 ─── 10.79.0.2 [private ns] 10.78.0.1 ══ WAN ══ 10.78.0.2 [cloud ns] 10.79.0.6 ─── mgmt 10.79.0.5/30 ── root ns
//! ```

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{bail, Context};

/// The lab's namespaces and links; removed when dropped.
#[derive(Debug)]
pub struct LabNet {
    /// The private site's namespace.
    pub private_ns: String,
    /// The cloud site's namespace.
    pub cloud_ns: String,
    /// The private end of the WAN (where its guests' migrations leave from).
    pub private_wan: Ipv4Addr,
    /// The cloud end of the WAN (where incoming migrations listen).
    pub cloud_wan: Ipv4Addr,
    /// The private namespace's management address (its agent listens here).
    pub private_mgmt: Ipv4Addr,
    /// The cloud namespace's management address.
    pub cloud_mgmt: Ipv4Addr,
    /// Whether the round-trip time is emulated (needs the kernel's netem).
    pub delay_emulated: bool,
    root_links: Vec<String>,
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .with_context(|| format!("running {}", args[0]))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn in_ns(ns: &str, args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["ip", "netns", "exec", ns];
    all.extend_from_slice(args);
    run(&all)
}

impl LabNet {
    /// Creates the namespaces and links named after `id` (a few letters and
    /// digits: link names must fit in 15 bytes), shaping the WAN to
    /// `rate_bps` each way with a token bucket, and — where the kernel has
    /// netem — adding half of `rtt_s` of delay each way.
    pub fn create(id: &str, rate_bps: f64, rtt_s: f64) -> anyhow::Result<LabNet> {
        let private_ns = format!("{id}-private");
        let cloud_ns = format!("{id}-cloud");
        if let Err(e) = run(&["ip", "netns", "add", &private_ns]) {
            bail!(
                "{e}\nconvoy lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2, \
                 to make network namespaces"
            );
        }
        let mut net = LabNet {
            private_ns,
            cloud_ns,
            private_wan: Ipv4Addr::new(10, 78, 0, 1),
            cloud_wan: Ipv4Addr::new(10, 78, 0, 2),
            private_mgmt: Ipv4Addr::new(10, 79, 0, 2),
            cloud_mgmt: Ipv4Addr::new(10, 79, 0, 6),
            delay_emulated: false,
            root_links: Vec::new(),
        };
        // From here on, Drop removes whatever was made.
        run(&["ip", "netns", "add", &net.cloud_ns])?;
        let (p, c) = (net.private_ns.clone(), net.cloud_ns.clone());
        let (w0, w1) = (format!("{id}w0"), format!("{id}w1"));
        run(&[
            "ip", "link", "add", &w0, "type", "veth", "peer", "name", &w1,
        ])?;
        run(&["ip", "link", "set", &w0, "netns", &p])?;
        run(&["ip", "link", "set", &w1, "netns", &c])?;
        for (ns, dev, ip) in [(&p, &w0, net.private_wan), (&c, &w1, net.cloud_wan)] {
            in_ns(ns, &["ip", "link", "set", "lo", "up"])?;
            in_ns(ns, &["ip", "addr", "add", &format!("{ip}/24"), "dev", dev])?;
            in_ns(ns, &["ip", "link", "set", dev, "up"])?;
        }
        let mgmt = [
            (
                &p,
                format!("{id}m0"),
                format!("{id}m1"),
                1u8,
                net.private_mgmt,
            ),
            (
                &c,
                format!("{id}m2"),
                format!("{id}m3"),
                5u8,
                net.cloud_mgmt,
            ),
        ];
        for (ns, outer, inner, root_host, ip) in mgmt {
            run(&[
                "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            net.root_links.push(outer.clone());
            run(&["ip", "link", "set", &inner, "netns", ns])?;
            let root_ip = Ipv4Addr::new(10, 79, 0, root_host);
            run(&["ip", "addr", "add", &format!("{root_ip}/30"), "dev", &outer])?;
            run(&["ip", "link", "set", &outer, "up"])?;
            in_ns(
                ns,
                &["ip", "addr", "add", &format!("{ip}/30"), "dev", &inner],
            )?;
            in_ns(ns, &["ip", "link", "set", &inner, "up"])?;
        }
        let mut delayed = true;
        for (ns, dev) in [(&p, &w0), (&c, &w1)] {
            delayed &= shape(ns, dev, rate_bps, rtt_s / 2.0)?;
        }
        net.delay_emulated = delayed && rtt_s > 0.0;
        Ok(net)
    }
}

/// Shapes `dev`'s egress to `rate_bps` (tbf), under a netem delay of
/// `delay_s` when there is a delay and the kernel has netem. Returns whether
/// the delay is emulated.
fn shape(ns: &str, dev: &str, rate_bps: f64, delay_s: f64) -> anyhow::Result<bool> {
    let rate = format!("{}bit", rate_bps.round() as u64);
    // At least one timer tick of data at full rate, and a jumbo GSO segment.
    let burst = ((rate_bps / 8.0 / 250.0) as u64).max(64 * 1024).to_string();
    let delayed = delay_s > 0.0
        && in_ns(
            ns,
            &[
                "tc",
                "qdisc",
                "add",
                "dev",
                dev,
                "root",
                "handle",
                "1:",
                "netem",
                "delay",
                &format!("{}us", (delay_s * 1e6).round() as u64),
                "limit",
                "100000",
            ],
        )
        .is_ok();
    let parent: &[&str] = if delayed {
        &["parent", "1:", "handle", "2:"]
    } else {
        &["root", "handle", "1:"]
    };
    let mut args = vec!["tc", "qdisc", "add", "dev", dev];
    args.extend_from_slice(parent);
    args.extend_from_slice(&["tbf", "rate", &rate, "burst", &burst, "latency", "100ms"]);
    in_ns(ns, &args).context("shaping the WAN with tc tbf")?;
    Ok(delayed)
}

/// Tears down namespace `ns`: kills every process in it (the agent and its
/// guests), then deletes it, which deletes its links and their peers.
pub fn remove_namespace(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: kill(2) on a process `ip netns pids` found in the
                // lab's own namespace; it touches no memory.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
    let _ = run(&["ip", "netns", "del", ns]);
}

impl LabNet {
    /// The namespaces, for a teardown from elsewhere (a signal handler).
    pub fn namespaces(&self) -> [String; 2] {
        [self.private_ns.clone(), self.cloud_ns.clone()]
    }
}

impl Drop for LabNet {
    fn drop(&mut self) {
        for ns in [&self.private_ns, &self.cloud_ns] {
            remove_namespace(ns);
        }
        for l in &self.root_links {
            let _ = run(&["ip", "link", "del", l]);
        }
    }
}
