//! The `qemu` backend: live migration between QEMU processes, driven over QMP.
//!
//! A [`QemuHost`] owns the QEMU processes of one hypervisor host (a runtime
//! directory holding each VM's QMP socket, pid file, log and, for the
//! destination, its disk image and the addresses it listens on). The
//! [`QemuBackend`] moves a VM from a source host to a destination host, both
//! seen through the [`Host`] trait — a local [`QemuHost`], or a remote host
//! reached through its agent (the `convoy-agent` crate):
//!
//! - **prepare**: starts the destination with the source's machine
//!   configuration, paused (`-S`) and `-incoming defer`; with a disk, creates
//!   an empty image of the same size and exports it over NBD
//!   (`nbd-server-start`, `block-export-add`); then `migrate-incoming` on tcp
//!   (port chosen by QEMU, read back from `query-migrate`);
//! - **transfer**: storage first (`blockdev-mirror` of the disk to the NBD
//!   export, until the job is ready), then memory (`migrate-set-capabilities`
//!   auto-converge, `migrate-set-parameters` max-bandwidth and
//!   downtime-limit, `migrate`), following `query-migrate` for progress
//!   (bytes transferred and remaining, dirty rate, expected downtime); when it
//!   completes the source is paused and the mirror is completed
//!   (`block-job-cancel` on a ready mirror leaves both images identical);
//! - **cutover**: stops the NBD server (before `cont`, or the destination
//!   reports a permission conflict on the disk node), resumes the destination,
//!   then `quit`s the source — never before the source is paused, so the
//!   guest runs in one place at every instant;
//! - **rollback**: `migrate_cancel`, cancels the mirror, kills the destination
//!   and removes its image, and resumes the source if it was paused.
//!
//! Every step is safe to rerun after a crash of the mover: `transfer` follows
//! a migration already in flight instead of starting another, and `observe`
//! reads `query-status` and `query-migrate` on both sides.
//!
//! The accelerator is detected, not assumed ([`Accel::detect`]): KVM only when
//! /dev/kvm can be opened and the host is not itself a virtual machine (nested
//! KVM is slower than TCG for these guests), else TCG.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::backend::{
    Backend, Move, Observation, Presence, StepContext, TransferProgress, TransferStatus,
};
use crate::error::BackendError;
use crate::host::{is_safe_name, presence_of, Host};
use crate::qmp::{Qmp, QmpError};

/// The block node name of a VM's disk (its format node), the same on both sides.
pub const DISK_NODE: &str = "disk0";
const MIRROR_JOB: &str = "convoy-mirror-disk0";
const NBD_NODE: &str = "convoy-nbd-disk0";
const EXPORT_ID: &str = "convoy-export-disk0";
/// QEMU's largest accepted max-bandwidth is about 2^61 bytes/s; 1 TiB/s means
/// "no limit" (QEMU's default would otherwise cap migration at 128 MiB/s).
const UNLIMITED_BANDWIDTH: u64 = 1 << 40;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How QEMU runs guest code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// QEMU's software translator.
    Tcg,
}

impl Accel {
    /// `CONVOY_QEMU_ACCEL=kvm|tcg` if set; otherwise KVM when /dev/kvm opens
    /// read-write and the CPU does not report running under a hypervisor
    /// (nested KVM is too slow), else TCG.
    pub fn detect() -> Accel {
        match std::env::var("CONVOY_QEMU_ACCEL").as_deref() {
            Ok("kvm") => return Accel::Kvm,
            Ok("tcg") => return Accel::Tcg,
            _ => {}
        }
        let kvm = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        let nested = fs::read_to_string("/proc/cpuinfo")
            .map(|c| {
                c.lines().any(|l| {
                    l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor")
                })
            })
            .unwrap_or(true);
        if kvm && !nested {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

/// A VM's disk image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// The image file.
    pub path: PathBuf,
    /// Its format: `raw` or `qcow2`.
    pub format: String,
}

/// Data placed in guest RAM at first boot (`-device loader,…,force-raw=on`):
/// initial content, given to the source only, since the destination's RAM
/// comes from the migration stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamLoad {
    /// The file.
    pub file: PathBuf,
    /// The guest-physical address.
    pub addr: u64,
}

/// What QEMU needs to run a VM; the destination is started with the same
/// configuration, so that the migration stream fits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineConfig {
    /// Machine type (`q35`, `pc`).
    pub machine: String,
    /// Guest memory, MiB.
    pub memory_mib: u64,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// The disk, if it has one (moved by mirroring).
    pub disk: Option<DiskConfig>,
    /// A kernel to boot directly.
    pub kernel: Option<PathBuf>,
    /// Its initramfs.
    pub initrd: Option<PathBuf>,
    /// Its command line.
    pub append: Option<String>,
    /// Initial RAM content (source only).
    pub ram_loads: Vec<RamLoad>,
    /// More arguments, given to both sides.
    pub extra_args: Vec<String>,
    /// Keep the guest's serial console in the host's directory
    /// (`VM.console`, appended to): the source's output, then the
    /// destination's once it runs. Read it with [`Host::console`].
    #[serde(default)]
    pub console: bool,
}

impl MachineConfig {
    /// A diskless, firmware-only machine with `memory_mib` MiB and `vcpus` CPUs.
    pub fn new(memory_mib: u64, vcpus: u32) -> MachineConfig {
        MachineConfig {
            machine: "q35".into(),
            memory_mib,
            vcpus: vcpus.max(1),
            disk: None,
            kernel: None,
            initrd: None,
            append: None,
            ram_loads: Vec::new(),
            extra_args: Vec::new(),
            console: false,
        }
    }

