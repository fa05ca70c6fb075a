//! The sandbox every build of a submission and every check process runs in.
//!
//! Four layers, each used where the machine offers it; [`isolation`] says
//! which are in force, every report repeats it, and `cargo grade --strict`
//! refuses to grade without the first two.
//!
//! 1. **Namespaces** (Linux, unprivileged user namespaces): a user namespace
//!    mapping the user to itself, a **network** namespace whose only
//!    interface is loopback (brought up here), a **PID** namespace in which
//!    the process is number 1 (it cannot see or signal the grader or any
//!    other process, and every helper it starts dies with it) and a
//!    **mount** namespace, in which [`Policy::tmpfs`] is a private,
//!    size-limited tmpfs ([`TMPFS_SIZE`]).
//! 2. **Landlock** (Linux 5.19+, ABI 3 or later): an allow-list of the files
//!    the process may touch, enforced by the kernel from `exec` on. It may
//!    read and execute the system's folders (`/usr`, `/lib`, `/etc`, …) and
//!    [`Policy::read`], read and write [`Policy::write`] and a few devices
//!    (`/dev/null`, `/dev/urandom`, …), and read `/proc/sys/net`,
//!    `/proc/meminfo` and `/proc/stat`: nothing
//!    else. No home directory, no course tree (hidden tests, solutions,
//!    private packs), no other submission, no `/run`, and no `/proc`, so no
//!    process list and no `/proc/self/mem`. Where the kernel's ABI has them
//!    (6.12+), scopes also forbid signalling processes or reaching abstract
//!    Unix sockets outside the sandbox.
//! 3. **Resource limits** (every Unix): CPU time, address space, processes
//!    and threads, file size and open files ([`Limits`]).
//! 4. **A cleared environment**, which the callers set (`env_clear`).
//!
//! Between the grader and the sandboxed process sits a small intermediate
//! process that only waits for it and exits with its status, so a process
//! that signals its parent kills that waiter, not the grader.
//!
//! `WSW_SANDBOX=limits` turns the first two layers off and
//! `WSW_SANDBOX=no-landlock` the second, to see (and test) what a machine
//! without them gets.
//!
//! For the maintainers' tests only, `WSW_SANDBOX_TCP_BUFFERS=<bytes>` sets
//! the largest TCP receive and send buffers the kernel may give a socket
//! (the third fields of `net.ipv4.tcp_rmem` and `net.ipv4.tcp_wmem`) inside
//! the check's network namespace, where these settings are the namespace's
//! own and need no privilege outside it. `grader/tests/buffers.rs` grades
//! unit 09's back-pressure checks with 4 MiB and with 64 MiB to prove that
//! they hold whatever the machine's buffers are. Without namespaces a check
//! run with it fails to start, rather than run on the machine's settings.

// The only unsafe code of the grader: `pre_exec`, and the system calls it
// makes between `fork` and `exec`, where only async-signal-safe calls are
// allowed (no allocation, no locks): plain `libc` calls on stack buffers
// and on data prepared before the fork.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Address-space limit of a check process: 2 GiB. A check needs well under
/// 200 MiB; the rest is room for thread stacks and allocator arenas, which
/// reserve address space they never touch.
pub const MEMORY_LIMIT: u64 = 2 << 30;

/// Processes and threads a check may have at once. A check uses a handful
/// of threads (its runtime, the harness's watchdog, tokio's blocking pool
/// for DNS, a test server's runtime) and sometimes one helper process.
pub const PROCESS_LIMIT: u64 = 256;

/// The largest file a check may write: 256 MiB.
pub const FILE_SIZE_LIMIT: u64 = 256 << 20;

/// Files and sockets a check may have open at once.
pub const OPEN_FILES_LIMIT: u64 = 4096;

/// The size of the private tmpfs of a check (its working folder and
/// `TMPDIR`), where mount namespaces are available.
pub const TMPFS_SIZE: u64 = 256 << 20;

/// The file descriptor on which a check process finds the write end of its
/// verdict pipe (see `checkkit`).
pub const VERDICT_FD: i32 = 3;

/// The environment variable that selects the sandbox: `limits` turns the
/// namespaces and Landlock off (resource limits only), `no-landlock` turns
/// Landlock off.
pub const MODE_VARIABLE: &str = "WSW_SANDBOX";

/// The environment variable that sets the TCP buffer maxima, in bytes, in
/// the check's network namespace (maintainers' tests; see the module docs).
pub const TCP_BUFFERS_VARIABLE: &str = "WSW_SANDBOX_TCP_BUFFERS";

/// Folders of the system every sandboxed process may read and execute.
const SYSTEM_FOLDERS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
];

/// Devices every sandboxed process may read and write.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// The part of `/proc` a check may read: its network namespace's settings
/// (`checkkit::net` reads the TCP buffer sizes there), and the machine's
/// memory and CPU counters (capstone B's host source reads them through
/// `sysinfo`, and its stage compares them with the kernel's). These are
/// figures of the whole machine, nothing of another process.
const PROC_READABLE: &[&str] = &["/proc/sys/net", "/proc/meminfo", "/proc/stat"];

