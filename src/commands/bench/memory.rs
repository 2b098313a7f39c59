//! The crash lab's peak memory: a whole `msgwork simulate --crash` run in a child process, its
//! peak resident set held to 64 MB however many orders it takes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::sim::lab::bench::Measurement;

/// The most a run of the lab's largest size may hold resident at once, in MB.
pub const TARGET_MB: f64 = 64.0;

/// How often the child's high-water mark is read while it runs.
const POLL: Duration = Duration::from_millis(20);

/// Most a run's time per order may grow from the smaller size to the ten times larger one.
pub const TARGET_GROWTH: f64 = 1.5;

/// The lab's peak memory at the largest size the target is stated for (a million orders; twenty
/// thousand for a quick look), and its time per order there against a run a tenth the size.
pub fn figures(dir: &Path, quick: bool) -> Result<Vec<Measurement>> {
    let large: u32 = if quick { 20_000 } else { 1_000_000 };
    let small = large / 10;
    let (_, small_wall) = peak(dir, small)?;
    let (kib, large_wall) = peak(dir, large)?;
    let per_order = |wall: Duration, orders: u32| wall.as_secs_f64() / f64::from(orders);
    Ok(vec![
        Measurement::new(
            "simulate_peak_rss_mb",
            format!("simulate --crash, {large} orders: peak memory of the whole process"),
            kib as f64 / 1024.0,
            "MB",
            TARGET_MB,
            true,
        ),
        Measurement::new(
            "simulate_time_growth",
            format!(
                "simulate --crash: time per order at {large} orders ({:.1} s) ÷ at {small} ({:.1} s)",
                large_wall.as_secs_f64(),
                small_wall.as_secs_f64()
            ),
            per_order(large_wall, large) / per_order(small_wall, small),
            "×",
            TARGET_GROWTH,
            true,
        ),
    ])
}

/// `msgwork simulate --crash --orders ORDERS` in a child process: its peak resident set in KiB,
/// and its wall time.
fn peak(dir: &Path, orders: u32) -> Result<(u64, Duration)> {
    let exe = std::env::current_exe().context("cannot find the msgwork executable to measure")?;
    let home = dir.join("memory-home");
    let before = children_peak_kib();
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .arg("--data-dir")
        .arg(&home)
        .args(["simulate", "--crash", "--seed", "1", "--json", "--orders"])
        .arg(orders.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run msgwork simulate to measure its memory")?;
    let mut polled = 0;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .context("cannot wait for msgwork simulate")?
        {
            break status;
        }
        polled = polled.max(high_water_kib(child.id()).unwrap_or(0));
        std::thread::sleep(POLL);
    };
    let wall = started.elapsed();
    // A failed check exits 1 and still measures; anything else is a broken run.
    anyhow::ensure!(
        matches!(status.code(), Some(0 | 1)),
        "msgwork simulate --orders {orders} failed while its memory was measured ({status})"
    );
    // The kernel's figure covers the whole run, but only of the largest child so far: it is this
    // one's when it rose. Otherwise the last reading while it ran stands.
    let kib = match (before, children_peak_kib()) {
        (Some(before), Some(after)) if after > before => after,
        _ => polled,
    };
    Ok((kib, wall))
}

/// The largest peak resident set of any child this process has waited for, in KiB.
#[cfg(unix)]
fn children_peak_kib() -> Option<u64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    // Linux counts it in KiB (macOS in bytes, where /proc is missing too and this is a guess).
    u64::try_from(usage.max_rss()).ok()
}

#[cfg(not(unix))]
fn children_peak_kib() -> Option<u64> {
    None
}

/// The high-water mark of a running process's resident set, from `/proc/PID/status`, in KiB.
fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_high_water_mark_where_proc_exists() {
        if Path::new("/proc/self/status").exists() {
            let kib = high_water_kib(std::process::id()).unwrap();
            assert!(kib > 100, "{kib} KiB");
        }
        assert_eq!(high_water_kib(u32::MAX), None);
    }
}
