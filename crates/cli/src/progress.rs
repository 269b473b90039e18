//! The progress bar of `cohortflow run` on a terminal (indicatif).
//!
//! A stage gets a bar only when it has run for a second: short stages and
//! small studies show nothing but the log. Ingest counts the bytes of the
//! exports as they are read (a CSV export a piece of 8 MiB at a time, a
//! file of another format once it is read), the analysis its independent
//! parts done (Table 1's rows, each endpoint's comparison and models, the
//! time-varying model, the landmark, the emulation); the other stages show
//! their name and elapsed time. When
//! standard error is not a terminal nothing is drawn at all, and the log
//! stays plain text. Log lines written while a bar is shown are printed
//! above it ([`LogWriter`]), not through it.

use cohortflow_pipeline::{Progress, Unit};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a stage runs before its bar appears.
const DELAY: Duration = Duration::from_secs(1);

/// The bar of the running stage, shared with the log writer.
static CURRENT: Mutex<Option<Shown>> = Mutex::new(None);

struct Shown {
    bar: ProgressBar,
    started: Instant,
    visible: bool,
}

/// Draws the stages of a run on standard error, when it is a terminal.
pub struct TerminalProgress {
    ticker: Option<std::thread::JoinHandle<()>>,
    stop: Arc<Mutex<bool>>,
}

impl TerminalProgress {
    /// `None` when standard error is not a terminal.
    pub fn new() -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let stop = Arc::new(Mutex::new(false));
        let stopped = Arc::clone(&stop);
        // Shows a stage's bar once it has run for DELAY, and redraws it.
        let ticker = std::thread::spawn(move || {
            while !*stopped.lock().expect("not poisoned") {
                if let Some(s) = CURRENT.lock().expect("not poisoned").as_mut() {
                    if !s.visible && s.started.elapsed() >= DELAY {
                        s.bar.set_draw_target(ProgressDrawTarget::stderr());
                        s.visible = true;
                    }
                    if s.visible {
                        s.bar.tick();
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Some(TerminalProgress {
            ticker: Some(ticker),
            stop,
        })
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        self.finish();
        *self.stop.lock().expect("not poisoned") = true;
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

impl Progress for TerminalProgress {
    fn start(&self, stage: &str, total: Option<u64>, unit: Unit) {
        self.finish();
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        };
        let template = match (total, unit) {
            (Some(_), Unit::Bytes) => {
                "{prefix:>8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {elapsed}"
            }
            (Some(_), Unit::Steps) => "{prefix:>8} [{bar:30}] {pos}/{len} {elapsed}",
            (None, _) => "{prefix:>8} {spinner} {elapsed}",
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("the templates are valid")
                .progress_chars("=> "),
        );
        bar.set_prefix(stage.to_string());
        *CURRENT.lock().expect("not poisoned") = Some(Shown {
            bar,
            started: Instant::now(),
            visible: false,
        });
    }

    fn advance(&self, done: u64) {
        if let Some(s) = CURRENT.lock().expect("not poisoned").as_ref() {
            s.bar.inc(done);
        }
    }

    fn finish(&self) {
        if let Some(s) = CURRENT.lock().expect("not poisoned").take() {
            s.bar.finish_and_clear();
        }
    }
}

/// The log's writer: standard error, above the bar when one is shown.
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let current = CURRENT.lock().expect("not poisoned");
        match current.as_ref().filter(|s| s.visible) {
            Some(s) => s.bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