/// [`TCP_BUFFERS_VARIABLE`], read now: `None` when unset or not a number.
fn tcp_buffers() -> Option<u64> {
    std::env::var(TCP_BUFFERS_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse().ok())
}

/// The limits of one sandboxed process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds, all threads together (per process).
    pub cpu_secs: u64,
    /// Address space, in bytes.
    pub memory_bytes: u64,
    /// Processes and threads.
    pub processes: u64,
    /// The largest file it may write, in bytes.
    pub file_size: u64,
    /// Open files and sockets.
    pub open_files: u64,
}

impl Limits {
    /// The limits of a check with a wall-clock limit of `timeout_secs`: the
    /// CPU limit is the wall-clock one plus a margin (the wall clock is the
    /// main guard; this one stops a busy loop in a process that escaped the
    /// check's group).
    pub fn for_timeout(timeout_secs: u64) -> Self {
        Self {
            cpu_secs: timeout_secs.saturating_add(5),
            memory_bytes: MEMORY_LIMIT,
            processes: PROCESS_LIMIT,
            file_size: FILE_SIZE_LIMIT,
            open_files: OPEN_FILES_LIMIT,
        }
    }

    /// The limits of the build of a submission: `cpu_secs` for each
    /// compiler process (an endless constant evaluation stops there), 8 GiB
    /// of address space each, 2 GiB files.
    pub fn for_build(cpu_secs: u64) -> Self {
        Self {
            cpu_secs,
            memory_bytes: 8 << 30,
            processes: 512,
            file_size: 2 << 30,
            open_files: 8192,
        }
    }
}

/// What a sandboxed process may touch.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    /// Files and folders it may read (and execute), besides the system's.
    pub read: Vec<PathBuf>,
    /// Folders it may read, write, create and remove in.
    pub write: Vec<PathBuf>,
    /// A private folder it may write in (not one of [`Policy::write`]): with
    /// namespaces, a fresh tmpfs of [`TMPFS_SIZE`] is mounted over it in the
    /// process's own mount namespace, so nothing written there reaches the
    /// disk or outlives the process; without them, the folder itself.
    pub tmpfs: Option<PathBuf>,
    /// A descriptor the process gets as [`VERDICT_FD`].
    pub verdict_fd: Option<i32>,
}

/// Which layers of the sandbox work on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    /// `Ok` when user, network, PID and mount namespaces work; else why not.
    pub namespaces: Result<(), String>,
    /// `Ok(abi)` when Landlock enforces the file rules (`abi` is the
    /// kernel's Landlock ABI); else why not.
    pub landlock: Result<i32, String>,
}

/// The lowest Landlock ABI used: 3 handles truncation, so every way of
/// writing a file outside [`Policy::write`] is refused.
const LANDLOCK_MIN_ABI: i32 = 3;

impl Isolation {
    /// Whether every layer is in force (what `--strict` requires).
    pub fn is_complete(&self) -> bool {
        self.namespaces.is_ok() && self.landlock.is_ok()
    }

    /// The layers that are not in force, with the reason for each.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if let Err(reason) = &self.namespaces {
            missing.push(format!("namespaces ({reason})"));
        }
        if let Err(reason) = &self.landlock {
            missing.push(format!("Landlock ({reason})"));
        }
        missing
    }

    /// One line for reports: what builds and checks run in.
    pub fn describe(&self) -> String {
        let mut layers = Vec::new();
        if self.namespaces.is_ok() {
            layers.push(
                "own user, network (loopback only), PID and mount namespaces with a private tmpfs"
                    .to_owned(),
            );
        }
        if let Ok(abi) = self.landlock {
            layers.push(format!(
                "Landlock ABI {abi} file rules (no home, course tree, other submissions or /proc)"
            ));
        }
        layers.push("CPU, memory, process, file-size and open-file limits".to_owned());
        layers.push("a cleared environment".to_owned());
        let mut line = format!("sandbox: {}", layers.join("; "));
        let missing = self.missing();
        if !missing.is_empty() {
            line.push_str(&format!(
                ". NOT in force: {}: a submission can read files of this user and signal or \
                 reach other processes; grade untrusted work with --strict on a machine that has \
                 them (see the instructors' guide)",
                missing.join(", ")
            ));
        }
        line
    }
}

/// For `--strict`: an error naming every missing layer, unless all of them
/// are in force.
pub fn require_complete() -> Result<(), crate::GraderError> {
    let isolation = isolation();
    if isolation.is_complete() {
        Ok(())
    } else {
        Err(crate::GraderError::Strict(isolation.missing().join(", ")))
    }
}

/// What this machine allows, found out once per grader process.
pub fn isolation() -> &'static Isolation {
    static PROBED: OnceLock<Isolation> = OnceLock::new();
    PROBED.get_or_init(probe)
}

/// Prints, once per grader process, what is not isolated (nothing when
/// every layer works).
pub fn warn_once() {
    static WARNED: OnceLock<()> = OnceLock::new();
    if !isolation().is_complete() {
        WARNED.get_or_init(|| eprintln!("cargo grade: note: {}", isolation().describe()));
    }
}