    /// The command-line arguments, less the ones that depend on the host
    /// (sockets, incoming mode).
    fn args(&self, accel: Accel, incoming: bool, disk_path: Option<&Path>) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "-machine".into(),
            self.machine.clone(),
            "-accel".into(),
            accel.as_str().into(),
            "-m".into(),
            self.memory_mib.to_string(),
            "-smp".into(),
            self.vcpus.to_string(),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-display".into(),
            "none".into(),
        ];
        if let (Some(d), Some(path)) = (&self.disk, disk_path) {
            a.push("-blockdev".into());
            a.push(format!(
                "driver=file,filename={},node-name={DISK_NODE}-file",
                path.display()
            ));
            a.push("-blockdev".into());
            a.push(format!(
                "driver={},file={DISK_NODE}-file,node-name={DISK_NODE}",
                d.format
            ));
            a.push("-device".into());
            a.push(format!(
                "virtio-blk-pci,drive={DISK_NODE},id={DISK_NODE}-dev"
            ));
        }
        for (flag, v) in [("-kernel", &self.kernel), ("-initrd", &self.initrd)] {
            if let Some(p) = v {
                a.push(flag.into());
                a.push(p.display().to_string());
            }
        }
        if let Some(s) = &self.append {
            a.push("-append".into());
            a.push(s.clone());
        }
        if !incoming {
            for l in &self.ram_loads {
                a.push("-device".into());
                a.push(format!(
                    "loader,file={},addr={:#x},force-raw=on",
                    l.file.display(),
                    l.addr
                ));
            }
        }
        a.extend(self.extra_args.iter().cloned());
        if incoming {
            a.extend(["-S".into(), "-incoming".into(), "defer".into()]);
        }
        a
    }
}

struct Proc {
    child: Child,
}

/// The QEMU processes of one hypervisor host, in a runtime directory.
/// Processes it started are killed when it is dropped, unless it was
/// [detached](QemuHost::detach) first; a host made on the same directory
/// later (a restarted mover) finds and controls them through their pid files
/// and QMP sockets.
pub struct QemuHost {
    name: String,
    dir: PathBuf,
    binary: PathBuf,
    accel: Accel,
    address: IpAddr,
    prefix: Vec<String>,
    procs: Mutex<HashMap<String, Proc>>,
}

impl std::fmt::Debug for QemuHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QemuHost")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("accel", &self.accel)
            .finish()
    }
}

/// The QEMU binary: `CONVOY_QEMU` if set, else `qemu-system-x86_64`.
pub fn qemu_binary() -> PathBuf {
    std::env::var_os("CONVOY_QEMU")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
}

/// Whether the QEMU binary ([`qemu_binary`]) runs here.
pub fn qemu_available() -> bool {
    Command::new(qemu_binary())
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Makes sure QEMU runs here for the workspace's real-QEMU tests: when it is
/// missing, runs the project's `scripts/install-qemu.sh` (apt, as root;
/// serialised, so parallel tests may all call this). Panics with the reason
/// when QEMU is still missing: those tests fail, they never skip.
pub fn require_qemu() {
    if !qemu_available() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-qemu.sh");
        let _ = Command::new("bash").arg(script).status();
    }
    assert!(
        qemu_available(),
        "{} is missing and scripts/install-qemu.sh could not install it: these tests need QEMU",
        qemu_binary().display()
    );
}

impl QemuHost {
    /// A host named `name` keeping its files in `dir` (created if needed),
    /// listening on 127.0.0.1, with the detected accelerator.
    pub fn new(name: impl Into<String>, dir: impl Into<PathBuf>) -> io::Result<QemuHost> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(QemuHost {
            name: name.into(),
            dir,
            binary: qemu_binary(),
            accel: Accel::detect(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            prefix: Vec::new(),
            procs: Mutex::new(HashMap::new()),
        })
    }

    /// Uses `accel` instead of the detected one.
    pub fn with_accel(mut self, accel: Accel) -> QemuHost {
        self.accel = accel;
        self
    }

    /// Listens for incoming migrations and NBD on `address` (reachable from
    /// the source host).
    pub fn with_address(mut self, address: IpAddr) -> QemuHost {
        self.address = address;
        self
    }

