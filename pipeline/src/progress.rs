//! Progress on long stages: indicatif bars when stderr is a terminal, nothing otherwise (the
//! stages then log a plain line when each step is done).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner with the step's name and elapsed time, for a step of unknown length.
pub fn spinner(message: String) -> Option<ProgressBar> {
    if !interactive() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// A byte counter towards `total`, e.g. inbox files being staged.
pub fn bytes(message: &str, total: u64) -> Option<ProgressBar> {
    if !interactive() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    Some(bar)
}