fn probe() -> Isolation {
    let mode = std::env::var(MODE_VARIABLE).unwrap_or_default();
    let namespaces = if mode == "limits" {
        Err(format!("{MODE_VARIABLE}=limits"))
    } else {
        imp::probe_namespaces()
    };
    let landlock = match mode.as_str() {
        "limits" | "no-landlock" => Err(format!("{MODE_VARIABLE}={mode}")),
        _ => imp::probe_landlock(),
    };
    Isolation {
        namespaces,
        landlock,
    }
}

/// Makes `command` start its process in the sandbox, with `limits` and
/// `policy`. The caller clears the environment.
pub fn apply(
    command: &mut tokio::process::Command,
    limits: Limits,
    policy: &Policy,
) -> Result<(), String> {
    imp::apply(command, limits, policy, isolation(), tcp_buffers())
}

/// Kills the process group `pid` with SIGKILL, by system call: never by a
/// program found on `PATH`, which a submission could have replaced.
pub fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// A pipe whose write end a sandboxed process gets as [`VERDICT_FD`]: the
/// read end (non-blocking, for tokio) and the write end, both
/// close-on-exec in this process.
#[cfg(unix)]
pub fn verdict_pipe() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into the array on success.
    #[cfg(target_os = "linux")]
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe writes two descriptors into the array on success; fcntl
    // sets a flag on each. (No pipe2 here: another thread's fork may catch
    // them without close-on-exec for an instant, which only delays the
    // pipe's end.)
    #[cfg(not(target_os = "linux"))]
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in fds {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    unsafe {
        Ok((
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        ))
    }
}

