//! The sandbox every check process runs in.
//!
//! On every Unix the check gets resource limits, set with `setrlimit` in the
//! forked child just before it executes the check binary:
//!
//! * CPU time ([`Limits::cpu_secs`]): the kernel kills a process that
//!   computes longer than that, whatever its wall-clock limit;
//! * address space ([`MEMORY_LIMIT`]): an allocation past it fails, and
//!   Rust aborts the process;
//! * processes and threads ([`PROCESS_LIMIT`]): a fork bomb stops there.
//!
//! On Linux, where unprivileged user namespaces are allowed, the check also
//! gets namespaces of its own ([`Isolation::Namespaces`]):
//!
//! * a **network namespace** whose only interface is loopback (brought up
//!   here): the check's own test servers work, nothing else is reachable;
//! * a **PID namespace** in which the check is process 1: it cannot see or
//!   signal the grader or any other process of the machine, and every
//!   helper it starts dies with it;
//! * a **user namespace** mapping the user to itself (files keep their
//!   owner), which is what lets an unprivileged grader make the other two.
//!
//! Between the grader and the check sits a small intermediate process that
//! only waits for the check and exits with its status, so a check that
//! signals its parent kills that waiter, not the grader (it then scores 0:
//! no record).
//!
//! Where the namespaces are refused (macOS, containers without user
//! namespaces, Ubuntu with `kernel.apparmor_restrict_unprivileged_userns`)
//! the limits still apply, the process limit is counted on top of the
//! user's current processes, and the grader says once, on standard error,
//! what is not isolated. `WSW_SANDBOX=limits` forces that mode.
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
// allowed (no allocation, no locks): plain `libc` calls on stack buffers.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// Address-space limit of a check process: 2 GiB. A check needs well under
/// 200 MiB; the rest is room for thread stacks and allocator arenas, which
/// reserve address space they never touch.
pub const MEMORY_LIMIT: u64 = 2 << 30;

/// Processes and threads a check may have at once. A check uses a handful
/// of threads (its runtime, the harness's watchdog, tokio's blocking pool
/// for DNS, a test server's runtime) and sometimes one helper process.
pub const PROCESS_LIMIT: u64 = 256;

/// The environment variable that selects the sandbox: `limits` turns the
/// namespaces off (resource limits only).
pub const MODE_VARIABLE: &str = "WSW_SANDBOX";

/// The environment variable that sets the TCP buffer maxima, in bytes, in
/// the check's network namespace (maintainers' tests; see the module docs).
pub const TCP_BUFFERS_VARIABLE: &str = "WSW_SANDBOX_TCP_BUFFERS";

/// [`TCP_BUFFERS_VARIABLE`], read now: `None` when unset or not a number.
fn tcp_buffers() -> Option<u64> {
    std::env::var(TCP_BUFFERS_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse().ok())
}

/// The limits of one check process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU seconds, all threads together.
    pub cpu_secs: u64,
    /// Address space, in bytes.
    pub memory_bytes: u64,
    /// Processes and threads.
    pub processes: u64,
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
        }
    }
}

/// How far checks are isolated on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// Limits, and user, network (loopback only) and PID namespaces.
    Namespaces,
    /// Limits only; the reason the namespaces are not used.
    LimitsOnly(String),
}

impl Isolation {
    /// One line for instructors: what the checks run in.
    pub fn describe(&self) -> String {
        match self {
            Isolation::Namespaces => {
                "checks run with CPU, memory and process limits, in their own \
                 network namespace (loopback only) and PID namespace"
                    .to_owned()
            }
            Isolation::LimitsOnly(reason) => format!(
                "checks run with CPU, memory and process limits only, NOT in a network or PID \
                 namespace ({reason}): a check can reach the network and signal other processes \
                 of this user; grade untrusted work in a container or VM (see the instructors' guide)"
            ),
        }
    }
}

/// What this machine allows, found out once per grader process by starting
/// `true` in the namespaces.
pub fn isolation() -> &'static Isolation {
    static PROBED: OnceLock<Isolation> = OnceLock::new();
    PROBED.get_or_init(probe)
}

/// Prints, once per grader process, what is not isolated (nothing when the
/// namespaces work).
pub fn warn_once() {
    static WARNED: OnceLock<()> = OnceLock::new();
    if let Isolation::LimitsOnly(_) = isolation() {
        WARNED.get_or_init(|| eprintln!("cargo grade: note: {}", isolation().describe()));
    }
}

fn probe() -> Isolation {
    if std::env::var(MODE_VARIABLE).is_ok_and(|mode| mode == "limits") {
        return Isolation::LimitsOnly(format!("{MODE_VARIABLE}=limits"));
    }
    imp::probe()
}

