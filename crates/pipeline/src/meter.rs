//! What each stage of a run cost: wall time, CPU time (all threads) and the
//! peak resident memory of the process during the stage.
//!
//! Read from Linux's `/proc/self` (no dependency): CPU time from
//! `/proc/self/stat` (user + system, in the kernel's 100 Hz ticks, so 10 ms
//! resolution); the stage's peak by a thread that reads the resident size
//! from `/proc/self/statm` every 5 ms and keeps the largest of the stage,
//! together with the process's peak so far (`VmHWM`) when it rose during
//! the stage. The process's own peak is never reset, so `/usr/bin/time` and
//! the like still see the run's true peak. Where `/proc` is missing
//! (another system) the CPU time and peak are `None` and the wall time is
//! still measured.
//!
//! The figures go to the log (one `info` line per stage) and to
//! `manifest.json`'s `stages`: they describe the machine and its load, not
//! the data, so they are the one part of the manifest besides `created`
//! that differs between reruns.

use crate::progress::{Progress, Unit};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One stage's cost.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StageCost {
    pub stage: String,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// User + system CPU seconds of all threads; above `wall_seconds` when
    /// the stage used several cores.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory of the whole process during the stage, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Measures stages one after another, and tells `progress` of them.
pub struct Meter<'a> {
    costs: Vec<StageCost>,
    /// The running stage: name, start, CPU seconds and process peak (KiB)
    /// at its start.
    started: Option<(String, Instant, Option<f64>, Option<u64>)>,
    progress: &'a dyn Progress,
    sampler: Option<Sampler>,
}

/// The thread that samples the resident size.
struct Sampler {
    /// The largest resident size (KiB) seen since the stage started.
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start() -> Option<Sampler> {
        rss_kib()?;
        let max_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (max, stopped) = (Arc::clone(&max_kib), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("cohortflow-meter".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    if let Some(kib) = rss_kib() {
                        max.fetch_max(kib, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
            .ok()?;
        Some(Sampler {
            max_kib,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<'a> Meter<'a> {
    pub fn new(progress: &'a dyn Progress) -> Self {
        Meter {
            costs: Vec::new(),
            started: None,
            progress,
            sampler: Sampler::start(),
        }
    }

    /// Starts measuring `stage` (ending the stage before, if one runs).
    pub fn start(&mut self, stage: &str) {
        self.start_with(stage, None, Unit::Steps);
    }

    /// [`Meter::start`] for a stage whose amount of work is known.
    pub fn start_with(&mut self, stage: &str, total: Option<u64>, unit: Unit) {
        self.end();
        // The stage before freed its input: that memory goes back to the
        // system (on a thread of the binary's, while this stage starts:
        // the first milliseconds of its peak may still hold some of it).
        cohortflow_core::memory::release();
        if let Some(s) = &self.sampler {
            s.max_kib.store(rss_kib().unwrap_or(0), Ordering::Relaxed);
        }
        self.progress.start(stage, total, unit);
        self.started = Some((
            stage.to_string(),
            Instant::now(),
            cpu_seconds(),
            process_peak_kib(),
        ));
    }

    /// Ends the running stage, logs and keeps its cost.
    pub fn end(&mut self) {
        if let Some((stage, t0, cpu0, peak0)) = self.started.take() {
            self.progress.finish();
            // The sampled peak, or the process's peak if it rose during
            // the stage (a spike between two samples).
            let sampled = self.sampler.as_ref().map(|s| {
                let now = rss_kib().unwrap_or(0);
                s.max_kib.fetch_max(now, Ordering::Relaxed).max(now)
            });
            let peak_kib = match (sampled, peak0, process_peak_kib()) {
                (Some(s), Some(before), Some(after)) if after > before => Some(s.max(after)),
                (s, _, _) => s,
            };
            let cost = StageCost {
                wall_seconds: t0.elapsed().as_secs_f64(),
                // In ticks of 10 ms: rounded so 0.3 does not print as
                // 0.30000000000000004.
                cpu_seconds: cpu0
                    .zip(cpu_seconds())
                    .map(|(a, b)| ((b - a).max(0.0) * 100.0).round() / 100.0),
                peak_rss_mib: peak_kib.map(|k| k as f64 / 1024.0),
                stage,
            };
            tracing::info!(
                stage = %cost.stage,
                wall_s = format!("{:.3}", cost.wall_seconds),
                cpu_s = cost.cpu_seconds.map(|c| format!("{c:.2}")).unwrap_or_default(),
                peak_mib = cost.peak_rss_mib.map(|m| format!("{m:.0}")).unwrap_or_default(),
                "stage cost"
            );
            self.costs.push(cost);
        }
    }

    /// Every stage measured so far, in order.
    pub fn costs(&self) -> &[StageCost] {
        &self.costs
    }
}

/// User + system CPU seconds of this process (all threads).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3, so utime (14) and stime (15) are at 11, 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture cohortflow builds for.
    Some((utime + stime) / 100.0)
}

/// The resident size now, KiB (`/proc/self/statm`: pages).
fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

/// The process's peak resident size so far, KiB (`VmHWM`).
fn process_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_reports_its_own_peak_and_cpu() {
        let mut m = Meter::new(&crate::progress::Silent);
        m.start("big");
        let v = vec![1u8; 64 << 20];
        let sum: u64 = v.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, 64 << 8);
        drop(v);
        m.start("small");
        m.end();
        let c = m.costs();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].stage.as_str(), c[1].stage.as_str()), ("big", "small"));
        if let (Some(big), Some(small)) = (c[0].peak_rss_mib, c[1].peak_rss_mib) {
            assert!(big >= 64.0, "the 64 MiB buffer is in the first peak: {big}");
            assert!(
                small < big - 32.0,
                "the next stage forgot it: {small} vs {big}"
            );
        }
        assert!(c.iter().all(|s| s.wall_seconds >= 0.0));
        if cfg!(target_os = "linux") {
            assert!(c[0].cpu_seconds.is_some() && c[0].peak_rss_mib.is_some());
        }
    }
}