/// The paths every sandboxed process may read, besides [`Policy::read`].
fn system_paths() -> impl Iterator<Item = &'static Path> {
    SYSTEM_FOLDERS
        .iter()
        .chain(PROC_READABLE)
        .map(|path| Path::new(*path))
}

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::CString;
    use std::io;
    use std::os::unix::ffi::OsStrExt;

    use landlock::{
        ABI, Access, AccessFs, CompatLevel, Compatible, PathBeneath, Ruleset, RulesetAttr,
        RulesetCreated, RulesetCreatedAttr, Scope, path_beneath_rules,
    };

    use super::{DEVICES, Isolation, LANDLOCK_MIN_ABI, Limits, Policy, TMPFS_SIZE};

    const NAMESPACES: libc::c_int =
        libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWPID | libc::CLONE_NEWNS;

    pub fn probe_namespaces() -> Result<(), String> {
        let mut command = std::process::Command::new("/bin/true");
        let ids = Ids::current();
        // SAFETY: the closure makes only async-signal-safe system calls on
        // stack data (see `enter_namespaces`), as `pre_exec` requires.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                enter_namespaces(ids, None, None)
            });
        }
        match command.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("the namespace probe ended with {status}")),
            Err(error) => Err(format!("unshare: {error}")),
        }
    }

    /// The kernel's Landlock ABI, when it is at least [`LANDLOCK_MIN_ABI`].
    pub fn probe_landlock() -> Result<i32, String> {
        // SAFETY: LANDLOCK_CREATE_RULESET_VERSION with a null attribute only
        // returns the ABI version (or an error); it touches no memory.
        let abi = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32, // LANDLOCK_CREATE_RULESET_VERSION
            )
        };
        if abi < 0 {
            return Err(match io::Error::last_os_error().raw_os_error() {
                Some(libc::EOPNOTSUPP) => "Landlock is built in but not enabled at boot".to_owned(),
                _ => "this kernel has no Landlock".to_owned(),
            });
        }
        let abi = i32::try_from(abi).unwrap_or(i32::MAX);
        if abi < LANDLOCK_MIN_ABI {
            return Err(format!(
                "this kernel's Landlock ABI is {abi}; the sandbox needs {LANDLOCK_MIN_ABI} (Linux 6.2)"
            ));
        }
        // A ruleset that must be enforced in full, to be sure it can be.
        ruleset(&Policy::default(), abi).map(|_| abi)
    }

    /// The Landlock ruleset of `policy`, created in this process (it opens
    /// every path) for the child to enforce.
    fn ruleset(policy: &Policy, abi: i32) -> Result<RulesetCreated, String> {
        let files = ABI::V3;
        let build = || -> Result<RulesetCreated, landlock::RulesetError> {
            let mut ruleset = Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(AccessFs::from_all(files))?;
            if abi >= 6 {
                ruleset = ruleset.scope(Scope::from_all(ABI::V6))?;
            }
            let read_only = AccessFs::from_read(files);
            ruleset
                .create()?
                .add_rules(path_beneath_rules(super::system_paths(), read_only))?
                .add_rules(path_beneath_rules(&policy.read, read_only))?
                .add_rules(path_beneath_rules(
                    DEVICES,
                    AccessFs::ReadFile | AccessFs::WriteFile,
                ))?
                .add_rules(path_beneath_rules(&policy.write, AccessFs::from_all(files)))
        };
        build().map_err(|error| format!("Landlock: {error}"))
    }

    /// Everything the child needs, made before the fork (nothing may
    /// allocate between fork and exec).
    struct Prepared {
        limits: Limits,
        processes: u64,
        namespaces: bool,
        ids: Ids,
        buffers: Option<Buffers>,
        tmpfs: Option<(CString, CString)>,
        private: Option<CString>,
        ruleset: Option<RulesetCreated>,
        verdict_fd: Option<i32>,
    }

    pub fn apply(
        command: &mut tokio::process::Command,
        limits: Limits,
        policy: &Policy,
        isolation: &Isolation,
        tcp_buffers: Option<u64>,
    ) -> Result<(), String> {
        let ids = Ids::current();
        let namespaces = isolation.namespaces.is_ok();
        if tcp_buffers.is_some() && !namespaces {
            // Without a namespace of its own the check would run on the
            // machine's settings, which is not what was asked for.
            return Err(
                "WSW_SANDBOX_TCP_BUFFERS needs the check's own network namespace".to_owned(),
            );
        }
        // Without a user namespace the kernel counts every process of the
        // user against RLIMIT_NPROC, so the allowance comes on top of what
        // the user already runs.
        let processes = if namespaces {
            limits.processes
        } else {
            limits.processes.saturating_add(user_tasks(ids.uid))
        };
        let private = match &policy.tmpfs {
            Some(path) => Some(
                CString::new(path.as_os_str().as_bytes())
                    .map_err(|_| format!("{} holds a NUL byte", path.display()))?,
            ),
            None => None,
        };
        let tmpfs = match (&private, namespaces) {
            (Some(target), true) => {
                let options = CString::new(format!("size={TMPFS_SIZE},mode=0700"))
                    .map_err(|error| error.to_string())?;
                Some((target.clone(), options))
            }
            _ => None,
        };
        let ruleset = match isolation.landlock {
            Ok(abi) => Some(ruleset(policy, abi)?),
            Err(_) => None,
        };
        let mut prepared = Prepared {
            limits,
            processes,
            namespaces,
            ids,
            buffers: tcp_buffers.map(Buffers::new),
            tmpfs,
            private,
            ruleset,
            verdict_fd: policy.verdict_fd,
        };
        // SAFETY: `enter` makes only async-signal-safe system calls, on
        // stack data and on `prepared`, made before the fork.
        unsafe {
            command.pre_exec(move || enter(&mut prepared));
        }
        Ok(())
    }

    /// Runs in the forked child, before `exec`: namespaces and mounts, then
    /// limits, then Landlock (which forbids mounting), then the verdict
    /// descriptor, then the split into waiter and sandboxed process.
    fn enter(prepared: &mut Prepared) -> io::Result<()> {
        if prepared.namespaces {
            enter_namespaces(
                prepared.ids,
                prepared.buffers.as_ref(),
                prepared.tmpfs.as_ref(),
            )?;
        }
        let limits = prepared.limits;
        set_limit(libc::RLIMIT_CPU, limits.cpu_secs)?;
        set_limit(libc::RLIMIT_AS, limits.memory_bytes)?;
        set_limit(libc::RLIMIT_NPROC, prepared.processes)?;
        set_limit(libc::RLIMIT_FSIZE, limits.file_size)?;
        set_limit(libc::RLIMIT_NOFILE, limits.open_files)?;
        if let Some(mut ruleset) = prepared.ruleset.take() {
            // The private folder's rule is made now, after its tmpfs was
            // mounted: a rule names an inode, and the tmpfs's root is a new
            // one (Landlock ignores the folder hidden under a mount).
            if let Some(private) = &prepared.private {
                ruleset = ruleset
                    .add_rule(PathBeneath::new(
                        open_folder(private)?,
                        AccessFs::from_all(ABI::V3),
                    ))
                    .map_err(|_| io::Error::from_raw_os_error(libc::EACCES))?;
            }
            ruleset
                .restrict_self()
                .map_err(|_| io::Error::from_raw_os_error(libc::EACCES))?;
        }
        let first_closed = match prepared.verdict_fd {
            Some(fd) => {
                give_fd(fd, super::VERDICT_FD)?;
                super::VERDICT_FD + 1
            }
            None => 3,
        };
        close_from(first_closed);
        split()
    }

    /// Closes every descriptor from `first` on: the process keeps its
    /// standard streams (and its verdict pipe), never a descriptor the
    /// grader inherited without close-on-exec (a jobserver's pipe, say).
    fn close_from(first: i32) {
        let first = u32::try_from(first).unwrap_or(3);
        // SAFETY: plain system calls on descriptors.
        unsafe {
            if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) != 0 {
                for fd in first..1024 {
                    libc::close(fd as i32);
                }
            }
        }
    }

    /// An `O_PATH` descriptor of a folder, for a Landlock rule.
    fn open_folder(path: &CString) -> io::Result<std::os::fd::OwnedFd> {
        // SAFETY: a NUL-terminated path; the descriptor returned is ours.
        unsafe {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(std::os::fd::FromRawFd::from_raw_fd(fd))
        }
    }

    /// Makes `fd` available as `target` across `exec`.
    fn give_fd(fd: i32, target: i32) -> io::Result<()> {
        // SAFETY: plain system calls on descriptors.
        unsafe {
            if fd == target {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(fd, target) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// New user, network, PID and mount namespaces, the user mapped to
    /// itself and loopback up (and the TCP buffer maxima set, when asked,
    /// and a tmpfs mounted, when asked). The PID namespace takes effect for
    /// the next child, which [`split`] makes.
    fn enter_namespaces(
        ids: Ids,
        buffers: Option<&Buffers>,
        tmpfs: Option<&(CString, CString)>,
    ) -> io::Result<()> {
        // SAFETY: plain system call.
        if unsafe { libc::unshare(NAMESPACES) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Writing gid_map needs setgroups denied first; kernels before 3.19
        // have no such file, hence the tolerance.
        match write_file(c"/proc/self/setgroups", b"deny") {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let mut buffer = [0u8; 40];
        write_file(c"/proc/self/uid_map", id_map(&mut buffer, ids.uid))?;
        write_file(c"/proc/self/gid_map", id_map(&mut buffer, ids.gid))?;
        loopback_up()?;
        if let Some(buffers) = buffers {
            // /proc/sys/net shows the writer's own network namespace.
            write_file(
                c"/proc/sys/net/ipv4/tcp_rmem",
                &buffers.rmem[..buffers.rmem_len],
            )?;
            write_file(
                c"/proc/sys/net/ipv4/tcp_wmem",
                &buffers.wmem[..buffers.wmem_len],
            )?;
        }
        // SAFETY: NUL-terminated strings that outlive the calls.
        unsafe {
            // Nothing mounted here may show outside.
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            if let Some((target, options)) = tmpfs
                && libc::mount(
                    c"tmpfs".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    options.as_ptr().cast(),
                ) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    #[derive(Clone, Copy)]
    struct Ids {
        uid: u32,
        gid: u32,
    }

    impl Ids {
        fn current() -> Self {
            // SAFETY: getuid and getgid cannot fail and touch no memory.
            unsafe {
                Self {
                    uid: libc::getuid(),
                    gid: libc::getgid(),
                }
            }
        }
    }

    /// The lines written to `tcp_rmem` and `tcp_wmem`, made before the
    /// fork (nothing may allocate between fork and exec): the kernel's
    /// usual minimum and default, and the maximum asked for.
    #[derive(Clone, Copy)]
    struct Buffers {
        rmem: [u8; 64],
        rmem_len: usize,
        wmem: [u8; 64],
        wmem_len: usize,
    }

    impl Buffers {
        fn new(max: u64) -> Self {
            let line = |default: u64| {
                let text = format!("4096 {} {max}\n", default.min(max));
                let mut bytes = [0u8; 64];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                (bytes, text.len())
            };
            let ((rmem, rmem_len), (wmem, wmem_len)) = (line(131_072), line(16_384));
            Self {
                rmem,
                rmem_len,
                wmem,
                wmem_len,
            }
        }
    }

    #[cfg(test)]
    pub fn id_map_for_tests(buffer: &mut [u8; 40], id: u32) -> &[u8] {
        id_map(buffer, id)
    }

    /// `"<id> <id> 1"` in `buffer`, without allocating.
    fn id_map(buffer: &mut [u8; 40], id: u32) -> &[u8] {
        let mut digits = [0u8; 10];
        let mut count = 0;
        let mut rest = id;
        loop {
            digits[count] = b'0' + (rest % 10) as u8;
            count += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let mut length = 0;
        for _ in 0..2 {
            for index in (0..count).rev() {
                buffer[length] = digits[index];
                length += 1;
            }
            buffer[length] = b' ';
            length += 1;
        }
        buffer[length] = b'1';
        &buffer[..=length]
    }

    fn write_file(path: &std::ffi::CStr, contents: &[u8]) -> io::Result<()> {
        // SAFETY: a NUL-terminated path and a buffer of the given length.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let written = libc::write(fd, contents.as_ptr().cast(), contents.len());
            let error = io::Error::last_os_error();
            libc::close(fd);
            if usize::try_from(written).ok() != Some(contents.len()) {
                return Err(error);
            }
        }
        Ok(())
    }

    /// `ip link set lo up`, by hand: a new network namespace starts with
    /// loopback down.
    fn loopback_up() -> io::Result<()> {
        // SAFETY: a zeroed `ifreq` is valid; the ioctls read and write it.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut request: libc::ifreq = std::mem::zeroed();
            for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
                *slot = *byte as libc::c_char;
            }
            let mut result = libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut request);
            if result == 0 {
                request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
                result = libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &request);
            }
            let error = io::Error::last_os_error();
            libc::close(fd);
            if result != 0 {
                return Err(error);
            }
        }
        Ok(())
    }

    #[cfg(target_env = "gnu")]
    type Resource = libc::__rlimit_resource_t;
    #[cfg(not(target_env = "gnu"))]
    type Resource = libc::c_int;

    fn set_limit(resource: Resource, value: u64) -> io::Result<()> {
        let limit = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: a valid rlimit on the stack.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Forks: the child goes on to `exec` the check (in a new PID namespace
    /// it is process 1 there); this process becomes the intermediate that
    /// waits for it and exits with its status. It closes every descriptor
    /// first, so the grader sees the check's output end when the check's
    /// does, and `spawn` returns as soon as the check has started.
    fn split() -> io::Result<()> {
        // SAFETY: fork in a single-threaded child (we are between fork and
        // exec); both sides make async-signal-safe calls only.
        unsafe {
            let pid = libc::fork();
            if pid < 0 {
                return Err(io::Error::last_os_error());
            }
            if pid == 0 {
                return Ok(());
            }
            if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
                for fd in 0..1024 {
                    libc::close(fd);
                }
            }
            let mut status = 0;
            loop {
                let waited = libc::waitpid(pid, &mut status, 0);
                if waited == pid {
                    break;
                }
                if waited < 0 && *libc::__errno_location() != libc::EINTR {
                    libc::_exit(127);
                }
            }
            if libc::WIFEXITED(status) {
                libc::_exit(libc::WEXITSTATUS(status));
            }
            libc::_exit(128 + libc::WTERMSIG(status));
        }
    }

    /// How many processes and threads `uid` runs now (from `/proc`).
    fn user_tasks(uid: u32) -> u64 {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let mut total = 0;
        for entry in entries.flatten() {
            if !entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
            {
                continue;
            }
            let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
                continue;
            };
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|value| value.parse::<u64>().ok())
            };
            if field("Uid:") == Some(u64::from(uid)) {
                total += field("Threads:").unwrap_or(1);
            }
        }
        total
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
mod imp {
    use std::io;

    use super::{Isolation, Limits, Policy};

    pub fn probe_namespaces() -> Result<(), String> {
        Err("namespaces are Linux-only".to_owned())
    }

    pub fn probe_landlock() -> Result<i32, String> {
        Err("Landlock is Linux-only".to_owned())
    }

    pub fn apply(
        command: &mut tokio::process::Command,
        limits: Limits,
        policy: &Policy,
        _isolation: &Isolation,
        tcp_buffers: Option<u64>,
    ) -> Result<(), String> {
        if tcp_buffers.is_some() {
            return Err(
                "WSW_SANDBOX_TCP_BUFFERS needs the check's own network namespace (Linux)"
                    .to_owned(),
            );
        }
        let verdict_fd = policy.verdict_fd;
        // SAFETY: setrlimit and dup2 on stack data are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                // The process limit counts all the user's processes here,
                // and it is not known how many: it is left as it is.
                for (resource, value) in [
                    (libc::RLIMIT_CPU, limits.cpu_secs),
                    (libc::RLIMIT_AS, limits.memory_bytes),
                    (libc::RLIMIT_FSIZE, limits.file_size),
                    (libc::RLIMIT_NOFILE, limits.open_files),
                ] {
                    let limit = libc::rlimit {
                        rlim_cur: value as libc::rlim_t,
                        rlim_max: value as libc::rlim_t,
                    };
                    if libc::setrlimit(resource, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if let Some(fd) = verdict_fd
                    && libc::dup2(fd, super::VERDICT_FD) < 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod imp {
    use super::{Isolation, Limits, Policy};

    pub fn probe_namespaces() -> Result<(), String> {
        Err("this platform has no namespaces".to_owned())
    }

    pub fn probe_landlock() -> Result<i32, String> {
        Err("this platform has no Landlock".to_owned())
    }

    pub fn apply(
        _command: &mut tokio::process::Command,
        _limits: Limits,
        _policy: &Policy,
        _isolation: &Isolation,
        _tcp_buffers: Option<u64>,
    ) -> Result<(), String> {
        Err("checks need a Unix system (Linux, macOS) or WSL".to_owned())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Runs `script` in the sandbox, with `/proc` readable so that it can
    /// report on its own namespaces and limits.
    async fn run_in_sandbox(script: &str) -> String {
        let policy = Policy {
            read: vec!["/proc".into()],
            ..Policy::default()
        };
        run_with(script, &policy, None).await
    }

    async fn run_with_buffers(script: &str, tcp_buffers: Option<u64>) -> String {
        run_with(script, &Policy::default(), tcp_buffers).await
    }

    async fn run_with(script: &str, policy: &Policy, tcp_buffers: Option<u64>) -> String {
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", script])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        imp::apply(
            &mut command,
            Limits::for_timeout(7),
            policy,
            isolation(),
            tcp_buffers,
        )
        .expect("the sandbox applies");
        let output = command.output().await.expect("sh runs in the sandbox");
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    /// Skips a test that needs every layer, except in CI, which must have them.
    fn complete_or_skip() -> bool {
        let isolation = isolation();
        if isolation.is_complete() {
            return true;
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have every layer of the sandbox: {}",
            isolation.describe()
        );
        eprintln!("skipped: {}", isolation.describe());
        false
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wsw-sandbox-test-{name}-{}", crate::run::nonce()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        dir
    }

    /// A scratch folder, its `tmp` folder, and a policy that makes that the
    /// process's private tmpfs, as a check's.
    fn with_private_tmp(name: &str) -> (PathBuf, PathBuf, Policy) {
        let dir = scratch(name);
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmp");
        let policy = Policy {
            tmpfs: Some(tmp.clone()),
            ..Policy::default()
        };
        (dir, tmp, policy)
    }

    #[tokio::test]
    async fn landlock_lets_a_process_touch_its_policy_and_nothing_else() {
        if !complete_or_skip() {
            return;
        }
        let dir = scratch("landlock");
        let (secret, readable, writable) = (
            dir.join("secret"),
            dir.join("readable"),
            dir.join("writable"),
        );
        for folder in [&secret, &readable, &writable] {
            std::fs::create_dir_all(folder).expect("folder");
            std::fs::write(folder.join("file"), "content\n").expect("file");
        }
        let policy = Policy {
            read: vec![readable.clone()],
            write: vec![writable.clone()],
            ..Policy::default()
        };
        let script = format!(
            "cat {s}/file || echo secret-denied; cat {r}/file && echo readable-read; \
             echo x > {r}/new || echo readable-not-writable; echo x > {w}/new && echo writable-written; \
             cat /proc/self/maps > /dev/null || echo proc-denied; \
             cat /proc/sys/net/ipv4/tcp_wmem > /dev/null && echo net-settings-read; \
             ls /root /home > /dev/null 2>&1 || echo homes-denied; cat /etc/hostname > /dev/null && echo etc-read",
            s = secret.display(),
            r = readable.display(),
            w = writable.display()
        );
        let out = run_with(&script, &policy, None).await;
        let _ = std::fs::remove_dir_all(&dir);
        for line in [
            "secret-denied",
            "readable-read",
            "readable-not-writable",
            "writable-written",
            "proc-denied",
            "net-settings-read",
            "homes-denied",
            "etc-read",
        ] {
            assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
        }
        assert!(!out.contains("content\ncontent\ncontent"), "{out}");
    }

    #[tokio::test]
    async fn the_private_tmpfs_is_private_and_size_limited() {
        if !complete_or_skip() {
            return;
        }
        let (dir, tmp, policy) = with_private_tmp("tmpfs");
        let script = format!(
            "cd {t} && stat -f -c %T . && echo x > small && echo small-written; \
             echo x > {d}/beside || echo beside-denied; \
             dd if=/dev/zero of=big bs=1M count=400 2>&1 | tail -1",
            t = tmp.display(),
            d = dir.display()
        );
        let out = run_with(&script, &policy, None).await;
        let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").flatten().collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.starts_with("tmpfs\n"), "{out}");
        assert!(out.contains("small-written"), "{out}");
        assert!(
            out.contains("beside-denied"),
            "only the tmpfs is writable: {out}"
        );
        assert!(
            !out.contains("419430400 bytes"),
            "400 MB fitted in the tmpfs: {out}"
        );
        assert!(
            left.is_empty(),
            "the tmpfs's files showed outside: {left:?}"
        );
    }

    /// Runs `script` with a verdict pipe (and `policy`) and returns what it
    /// wrote there.
    async fn verdict_of(script: &str, policy: Policy) -> String {
        let (read, write) = verdict_pipe().expect("a pipe");
        let policy = Policy {
            verdict_fd: Some(std::os::fd::AsRawFd::as_raw_fd(&write)),
            ..policy
        };
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", script])
            .stdin(std::process::Stdio::null());
        imp::apply(
            &mut command,
            Limits::for_timeout(7),
            &policy,
            isolation(),
            None,
        )
        .expect("the sandbox applies");
        let status = command.status().await.expect("sh runs");
        drop(write);
        assert!(status.success());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut text)
            .expect("the pipe reads");
        text
    }

    #[tokio::test]
    async fn the_verdict_pipe_is_descriptor_3() {
        assert_eq!(
            verdict_of("echo verdict >&3", Policy::default()).await,
            "verdict\n"
        );
    }

    /// What the capstones need: a check starts the system's `redis-server`
    /// inside its sandbox, on its own loopback, and talks to it.
    #[tokio::test]
    async fn a_check_can_run_the_systems_redis_server_on_its_loopback() {
        if !complete_or_skip() {
            return;
        }
        if !Path::new("/usr/bin/redis-server").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI installs redis-server (Debian's package) for this test"
            );
            eprintln!("skipped: no redis-server (apt-get install redis-server)");
            return;
        }
        let (dir, tmp, policy) = with_private_tmp("redis");
        // A bounded wait (at most 100 tries of 50 ms) for the server to answer.
        let script = format!(
            "cd {t} && redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
               --daemonize no --logfile {t}/redis.log & \
             i=0; until redis-cli -p 6379 ping > /dev/null 2>&1; do \
               i=$((i+1)); [ $i -ge 100 ] && echo no-answer && exit 1; sleep 0.05; done; \
             redis-cli -p 6379 set course workbook > /dev/null; redis-cli -p 6379 get course; \
             redis-cli -p 6379 shutdown nosave > /dev/null 2>&1; wait",
            t = tmp.display()
        );
        let out = run_with(&script, &policy, None).await;
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(out.trim(), "workbook", "{out}");
    }

    #[tokio::test]
    async fn only_the_standard_streams_and_the_verdict_pipe_are_inherited() {
        // A descriptor of the grader without close-on-exec, as a jobserver's.
        let (_other_read, other_write) = verdict_pipe().expect("another pipe");
        let leaked = std::os::fd::AsRawFd::as_raw_fd(&other_write);
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe {
            libc::fcntl(leaked, libc::F_SETFD, 0);
        }
        let policy = Policy {
            read: vec!["/proc".into()],
            ..Policy::default()
        };
        let text = verdict_of("ls /proc/self/fd >&3", policy).await;
        let mut fds: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        fds.sort_unstable();
        // 0-2, 3, and the descriptor `ls` has open on /proc/self/fd.
        assert!(
            !fds.contains(&leaked),
            "descriptor {leaked} leaked: {fds:?}"
        );
        assert_eq!(fds.iter().filter(|fd| **fd > 3).count(), 1, "{fds:?}");
    }

    #[test]
    fn a_missing_layer_is_named_in_the_description() {
        let isolation = Isolation {
            namespaces: Err("unshare: Operation not permitted".into()),
            landlock: Ok(7),
        };
        assert!(!isolation.is_complete());
        let line = isolation.describe();
        assert!(line.contains("NOT in force: namespaces (unshare"), "{line}");
        assert!(line.contains("Landlock ABI 7"), "{line}");
        let complete = Isolation {
            namespaces: Ok(()),
            landlock: Ok(7),
        };
        assert!(complete.is_complete());
        assert!(
            !complete.describe().contains("NOT"),
            "{}",
            complete.describe()
        );
    }

    #[tokio::test]
    async fn tcp_buffer_maxima_are_set_in_the_checks_namespace_only() {
        if let Err(reason) = &isolation().namespaces {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs namespaces for this test: {reason}"
            );
            eprintln!("skipped: no namespaces on this machine ({reason})");
            return;
        }
        let machine = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").expect("tcp_wmem");
        for max in [4u64 << 20, 64 << 20] {
            let out = run_with_buffers(
                "cat /proc/sys/net/ipv4/tcp_rmem /proc/sys/net/ipv4/tcp_wmem",
                Some(max),
            )
            .await;
            let maxima: Vec<&str> = out
                .lines()
                .filter_map(|line| line.split_whitespace().nth(2))
                .collect();
            assert_eq!(maxima, [max.to_string(), max.to_string()], "{out}");
        }
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").expect("tcp_wmem"),
            machine,
            "the machine's own setting is untouched"
        );
    }

    fn limit(limits: &str, name: &str) -> String {
        limits
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {limits}"))
            .split_whitespace()
            .rev()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    }

    #[tokio::test]
    async fn checks_get_cpu_memory_and_process_limits() {
        let limits = run_in_sandbox("cat /proc/self/limits").await;
        assert_eq!(limit(&limits, "Max cpu time"), "12", "{limits}");
        assert_eq!(
            limit(&limits, "Max file size"),
            FILE_SIZE_LIMIT.to_string(),
            "{limits}"
        );
        assert_eq!(
            limit(&limits, "Max open files"),
            OPEN_FILES_LIMIT.to_string(),
            "{limits}"
        );
        assert_eq!(
            limit(&limits, "Max address space"),
            MEMORY_LIMIT.to_string(),
            "{limits}"
        );
        let processes: u64 = limit(&limits, "Max processes").parse().expect("a number");
        assert!(processes >= PROCESS_LIMIT, "{limits}");
        if isolation().namespaces.is_ok() {
            assert_eq!(processes, PROCESS_LIMIT, "{limits}");
        }
    }

    #[tokio::test]
    async fn with_namespaces_only_loopback_is_up_and_the_check_is_process_1() {
        if let Err(reason) = &isolation().namespaces {
            eprintln!("skipped: no namespaces on this machine ({reason})");
            return;
        }
        let out = run_in_sandbox("echo pid $$; cat /proc/net/dev; cat /proc/self/uid_map").await;
        assert!(out.contains("pid 1\n"), "{out}");
        let interfaces: Vec<&str> = out
            .lines()
            .filter_map(|line| line.split_once(':'))
            .map(|(name, _)| name.trim())
            .filter(|name| !name.contains('|') && !name.is_empty())
            .collect();
        assert_eq!(interfaces, ["lo"], "{out}");
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        assert!(
            out.lines().any(|line| {
                line.split_whitespace().collect::<Vec<_>>()
                    == [&*uid.to_string(), &*uid.to_string(), "1"]
            }),
            "the user keeps its own id: {out}"
        );
    }

    #[test]
    fn id_maps_are_written_without_allocating() {
        let mut buffer = [0u8; 40];
        assert_eq!(imp_id_map(&mut buffer, 0), b"0 0 1");
        assert_eq!(imp_id_map(&mut buffer, 1000), b"1000 1000 1");
        assert_eq!(
            imp_id_map(&mut buffer, u32::MAX),
            b"4294967295 4294967295 1"
        );
    }

    fn imp_id_map(buffer: &mut [u8; 40], id: u32) -> Vec<u8> {
        super::imp::id_map_for_tests(buffer, id).to_vec()
    }
}