/// Makes `command` start its process in the sandbox with `limits`.
pub fn apply(command: &mut tokio::process::Command, limits: Limits) {
    imp::apply(
        command,
        limits,
        isolation() == &Isolation::Namespaces,
        tcp_buffers(),
    );
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;

    use super::{Isolation, Limits};

    pub fn probe() -> Isolation {
        let mut command = std::process::Command::new("true");
        let ids = Ids::current();
        // SAFETY: the closure makes only async-signal-safe system calls on
        // stack data (see `enter`), as `pre_exec` requires.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                enter_namespaces(ids, None)
            });
        }
        match command.status() {
            Ok(status) if status.success() => Isolation::Namespaces,
            Ok(status) => Isolation::LimitsOnly(format!("the namespace probe ended with {status}")),
            Err(error) => Isolation::LimitsOnly(format!("unshare: {error}")),
        }
    }

    pub fn apply(
        command: &mut tokio::process::Command,
        limits: Limits,
        namespaces: bool,
        tcp_buffers: Option<u64>,
    ) {
        let ids = Ids::current();
        let buffers = tcp_buffers.map(Buffers::new);
        // Without a user namespace the kernel counts every process of the
        // user against RLIMIT_NPROC, so the check's allowance comes on top
        // of what the user already runs.
        let processes = if namespaces {
            limits.processes
        } else {
            limits.processes.saturating_add(user_tasks(ids.uid))
        };
        // SAFETY: as in `probe`: async-signal-safe calls on stack data only.
        unsafe {
            command.pre_exec(move || enter(limits, processes, namespaces, ids, buffers));
        }
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

    /// Runs in the forked child, before `exec`.
    fn enter(
        limits: Limits,
        processes: u64,
        namespaces: bool,
        ids: Ids,
        buffers: Option<Buffers>,
    ) -> io::Result<()> {
        if namespaces {
            enter_namespaces(ids, buffers.as_ref())?;
        } else if buffers.is_some() {
            // Without a namespace of its own the check would run on the
            // machine's settings, which is not what was asked for.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "WSW_SANDBOX_TCP_BUFFERS needs the check's own network namespace",
            ));
        }
        set_limit(libc::RLIMIT_CPU, limits.cpu_secs)?;
        set_limit(libc::RLIMIT_AS, limits.memory_bytes)?;
        set_limit(libc::RLIMIT_NPROC, processes)?;
        split()
    }

    /// New user, network and PID namespaces, the user mapped to itself and
    /// loopback up (and the TCP buffer maxima set, when asked). The PID
    /// namespace takes effect for the next child, which [`split`] makes.
    fn enter_namespaces(ids: Ids, buffers: Option<&Buffers>) -> io::Result<()> {
        // SAFETY: plain system call.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWPID) }
            != 0
        {
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
        Ok(())
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

    use super::{Isolation, Limits};

    pub fn probe() -> Isolation {
        Isolation::LimitsOnly("namespaces are Linux-only".to_owned())
    }

    pub fn apply(
        command: &mut tokio::process::Command,
        limits: Limits,
        _namespaces: bool,
        tcp_buffers: Option<u64>,
    ) {
        // SAFETY: setrlimit on stack data is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                if tcp_buffers.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "WSW_SANDBOX_TCP_BUFFERS needs the check's own network namespace (Linux)",
                    ));
                }
                // The process limit counts all the user's processes here,
                // and it is not known how many: it is left as it is.
                for (resource, value) in [
                    (libc::RLIMIT_CPU, limits.cpu_secs),
                    (libc::RLIMIT_AS, limits.memory_bytes),
                ] {
                    let limit = libc::rlimit {
                        rlim_cur: value as libc::rlim_t,
                        rlim_max: value as libc::rlim_t,
                    };
                    if libc::setrlimit(resource, &limit) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::{Isolation, Limits};

    pub fn probe() -> Isolation {
        Isolation::LimitsOnly("this platform has no setrlimit or namespaces".to_owned())
    }

    pub fn apply(
        _command: &mut tokio::process::Command,
        _limits: Limits,
        _namespaces: bool,
        _tcp_buffers: Option<u64>,
    ) {
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    async fn run_in_sandbox(script: &str) -> String {
        run_with_buffers(script, None).await
    }

    async fn run_with_buffers(script: &str, tcp_buffers: Option<u64>) -> String {
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        imp::apply(
            &mut command,
            Limits::for_timeout(7),
            isolation() == &Isolation::Namespaces,
            tcp_buffers,
        );
        let output = command.output().await.expect("sh runs in the sandbox");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[tokio::test]
    async fn tcp_buffer_maxima_are_set_in_the_checks_namespace_only() {
        if let Isolation::LimitsOnly(reason) = isolation() {
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
            limit(&limits, "Max address space"),
            MEMORY_LIMIT.to_string(),
            "{limits}"
        );
        let processes: u64 = limit(&limits, "Max processes").parse().expect("a number");
        assert!(processes >= PROCESS_LIMIT, "{limits}");
        if isolation() == &Isolation::Namespaces {
            assert_eq!(processes, PROCESS_LIMIT, "{limits}");
        }
    }

    #[tokio::test]
    async fn with_namespaces_only_loopback_is_up_and_the_check_is_process_1() {
        if let Isolation::LimitsOnly(reason) = isolation() {
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
