//! What each stage of a run cost: wall time, CPU time (all threads) and the
//! peak resident memory of the process during the stage.
//!
//! Read from Linux's `/proc/self` (no dependency): CPU time from
//! `/proc/self/stat` (user + system, in the kernel's 100 Hz ticks, so 10 ms
//! resolution), the peak from `VmHWM` in `/proc/self/status`, reset at the
//! start of each stage by writing `5` to `/proc/self/clear_refs` so that each
//! stage reports its own peak, not the run's so far. Where `/proc` is
//! missing or refuses (another system, a sandbox) the CPU time and peak are
//! `None` and the wall time is still measured.
//!
//! The figures go to the log (one `info` line per stage) and to
//! `manifest.json`'s `stages`: they describe the machine and its load, not
//! the data, so they are the one part of the manifest besides `created`
//! that differs between reruns.

use crate::progress::{Progress, Unit};
use serde::Serialize;
use std::time::Instant;

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
    started: Option<(String, Instant, Option<f64>)>,
    progress: &'a dyn Progress,
}

impl<'a> Meter<'a> {
    pub fn new(progress: &'a dyn Progress) -> Self {
        Meter {
            costs: Vec::new(),
            started: None,
            progress,
        }
    }

    /// Starts measuring `stage` (ending the stage before, if one runs).
    pub fn start(&mut self, stage: &str) {
        self.start_with(stage, None, Unit::Steps);
    }

    /// [`Meter::start`] for a stage whose amount of work is known.
    pub fn start_with(&mut self, stage: &str, total: Option<u64>, unit: Unit) {
        self.end();
        reset_peak();
        self.progress.start(stage, total, unit);
        self.started = Some((stage.to_string(), Instant::now(), cpu_seconds()));
    }

    /// `done` more units of the running stage's work are done.
    pub fn advance(&self, done: u64) {
        self.progress.advance(done);
    }

    /// Ends the running stage, logs and keeps its cost.
    pub fn end(&mut self) {
        if let Some((stage, t0, cpu0)) = self.started.take() {
            self.progress.finish();
            let cost = StageCost {
                wall_seconds: t0.elapsed().as_secs_f64(),
                // In ticks of 10 ms: rounded so 0.3 does not print as
                // 0.30000000000000004.
                cpu_seconds: cpu0
                    .zip(cpu_seconds())
                    .map(|(a, b)| ((b - a).max(0.0) * 100.0).round() / 100.0),
                peak_rss_mib: peak_rss_mib(),
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

/// The peak resident set since the last reset, MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak resident set to the current one (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_reports_its_own_peak_and_cpu() {
        let mut m = Meter::new(&crate::progress::Silent);
        m.start("big");
        let v = vec![1u8; 64 << 20];
        let mut sum = 0u64;
        for _ in 0..4 {
            sum = v.iter().fold(sum, |s, &b| s.wrapping_add(u64::from(b)));
        }
        assert!(sum > 0);
        drop(v);
        m.start("small");
        m.end();
        let c = m.costs();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].stage.as_str(), c[1].stage.as_str()), ("big", "small"));
        if let (Some(big), Some(small)) = (c[0].peak_rss_mib, c[1].peak_rss_mib) {
            assert!(big >= 64.0, "the 64 MiB buffer is in the first peak: {big}");
            assert!(small < big - 32.0, "the reset forgot it: {small} vs {big}");
        }
        assert!(c.iter().all(|s| s.wall_seconds >= 0.0));
        if cfg!(target_os = "linux") {
            assert!(c[0].cpu_seconds.is_some() && c[0].peak_rss_mib.is_some());
        }
    }
}