    /// Starts QEMU through `prefix`, a command that execs its arguments (for
    /// example `ip netns exec cloud`, to run this host's guests in a network
    /// namespace; QMP's unix sockets are reached from any namespace).
    pub fn with_prefix<I, S>(mut self, prefix: I) -> QemuHost
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefix = prefix.into_iter().map(Into::into).collect();
        self
    }

    /// Runs `binary` instead of `qemu-system-x86_64`.
    pub fn with_binary(mut self, binary: impl Into<PathBuf>) -> QemuHost {
        self.binary = binary.into();
        self
    }

    /// The host's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The accelerator in use.
    pub fn accel(&self) -> Accel {
        self.accel
    }

    /// The runtime directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The QMP socket of `vm`.
    pub fn qmp_path(&self, vm: &str) -> PathBuf {
        self.dir.join(format!("{vm}.qmp"))
    }

    /// The second QMP socket of `vm`, used for observing.
    pub fn observer_path(&self, vm: &str) -> PathBuf {
        self.dir.join(format!("{vm}.obs.qmp"))
    }

    fn file(&self, vm: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{vm}.{ext}"))
    }

    /// The pid of `vm`'s QEMU process, if this host started it and it runs.
    /// The pid of `vm`'s QEMU process while it runs: one this host started,
    /// or one a previous mover started in the same directory (found through
    /// its pid file, and checked against its command line).
    pub fn pid(&self, vm: &str) -> Option<u32> {
        {
            let mut procs = lock(&self.procs);
            if let Some(p) = procs.get_mut(vm) {
                return match p.child.try_wait() {
                    Ok(None) => Some(p.child.id()),
                    _ => None,
                };
            }
        }
        self.adopted_pid(vm)
    }

    fn adopted_pid(&self, vm: &str) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.file(vm, "pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let ours =
            String::from_utf8_lossy(&cmdline).contains(&*self.qmp_path(vm).to_string_lossy());
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let zombie = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z');
        (ours && !zombie).then_some(pid)
    }

    /// Starts `vm`; `incoming`: paused and waiting for a migration, with the
    /// disk image at `disk_path` (the destination's own copy).
    pub fn launch(
        &self,
        vm: &str,
        config: &MachineConfig,
        incoming: bool,
        disk_path: Option<&Path>,
    ) -> Result<(), BackendError> {
        self.kill(vm);
        let qmp = self.qmp_path(vm);
        let _ = fs::remove_file(&qmp);
        let log_path = self.file(vm, "log");
        let log = fs::File::create(&log_path)
            .map_err(|e| BackendError::io(format!("creating {}", log_path.display()), e))?;
        let disk = disk_path
            .map(Path::to_path_buf)
            .or_else(|| config.disk.as_ref().map(|d| d.path.clone()));
        let _ = fs::remove_file(self.observer_path(vm));
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        cmd.arg("-name")
            .arg(format!("guest={vm},debug-threads=on"))
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp.display()))
            // A second monitor, so that observing never waits behind a step
            // (a QMP socket serves one client at a time).
            .arg("-qmp")
            .arg(format!(
                "unix:{},server=on,wait=off",
                self.observer_path(vm).display()
            ))
            .arg("-pidfile")
            .arg(self.file(vm, "pid"))
            .args(if config.console {
                vec![
                    "-chardev".to_string(),
                    format!(
                        "file,id=convoy-console,path={},append=on",
                        self.file(vm, "console").display()
                    ),
                    "-serial".to_string(),
                    "chardev:convoy-console".to_string(),
                ]
            } else {
                Vec::new()
            })
            .args(config.args(self.accel, incoming, disk.as_deref()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd.spawn().map_err(|source| BackendError::Spawn {
            program: self.binary.display().to_string(),
            source,
        })?;
        lock(&self.procs).insert(vm.to_string(), Proc { child });
        // Wait for the QMP socket, or for QEMU to give up.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(q) = Qmp::connect(&qmp, Duration::from_secs(5)) {
                drop(q);
                return Ok(());
            }
            let exited = {
                let mut procs = lock(&self.procs);
                match procs.get_mut(vm) {
                    Some(p) => !matches!(p.child.try_wait(), Ok(None)),
                    None => true,
                }
            };
            if exited || Instant::now() > deadline {
                self.kill(vm);
                return Err(BackendError::Process(format!(
                    "QEMU for {vm} on {} did not start: {}",
                    self.name,
                    tail(&log_path)
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A fresh QMP session with `vm`'s QEMU.
    pub fn qmp(&self, vm: &str) -> Result<Qmp, QmpError> {
        Qmp::connect(&self.qmp_path(vm), crate::qmp::DEFAULT_TIMEOUT)
    }

    /// `vm`'s run state through the observer socket; a connection refused
    /// (or no socket) means no QEMU runs it.
    fn observed_state(&self, vm: &str) -> Result<String, QmpError> {
        let mut q = Qmp::connect(&self.observer_path(vm), Duration::from_secs(10))?;
        let st = q.execute("query-status", Value::Null)?;
        st.get("status")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| QmpError::Protocol(format!("query-status returned {st}")))
    }

    /// Stops `vm`'s QEMU at once (SIGKILL) if this host started it; returns
    /// whether there was one.
    pub fn kill(&self, vm: &str) -> bool {
        let p = lock(&self.procs).remove(vm);
        let killed = match p {
            Some(mut p) => {
                let _ = p.child.kill();
                let _ = p.child.wait();
                true
            }
            None => match self.adopted_pid(vm) {
                Some(pid) => {
                    // SAFETY: kill(2) on a pid checked just above to be this
                    // VM's QEMU; it touches no memory.
                    unsafe {
                        libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    }
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while self.adopted_pid(vm).is_some() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    true
                }
                None => false,
            },
        };
        if killed {
            let _ = fs::remove_file(self.qmp_path(vm));
            let _ = fs::remove_file(self.observer_path(vm));
            let _ = fs::remove_file(self.file(vm, "pid"));
        }
        killed
    }

    /// Forgets the processes this host started without stopping them, so
    /// that they outlive it (an agent or a mover that exits normally must not
    /// take the guests with it). A host that is simply dropped kills them.
    pub fn detach(&self) {
        for (_, mut p) in lock(&self.procs).drain() {
            // Reap it whenever it ends, so that it leaves no zombie behind
            // while this process lives on.
            std::thread::spawn(move || {
                let _ = p.child.wait();
            });
        }
    }

    /// Asks `vm`'s QEMU to quit, and kills it if it has not within 10 s.
    pub fn quit(&self, vm: &str) {
        if let Ok(mut q) = self.qmp(vm) {
            let _ = q.execute("quit", Value::Null);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.pid(vm).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill(vm);
    }
}

impl Drop for QemuHost {
    fn drop(&mut self) {
        let names: Vec<String> = lock(&self.procs).keys().cloned().collect();
        for vm in names {
            self.kill(&vm);
        }
    }
}

fn tail(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let s = s.trim();
    let cut = s.len().saturating_sub(2000);
    let cut = (cut..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    if s.is_empty() {
        "no output".into()
    } else {
        s[cut..].to_string()
    }
}

/// Migration parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationSettings {
    /// Bandwidth cap for memory and storage copies, bytes/s (None: no cap).
    pub max_bandwidth: Option<u64>,
    /// The longest acceptable pause at switchover, ms (QEMU's default: 300).
    pub downtime_limit_ms: Option<u64>,
    /// Throttle the guest's CPUs when the copy does not converge.
    pub auto_converge: bool,
    /// How often `query-migrate` is polled.
    pub poll_interval: Duration,
}

impl Default for MigrationSettings {
    fn default() -> MigrationSettings {
        MigrationSettings {
            max_bandwidth: None,
            downtime_limit_ms: None,
            auto_converge: true,
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// Where the destination listens, kept as the destination's `listen` note so
/// that a restarted mover finds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listening {
    migrate_uri: String,
    nbd: Option<(String, u16)>,
    #[serde(default)]
    disk: bool,
}

const MACHINE_NOTE: &str = "machine";
const LISTEN_NOTE: &str = "listen";

/// Which host each move leaves and reaches.
enum Route<H: ?Sized> {
    /// Every move goes from one host to the other.
    Pair { source: Arc<H>, dest: Arc<H> },
    /// A move leaves the host named by its VM's node and reaches the host
    /// named by its destination node.
    ByNode(BTreeMap<String, Arc<H>>),
}

/// The `qemu` backend: moves VMs between [`Host`]s — local [`QemuHost`]s, or
/// hosts reached through their agents (`convoy-agent`).
pub struct QemuBackend<H: Host + ?Sized = QemuHost> {
    route: Route<H>,
    machines: Mutex<HashMap<String, MachineConfig>>,
    settings: Mutex<MigrationSettings>,
}

impl<H: Host + ?Sized> QemuBackend<H> {
    /// Moves every VM from `source` to `dest`, whatever nodes the moves name.
    pub fn new(source: Arc<H>, dest: Arc<H>) -> QemuBackend<H> {
        QemuBackend::with_route(Route::Pair { source, dest })
    }

    /// Moves each VM from the host named as its node to the host named as
    /// its destination node; a move naming a node without a host fails with
    /// a message that says so.
    pub fn by_node(hosts: impl IntoIterator<Item = Arc<H>>) -> QemuBackend<H> {
        let hosts = hosts
            .into_iter()
            .map(|h| (h.name().to_string(), h))
            .collect();
        QemuBackend::with_route(Route::ByNode(hosts))
    }

    fn with_route(route: Route<H>) -> QemuBackend<H> {
        QemuBackend {
            route,
            machines: Mutex::new(HashMap::new()),
            settings: Mutex::new(MigrationSettings::default()),
        }
    }

    /// The source host of a two-host backend ([`QemuBackend::new`]).
    pub fn source(&self) -> Option<&Arc<H>> {
        match &self.route {
            Route::Pair { source, .. } => Some(source),
            Route::ByNode(_) => None,
        }
    }

    /// The destination host of a two-host backend ([`QemuBackend::new`]).
    pub fn dest(&self) -> Option<&Arc<H>> {
        match &self.route {
            Route::Pair { dest, .. } => Some(dest),
            Route::ByNode(_) => None,
        }
    }

    /// The host named `node`, for a backend routed by node.
    pub fn host(&self, node: &str) -> Option<&Arc<H>> {
        match &self.route {
            Route::Pair { .. } => None,
            Route::ByNode(hosts) => hosts.get(node),
        }
    }

    /// The hosts `mv` leaves and reaches.
    fn ends(&self, mv: &Move) -> Result<(&H, &H), BackendError> {
        match &self.route {
            Route::Pair { source, dest } => Ok((source, dest)),
            Route::ByNode(hosts) => {
                let get = |node: &str| {
                    hosts.get(node).map(|h| &**h).ok_or_else(|| {
                        BackendError::Process(format!(
                            "{}: no host (agent) for node {node:?}; known: {}",
                            mv.name(),
                            hosts.keys().cloned().collect::<Vec<_>>().join(", ")
                        ))
                    })
                };
                Ok((get(&mv.vm.node)?, get(&mv.to_node)?))
            }
        }
    }

    /// The settings used by transfers started from now on.
    pub fn set_settings(&self, settings: MigrationSettings) {
        *lock(&self.settings) = settings;
    }

    /// The current settings.
    pub fn settings(&self) -> MigrationSettings {
        lock(&self.settings).clone()
    }

    /// Records `vm`'s machine configuration (what the source runs) on the
    /// source of a two-host backend, as its `machine` note (where a restarted
    /// mover finds it). A VM without one gets a firmware-only machine sized
    /// from the inventory. Hosts routed by node record it themselves when the
    /// VM is started through [`Host::start_vm`].
    pub fn register(&self, vm: &str, config: MachineConfig) -> Result<(), BackendError> {
        let source = self.source().ok_or_else(|| {
            BackendError::Process(format!(
                "{vm}: register on a backend routed by node; start it with Host::start_vm"
            ))
        })?;
        let value = serde_json::to_value(&config).expect("plain data encodes");
        source.write_note(vm, MACHINE_NOTE, &value)?;
        lock(&self.machines).insert(vm.to_string(), config);
        Ok(())
    }

    /// Starts `vm` on the source of a two-host backend with `config`, and
    /// records the config.
    pub fn start_source(&self, vm: &str, config: MachineConfig) -> Result<(), BackendError> {
        self.register(vm, config.clone())?;
        self.source()
            .expect("register checked it")
            .start_vm(vm, &config, false)
    }

    fn machine(&self, source: &H, mv: &Move) -> MachineConfig {
        if let Some(c) = lock(&self.machines).get(mv.name()) {
            return c.clone();
        }
        source
            .read_note(mv.name(), MACHINE_NOTE)
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_else(|| MachineConfig::new(mv.vm.memory_mib, mv.vm.vcpus))
    }

    fn listening(&self, dest: &H, vm: &str) -> Result<Listening, BackendError> {
        let value = dest.read_note(vm, LISTEN_NOTE)?.ok_or_else(|| {
            BackendError::Process(format!(
                "{vm} has no prepared destination on {}",
                dest.name()
            ))
        })?;
        serde_json::from_value(value)
            .map_err(|e| BackendError::Protocol(format!("{vm}'s listen note: {e}")))
    }
}

fn disk_size(source: &(impl Host + ?Sized), vm: &str) -> Result<u64, BackendError> {
    let nodes = source.execute(vm, "query-named-block-nodes", json!({"flat": true}))?;
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n.get("node-name").and_then(Value::as_str) == Some(DISK_NODE))
        .and_then(|n| n.pointer("/image/virtual-size").and_then(Value::as_u64))
        .ok_or_else(|| BackendError::Process(format!("{vm}: no block node {DISK_NODE}")))
}

fn has_block_node(host: &(impl Host + ?Sized), vm: &str, node: &str) -> Result<bool, BackendError> {
    Ok(host
        .execute(vm, "query-named-block-nodes", json!({"flat": true}))?
        .as_array()
        .is_some_and(|a| {
            a.iter()
                .any(|n| n.get("node-name").and_then(Value::as_str) == Some(node))
        }))
}

/// Completes (or, with `force`, aborts) the disk mirror and removes the NBD
/// client node on the source. Safe when there is none.
fn finish_mirror(source: &(impl Host + ?Sized), vm: &str, force: bool) -> Result<(), BackendError> {
    if mirror_job(source, vm)?.is_some() {
        // On a ready mirror, block-job-cancel completes the job without
        // pivoting: the source keeps its image, identical to the target.
        ignore_missing(source.execute(
            vm,
            "block-job-cancel",
            json!({"device": MIRROR_JOB, "force": force}),
        ))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while mirror_job(source, vm)?.is_some() {
            if Instant::now() > deadline {
                return Err(BackendError::Process("the disk mirror did not stop".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if has_block_node(source, vm, NBD_NODE)? {
        ignore_missing(source.execute(vm, "blockdev-del", json!({"node-name": NBD_NODE})))?;
    }
    Ok(())
}

/// Copies the disk to the destination's NBD export; returns when the mirror
/// is ready (in sync, and kept in sync by QEMU from then on).
fn mirror_disk(
    source: &(impl Host + ?Sized),
    vm: &str,
    nbd: &(String, u16),
    settings: &MigrationSettings,
    ctx: &StepContext<'_>,
) -> Result<(), BackendError> {
    if mirror_job(source, vm)?.is_none() {
        if !has_block_node(source, vm, NBD_NODE)? {
            source.execute(
                vm,
                "blockdev-add",
                json!({
                    "driver": "nbd",
                    "node-name": NBD_NODE,
                    "server": {"type": "inet", "host": nbd.0, "port": nbd.1.to_string()},
                    "export": DISK_NODE,
                }),
            )?;
        }
        let mut args = json!({
            "job-id": MIRROR_JOB,
            "device": DISK_NODE,
            "target": NBD_NODE,
            "sync": "full",
        });
        if let Some(bw) = settings.max_bandwidth {
            args["speed"] = json!(bw);
        }
        source.execute(vm, "blockdev-mirror", args)?;
    }
    loop {
        if ctx.is_cancelled() {
            return Err(BackendError::Cancelled);
        }
        let Some(job) = mirror_job(source, vm)? else {
            return Err(BackendError::Migration(
                "the disk mirror stopped before it was in sync".into(),
            ));
        };
        let off = job.get("offset").and_then(Value::as_u64).unwrap_or(0);
        let len = job.get("len").and_then(Value::as_u64).unwrap_or(0);
        ctx.progress(TransferProgress {
            phase: Some("storage".into()),
            sent: off,
            remaining: Some(len.saturating_sub(off)),
            total: Some(len),
            ..TransferProgress::default()
        });
        if job.get("ready").and_then(Value::as_bool) == Some(true) {
            return Ok(());
        }
        if let Some(err) = job.get("error").and_then(Value::as_str) {
            return Err(BackendError::Migration(format!("disk mirror: {err}")));
        }
        std::thread::sleep(settings.poll_interval);
    }
}

fn mirror_job(host: &(impl Host + ?Sized), vm: &str) -> Result<Option<Value>, BackendError> {
    let jobs = host.execute(vm, "query-block-jobs", Value::Null)?;
    Ok(jobs.as_array().and_then(|a| {
        a.iter()
            .find(|j| j.get("device").and_then(Value::as_str) == Some(MIRROR_JOB))
            .cloned()
    }))
}

/// A command whose target is already gone has nothing left to do.
fn ignore_missing(r: Result<Value, QmpError>) -> Result<(), BackendError> {
    match r {
        Ok(_) => Ok(()),
        Err(QmpError::Command { class, .. }) if class == "DeviceNotFound" => Ok(()),
        Err(QmpError::Command { desc, .. })
            if desc.contains("not found")
                || desc.contains("No such")
                || desc.contains("not running") =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn migration_status(
    host: &(impl Host + ?Sized),
    vm: &str,
) -> Result<(String, Value), BackendError> {
    let info = host.execute(vm, "query-migrate", Value::Null)?;
    let status = info
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("none")
        .to_string();
    Ok((status, info))
}

fn is_active(status: &str) -> bool {
    matches!(
        status,
        "setup" | "active" | "pre-switchover" | "device" | "wait-unplug" | "cancelling"
    ) || status.starts_with("postcopy")
}

fn progress_of(info: &Value) -> TransferProgress {
    let ram = |k: &str| info.pointer(&format!("/ram/{k}")).and_then(Value::as_u64);
    let page = ram("page-size").unwrap_or(4096);
    TransferProgress {
        phase: Some("memory".into()),
        sent: ram("transferred").unwrap_or(0),
        remaining: ram("remaining"),
        total: ram("total"),
        dirty_rate: ram("dirty-pages-rate").map(|r| r.saturating_mul(page)),
        expected_downtime_ms: info.get("expected-downtime").and_then(Value::as_u64),
        downtime_ms: info.get("downtime").and_then(Value::as_u64),
        elapsed_ms: info.get("total-time").and_then(Value::as_u64),
    }
}

fn free_port(ip: IpAddr) -> Result<u16, BackendError> {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| BackendError::io(format!("finding a free port on {ip}"), e))
}

fn run_state_of(host: &(impl Host + ?Sized), vm: &str) -> Option<String> {
    host.run_state(vm).ok().flatten()
}

impl<H: Host + ?Sized> Backend for QemuBackend<H> {
    fn kind(&self) -> &'static str {
        "qemu"
    }

    fn prepare(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let vm = mv.name();
        let (source, dest) = self.ends(mv)?;
        let config = self.machine(source, mv);
        // A rerun replaces whatever a previous, interrupted prepare left.
        dest.kill_vm(vm)?;
        dest.remove_note(vm, LISTEN_NOTE)?;
        if let Some(d) = &config.disk {
            let size = disk_size(source, vm)?;
            dest.create_disk(vm, &d.format, size)?;
        }
        dest.start_vm(vm, &config, true)?;
        let host = dest.address().to_string();
        let nbd = if config.disk.is_some() {
            let port = free_port(dest.address())?;
            dest.execute(
                vm,
                "nbd-server-start",
                json!({"addr": {"type": "inet", "data": {"host": host, "port": port.to_string()}}}),
            )?;
            dest.execute(
                vm,
                "block-export-add",
                json!({"type": "nbd", "id": EXPORT_ID, "node-name": DISK_NODE,
                       "name": DISK_NODE, "writable": true}),
            )?;
            Some((host.clone(), port))
        } else {
            None
        };
        // Port 0: QEMU picks a free port, which query-migrate reports.
        dest.execute(
            vm,
            "migrate-incoming",
            json!({"uri": format!("tcp:{host}:0")}),
        )?;
        let (_, info) = migration_status(dest, vm)?;
        let port = info
            .get("socket-address")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|s| s.get("port"))
            .and_then(|p| {
                p.as_str()
                    .map(str::to_string)
                    .or_else(|| p.as_u64().map(|n| n.to_string()))
            })
            .ok_or_else(|| {
                BackendError::Protocol(format!("the destination did not report its port: {info}"))
            })?;
        let listening = Listening {
            migrate_uri: format!("tcp:{host}:{port}"),
            nbd,
            disk: config.disk.is_some(),
        };
        let value = serde_json::to_value(&listening).expect("plain data encodes");
        dest.write_note(vm, LISTEN_NOTE, &value)
    }

    fn transfer(&self, mv: &Move, ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let vm = mv.name();
        let (source, dest) = self.ends(mv)?;
        let settings = self.settings();
        let listening = self.listening(dest, vm)?;
        let (status, _) = migration_status(source, vm)?;
        if status == "completed" && run_state_of(source, vm).as_deref() != Some("running") {
            return finish_mirror(source, vm, false);
        }
        if !is_active(&status) {
            if let Some(nbd) = &listening.nbd {
                mirror_disk(source, vm, nbd, &settings, ctx)?;
            }
            source.execute(
                vm,
                "migrate-set-capabilities",
                json!({"capabilities": [
                    {"capability": "auto-converge", "state": settings.auto_converge},
                ]}),
            )?;
            let mut params = json!({
                "max-bandwidth": settings.max_bandwidth.unwrap_or(UNLIMITED_BANDWIDTH),
            });
            if let Some(d) = settings.downtime_limit_ms {
                params["downtime-limit"] = json!(d);
            }
            source.execute(vm, "migrate-set-parameters", params)?;
            source.execute(vm, "migrate", json!({"uri": listening.migrate_uri}))?;
        }
        loop {
            if ctx.is_cancelled() {
                let _ = source.execute(vm, "migrate_cancel", Value::Null);
                return Err(BackendError::Cancelled);
            }
            let (status, info) = migration_status(source, vm)?;
            match status.as_str() {
                "completed" => {
                    ctx.progress(progress_of(&info));
                    return finish_mirror(source, vm, false);
                }
                "failed" => {
                    let why = info
                        .get("error-desc")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given");
                    return Err(BackendError::Migration(why.to_string()));
                }
                "cancelled" => return Err(BackendError::Migration("cancelled by QEMU".into())),
                s if is_active(s) => ctx.progress(progress_of(&info)),
                other => {
                    return Err(BackendError::Migration(format!(
                        "unexpected migration status {other:?}"
                    )))
                }
            }
            std::thread::sleep(settings.poll_interval);
        }
    }

    fn cutover(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let vm = mv.name();
        let (source, dest) = self.ends(mv)?;
        if run_state_of(dest, vm).as_deref() != Some("running") {
            // The guest must be stopped at the source before it starts here.
            if source.run_state(vm)?.is_some() {
                if run_state_of(source, vm).as_deref() == Some("running") {
                    return Err(BackendError::Process(format!(
                        "{vm} still runs at the source: no cutover"
                    )));
                }
                finish_mirror(source, vm, false)?;
            }
            // The destination finishes loading the last state just after the
            // source reports completion.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match dest.run_state(vm)?.as_deref() {
                    Some("inmigrate") if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Some("paused") | Some("prelaunch") | Some("postmigrate") => break,
                    Some("running") => break,
                    other => {
                        return Err(BackendError::Process(format!(
                            "{vm} at the destination is {other:?}, not ready to resume"
                        )))
                    }
                }
            }
            let has_nbd = self
                .listening(dest, vm)
                .map(|l| l.nbd.is_some())
                .unwrap_or(true);
            if has_nbd {
                ignore_missing(dest.execute(vm, "nbd-server-stop", Value::Null))?;
            }
            if run_state_of(dest, vm).as_deref() != Some("running") {
                dest.execute(vm, "cont", Value::Null)?;
            }
        }
        source.quit_vm(vm)?;
        // The VM now lives at the destination: its configuration goes with it,
        // so that it can be moved on (or back) from there.
        let config = self.machine(source, mv);
        let value = serde_json::to_value(&config).expect("plain data encodes");
        dest.write_note(vm, MACHINE_NOTE, &value)?;
        dest.remove_note(vm, LISTEN_NOTE)?;
        Ok(())
    }

    fn rollback(&self, mv: &Move, _ctx: &StepContext<'_>) -> Result<(), BackendError> {
        let vm = mv.name();
        let (source, dest) = self.ends(mv)?;
        if run_state_of(dest, vm).as_deref() == Some("running") {
            return Err(BackendError::Process(format!(
                "{vm} already runs at the destination: it cannot be rolled back"
            )));
        }
        match source.run_state(vm) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(BackendError::Process(format!(
                    "{vm} does not run at the source"
                )))
            }
            Err(e) => {
                return Err(BackendError::Process(format!(
                    "{vm} does not answer at the source ({e})"
                )))
            }
        }
        let (status, _) = migration_status(source, vm)?;
        if is_active(&status) {
            let _ = source.execute(vm, "migrate_cancel", Value::Null);
            let deadline = Instant::now() + Duration::from_secs(60);
            while is_active(&migration_status(source, vm)?.0) {
                if Instant::now() > deadline {
                    return Err(BackendError::Process("the migration did not stop".into()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        finish_mirror(source, vm, true)?;
        // Only now that the source cannot be switched over is the destination removed.
        dest.kill_vm(vm)?;
        dest.remove_disk(vm)?;
        dest.remove_note(vm, LISTEN_NOTE)?;
        if run_state_of(source, vm).as_deref() != Some("running") {
            source.execute(vm, "cont", Value::Null)?;
        }
        Ok(())
    }

    fn observe(&self, mv: &Move) -> Result<Observation, BackendError> {
        let vm = mv.name();
        let (source, dest) = self.ends(mv)?;
        let src_state = source.run_state(vm);
        let source_presence = match &src_state {
            Ok(None) => Presence::Absent,
            Ok(Some(s)) => presence_of(s),
            Err(_) => Presence::Unknown,
        };
        let destination = dest.presence(vm);
        let transfer = match src_state {
            Ok(Some(_)) => match migration_status(source, vm) {
                Ok((status, _)) => match status.as_str() {
                    // QEMU keeps the last migration's status: a completed one
                    // is only this move's if the source stayed paused after it.
                    "completed" if source_presence == Presence::Running => {
                        TransferStatus::NotStarted
                    }
                    "completed" => TransferStatus::Completed,
                    "failed" => TransferStatus::Failed,
                    "none" | "cancelled" => TransferStatus::NotStarted,
                    s if is_active(s) => TransferStatus::Active,
                    _ => TransferStatus::Unknown,
                },
                Err(_) => TransferStatus::Unknown,
            },
            _ => TransferStatus::Unknown,
        };
        Ok(Observation {
            source: source_presence,
            destination,
            transfer,
        })
    }
}

impl Host for QemuHost {
    fn name(&self) -> &str {
        &self.name
    }

    fn address(&self) -> IpAddr {
        self.address
    }

    fn start_vm(
        &self,
        vm: &str,
        config: &MachineConfig,
        incoming: bool,
    ) -> Result<(), BackendError> {
        check_name(vm)?;
        if incoming {
            let disk = config.disk.as_ref().map(|d| self.file(vm, &d.format));
            self.launch(vm, config, true, disk.as_deref())
        } else {
            let value = serde_json::to_value(config).expect("plain data encodes");
            self.write_note(vm, MACHINE_NOTE, &value)?;
            self.launch(vm, config, false, None)
        }
    }

    fn kill_vm(&self, vm: &str) -> Result<bool, BackendError> {
        check_name(vm)?;
        Ok(self.kill(vm))
    }

    fn quit_vm(&self, vm: &str) -> Result<(), BackendError> {
        check_name(vm)?;
        self.quit(vm);
        Ok(())
    }

    fn execute(&self, vm: &str, command: &str, arguments: Value) -> Result<Value, QmpError> {
        self.qmp(vm)?.execute(command, arguments)
    }

    fn run_state(&self, vm: &str) -> Result<Option<String>, BackendError> {
        match self.observed_state(vm) {
            Ok(s) => Ok(Some(s)),
            Err(QmpError::Connect { .. }) | Err(QmpError::Closed) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn create_disk(&self, vm: &str, format: &str, size: u64) -> Result<(), BackendError> {
        check_name(vm)?;
        if !matches!(format, "raw" | "qcow2") {
            return Err(BackendError::Protocol(format!(
                "disk format {format:?}: expected raw or qcow2"
            )));
        }
        let path = self.file(vm, format);
        let _ = fs::remove_file(&path);
        let out = Command::new("qemu-img")
            .args(["create", "-q", "-f", format])
            .arg(&path)
            .arg(size.to_string())
            .output()
            .map_err(|source| BackendError::Spawn {
                program: "qemu-img".into(),
                source,
            })?;
        if !out.status.success() {
            return Err(BackendError::Process(format!(
                "qemu-img create {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn console(&self, vm: &str, max_bytes: u64) -> Result<String, BackendError> {
        check_name(vm)?;
        let path = self.file(vm, "console");
        let mut f = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
            Err(e) => return Err(BackendError::io(format!("reading {}", path.display()), e)),
        };
        let len = f
            .metadata()
            .map_err(|e| BackendError::io(format!("reading {}", path.display()), e))?
            .len();
        let mut buf = Vec::new();
        io::Seek::seek(&mut f, io::SeekFrom::Start(len.saturating_sub(max_bytes)))
            .and_then(|_| f.read_to_end(&mut buf))
            .map_err(|e| BackendError::io(format!("reading {}", path.display()), e))?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn remove_disk(&self, vm: &str) -> Result<(), BackendError> {
        check_name(vm)?;
        for format in ["raw", "qcow2"] {
            let _ = fs::remove_file(self.file(vm, format));
        }
        Ok(())
    }

    fn write_note(&self, vm: &str, key: &str, value: &Value) -> Result<(), BackendError> {
        let path = self.note_path(vm, key)?;
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(value).expect("a JSON value encodes");
        // Written whole or not at all: a crash never leaves half a note.
        fs::write(&tmp, text)
            .and_then(|_| fs::File::open(&tmp)?.sync_all())
            .and_then(|_| fs::rename(&tmp, &path))
            .map_err(|e| BackendError::io(format!("writing {}", path.display()), e))
    }

    fn read_note(&self, vm: &str, key: &str) -> Result<Option<Value>, BackendError> {
        let path = self.note_path(vm, key)?;
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| BackendError::Protocol(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BackendError::io(format!("reading {}", path.display()), e)),
        }
    }

    fn remove_note(&self, vm: &str, key: &str) -> Result<(), BackendError> {
        let path = self.note_path(vm, key)?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(BackendError::io(format!("removing {}", path.display()), e))
            }
            _ => Ok(()),
        }
    }
}

fn check_name(name: &str) -> Result<(), BackendError> {
    if is_safe_name(name) {
        Ok(())
    } else {
        Err(BackendError::Protocol(format!(
            "{name:?} is not a usable VM name or key: expected ASCII letters, digits, '.', '_' or '-'"
        )))
    }
}

impl QemuHost {
    fn note_path(&self, vm: &str, key: &str) -> Result<PathBuf, BackendError> {
        check_name(vm)?;
        check_name(key)?;
        Ok(self.file(vm, &format!("{key}.json")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_destination_gets_the_same_machine_but_no_initial_ram_and_waits() {
        let mut c = MachineConfig::new(64, 2);
        c.ram_loads.push(RamLoad {
            file: "/tmp/ram.bin".into(),
            addr: 0x200_0000,
        });
        c.disk = Some(DiskConfig {
            path: "/src/a.qcow2".into(),
            format: "qcow2".into(),
        });
        let src = c.args(Accel::Tcg, false, Some(Path::new("/src/a.qcow2")));
        let dst = c.args(Accel::Tcg, true, Some(Path::new("/dst/a.qcow2")));
        let s = src.join(" ");
        let d = dst.join(" ");
        assert!(s.contains("loader,file=/tmp/ram.bin,addr=0x2000000,force-raw=on"));
        assert!(!d.contains("loader"));
        assert!(d.ends_with("-S -incoming defer"));
        assert!(s.contains("-accel tcg -m 64 -smp 2"));
        assert!(d.contains("filename=/dst/a.qcow2"));
        assert!(d.contains("driver=qcow2,file=disk0-file,node-name=disk0"));
        assert_eq!(
            s.replace("/src/", "/dst/").replace(
                " -device loader,file=/tmp/ram.bin,addr=0x2000000,force-raw=on",
                ""
            ),
            d.trim_end_matches(" -S -incoming defer")
        );
    }

    #[test]
    fn a_restarted_backend_finds_the_machine_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = || {
            (
                Arc::new(QemuHost::new("a", dir.path().join("a")).unwrap()),
                Arc::new(QemuHost::new("b", dir.path().join("b")).unwrap()),
            )
        };
        let mut config = MachineConfig::new(96, 2);
        config.extra_args.push("-no-reboot".into());
        let (s, d) = hosts();
        QemuBackend::new(s, d)
            .register("v", config.clone())
            .unwrap();
        let (s, d) = hosts();
        let vm = convoy_model::Vm {
            name: "v".into(),
            site: "dc".into(),
            node: "a".into(),
            vcpus: 1,
            memory_mib: 64,
            disk_gib: 0,
            addresses: vec![],
            dirty_mib_per_s: None,
            group: None,
            pinned: false,
        };
        let b = QemuBackend::new(s, d);
        let src = b.source().unwrap().clone();
        assert_eq!(b.machine(&src, &Move::new(vm.clone(), "c", "b")), config);
        let mut other = vm;
        other.name = "w".into();
        assert_eq!(
            b.machine(&src, &Move::new(other, "c", "b")),
            MachineConfig::new(64, 1),
            "unknown VMs get a machine sized from the inventory"
        );
    }

    #[test]
    fn progress_is_read_from_query_migrate() {
        let info = json!({"status": "active", "expected-downtime": 42,
            "ram": {"transferred": 100, "remaining": 50, "total": 200,
                    "dirty-pages-rate": 3, "page-size": 4096}});
        let p = progress_of(&info);
        assert_eq!(p.downtime_ms, None);
        let done = progress_of(&json!({"status": "completed", "downtime": 12, "total-time": 900}));
        assert_eq!((done.downtime_ms, done.elapsed_ms), (Some(12), Some(900)));
        assert_eq!((p.sent, p.remaining, p.total), (100, Some(50), Some(200)));
        assert_eq!(p.dirty_rate, Some(3 * 4096));
        assert_eq!(p.expected_downtime_ms, Some(42));
        assert!(is_active("postcopy-active") && !is_active("completed") && !is_active("none"));
    }
}
