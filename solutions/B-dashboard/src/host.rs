//! This host's figures: CPU, memory, network and disk, from `sysinfo`.
//!
//! `sysinfo` reads what the kernel publishes (on Linux, `/proc/stat`,
//! `/proc/meminfo`, `/proc/net/dev`, `statvfs`) and keeps the previous
//! reading, so rates (CPU busy share, bytes a second) come from two
//! readings a tick apart. The first collection therefore has no CPU or
//! network rate: there is nothing to compare it with yet.
//!
//! | series | unit |
//! |---|---|
//! | `host_cpu_usage_percent{host}` | % of all cores, 0–100 |
//! | `host_memory_total_bytes{host}`, `host_memory_used_bytes{host}` | bytes |
//! | `host_network_receive_bytes_per_second{host,interface}`, `…_transmit_…` | bytes/s |
//! | `host_disk_total_bytes{host,mount}`, `host_disk_available_bytes{host,mount}` | bytes |

use sysinfo::{Disks, Networks, System};

use crate::clock::Millis;
use crate::labels::SeriesKey;
use crate::sources::Source;

/// The host source.
pub struct Host {
    host: String,
    system: System,
    networks: Networks,
    disks: Disks,
    /// When the host was last collected: the network rates need it, and
    /// the first collection has no CPU share.
    last: Option<Millis>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

impl Host {
    /// Reads the host once (the baseline for the first rates).
    pub fn new() -> Self {
        let mut system = System::new();
        system.refresh_cpu_usage();
        system.refresh_memory();
        Self {
            host: System::host_name().unwrap_or_else(|| "localhost".to_owned()),
            system,
            networks: Networks::new_with_refreshed_list(),
            disks: Disks::new_with_refreshed_list(),
            last: None,
        }
    }

    /// The `host` label its series carry.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    fn key(&self, name: &str, extra: Option<(&str, &str)>) -> SeriesKey {
        let mut key = SeriesKey::new(name, [("host", self.host.as_str())]);
        if let Some((label, value)) = extra {
            key.labels.insert(label.to_owned(), value.to_owned());
        }
        key
    }
}

impl Host {
    /// The network rates since the last collection (given: the grader's
    /// sandbox hides `/sys`, where sysinfo finds the interfaces, so no check
    /// could tell you whether you wrote these right). Nothing on the first
    /// collection, or when no time has passed.
    fn network_rates(&mut self, now: Millis) -> Vec<(SeriesKey, f64)> {
        self.networks.refresh(true);
        let Some(seconds) = self
            .last
            .map(|last| (now - last) as f64 / 1_000.0)
            .filter(|seconds| *seconds > 0.0)
        else {
            return Vec::new();
        };
        let mut samples = Vec::new();
        for (interface, data) in &self.networks {
            let extra = Some(("interface", interface.as_str()));
            samples.push((
                self.key("host_network_receive_bytes_per_second", extra),
                data.received() as f64 / seconds,
            ));
            samples.push((
                self.key("host_network_transmit_bytes_per_second", extra),
                data.transmitted() as f64 / seconds,
            ));
        }
        samples
    }
}

impl Source for Host {
    fn collect(&mut self, now: Millis) -> Vec<(SeriesKey, f64)> {
        let mut samples = self.network_rates(now);
        // region: solution
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        if self.last.is_some() {
            let cpu = f64::from(self.system.global_cpu_usage()).clamp(0.0, 100.0);
            samples.push((self.key("host_cpu_usage_percent", None), cpu));
        }
        samples.push((
            self.key("host_memory_total_bytes", None),
            self.system.total_memory() as f64,
        ));
        samples.push((
            self.key("host_memory_used_bytes", None),
            self.system.used_memory() as f64,
        ));
        for disk in &self.disks {
            let mount = disk.mount_point().to_string_lossy();
            let extra = Some(("mount", mount.as_ref()));
            samples.push((
                self.key("host_disk_total_bytes", extra),
                disk.total_space() as f64,
            ));
            samples.push((
                self.key("host_disk_available_bytes", extra),
                disk.available_space() as f64,
            ));
        }
        self.last = Some(now);
        samples
        // region: stub
        // todo!("Stage 16: refresh CPU, memory and disks, emit their documented series after the network rates, and remember when (chapter B, section \"Stage 16: Host values\")")
        // endregion
    }
}

// region: solution
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_reports_its_memory_and_then_its_cpu() {
        let mut host = Host::new();
        let first = host.collect(0);
        let total = first
            .iter()
            .find(|(key, _)| key.name == "host_memory_total_bytes")
            .map(|(_, value)| *value);
        assert!(total.is_some_and(|total| total > 0.0), "{first:?}");
        assert!(
            first
                .iter()
                .all(|(key, _)| key.name != "host_cpu_usage_percent")
        );
        let second = host.collect(1_000);
        let cpu = second
            .iter()
            .find(|(key, _)| key.name == "host_cpu_usage_percent")
            .map(|(_, value)| *value);
        assert!(
            cpu.is_some_and(|cpu| (0.0..=100.0).contains(&cpu)),
            "{second:?}"
        );
    }
}
// endregion
