//! `simulate --explain ORDER`: one order's life in a run, told from the run's own trace (commit,
//! publish, crash, redelivery, dedupe, charge), in plain sentences or as a list of steps.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

/// A trace writer that keeps a copy of the lines about one order, and passes every line on to
/// the `--trace` file when there is one. Only that order's lines are kept: a run of a million
/// orders writes gigabytes of trace.
pub(super) struct Captured {
    kept: Arc<Mutex<Vec<u8>>>,
    also: Option<Box<dyn Write + Send>>,
    /// The line being written, until its end arrives.
    line: Vec<u8>,
    /// How a line about the order names it, before the `,` or `}` that ends the field.
    about: Vec<u8>,
}

impl Captured {
    pub(super) fn new(
        also: Option<Box<dyn Write + Send>>,
        order: u32,
    ) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let kept = Arc::new(Mutex::new(Vec::new()));
        (
            Captured {
                kept: Arc::clone(&kept),
                also,
                line: Vec::new(),
                about: format!("\"order\":{order}").into_bytes(),
            },
            kept,
        )
    }

    /// Whether the whole `line` is about the order.
    fn is_about(&self, line: &[u8]) -> bool {
        line.windows(self.about.len() + 1)
            .any(|w| w.starts_with(&self.about) && matches!(w[self.about.len()], b',' | b'}'))
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.line.extend_from_slice(&rest[..=end]);
            rest = &rest[end + 1..];
            if self.is_about(&self.line) {
                self.kept
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend_from_slice(&self.line);
            }
            self.line.clear();
        }
        self.line.extend_from_slice(rest);
        if let Some(out) = self.also.as_mut() {
            out.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.also.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

/// One step of the order's life.
#[derive(Debug, Serialize)]
pub(super) struct Step {
    pub seq: u64,
    pub t_ms: u64,
    pub actor: String,
    pub step: String,
    /// The step in a sentence.
    pub says: String,
}

/// The order's life in one pipeline of the run.
#[derive(Debug, Serialize)]
pub(super) struct Life {
    /// `naive` or `outbox`.
    pub run: String,
    pub steps: Vec<Step>,
    pub committed: bool,
    pub charged: u64,
    /// How it ended, in a sentence.
    pub ending: String,
}

/// Each pipeline's account of `order`, read from the trace's JSON lines.
pub(super) fn lives(trace: &str, order: u32) -> Vec<Life> {
    let mut lives: Vec<Life> = Vec::new();
    for line in trace.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["order"].as_u64() != Some(u64::from(order)) {
            continue;
        }
        let run = v["run"].as_str().unwrap_or("run").to_string();
        let at = match lives.iter().position(|l| l.run == run) {
            Some(at) => at,
            None => {
                lives.push(Life {
                    run: run.clone(),
                    steps: Vec::new(),
                    committed: false,
                    charged: 0,
                    ending: String::new(),
                });
                lives.len() - 1
            }
        };
        let life = &mut lives[at];
        let actor = v["actor"].as_str().unwrap_or("someone").to_string();
        let step = v["step"].as_str().unwrap_or("").to_string();
        match step.as_str() {
            "commit" => life.committed = true,
            "apply" => life.charged += 1,
            _ => {}
        }
        let says = sentence(&actor, &step, &v, life.charged);
        life.steps.push(Step {
            seq: v["seq"].as_u64().unwrap_or(0),
            t_ms: v["t_ms"].as_u64().unwrap_or(0),
            actor,
            step,
            says,
        });
    }
    for life in &mut lives {
        life.ending = match (life.committed, life.charged) {
            (true, 0) => "Lost: the order was committed but billing never charged it.".to_string(),
            (true, 1) => "Charged exactly once.".to_string(),
            (true, n) => format!("Charged {n} times: the customer paid more than once."),
            (false, 0) => "Never committed, so there was nothing to charge.".to_string(),
            (false, n) => format!("Charged {n} times for an order that was never committed."),
        };
    }
    lives
}

/// One trace line as a sentence.
fn sentence(actor: &str, step: &str, v: &Value, charged: u64) -> String {
    let point = v["point"].as_str().unwrap_or("a crash point");
    match step {
        "commit" => format!("{actor} committed the order to its database."),
        "publish" if actor == "service" => {
            format!("{actor} published the order's event to the broker itself.")
        }
        "publish" => format!("{actor} published the order's event from the outbox."),
        "claim" => format!("{actor} claimed the order's outbox row."),
        "mark-sent" => format!("{actor} marked the outbox row sent."),
        "crash" => format!("{actor} crashed at {point}."),
        "restart" => format!("{actor} restarted."),
        "deliver" => format!("The broker delivered the event to {actor}."),
        "redeliver" => format!(
            "The broker delivered the event to {actor} again, since its first delivery was never acknowledged."
        ),
        "dedupe-skip" => format!(
            "{actor}'s inbox had seen this event already, so it skipped it instead of charging again."
        ),
        "apply" if charged > 1 => {
            format!("{actor} charged the order again: charge number {charged}.")
        }
        "apply" => format!("{actor} charged the order."),
        "ack" => format!("{actor} acknowledged the event."),
        "fault" => format!(
            "{actor} hit a fault: {}.",
            v["fault"].as_str().unwrap_or("unnamed")
        ),
        other => format!("{actor}: {other}."),
    }
}

/// The order's life as the terminal shows it.
pub(super) fn render(order: u32, lives: &[Life]) -> String {
    let mut out = String::new();
    for life in lives {
        let name = match life.run.as_str() {
            "naive" => "The naive dual write",
            "outbox" => "The outbox with an inbox",
            other => other,
        };
        out.push_str(&format!("{name}: order #{order}\n"));
        for step in &life.steps {
            out.push_str(&format!("  {:>6} ms  {}\n", step.t_ms, step.says));
        }
        out.push_str(&format!("  {}\n\n", life.ending));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"seq":0,"run":"naive","t_ms":1,"actor":"service","step":"commit","order":7}
{"seq":1,"run":"naive","t_ms":1,"actor":"service","step":"crash","order":7,"point":"service-after-commit"}
{"seq":2,"run":"naive","t_ms":2,"actor":"billing","step":"ack","count":1}
{"seq":3,"run":"outbox","t_ms":3,"actor":"service","step":"commit","order":7}
{"seq":4,"run":"outbox","t_ms":4,"actor":"relay-1","step":"publish","order":7,"event_id":"e"}
{"seq":5,"run":"outbox","t_ms":5,"actor":"billing","step":"apply","order":7,"event_id":"e"}
{"seq":6,"run":"outbox","t_ms":6,"actor":"billing","step":"redeliver","order":7,"event_id":"e"}
{"seq":7,"run":"outbox","t_ms":7,"actor":"billing","step":"dedupe-skip","order":7,"event_id":"e"}
{"seq":8,"run":"outbox","t_ms":8,"actor":"billing","step":"apply","order":8,"event_id":"f"}"#;

    #[test]
    fn the_capture_keeps_the_order_s_lines_whole_however_they_are_written() {
        let mut wanted = String::new();
        for line in TRACE.lines() {
            if lives(line, 7).first().is_some_and(|l| !l.steps.is_empty()) {
                wanted.push_str(line);
                wanted.push('\n');
            }
        }
        let text = format!("{TRACE}\n{{\"seq\":9,\"order\":77}}\n{{\"seq\":10,\"order\":7}}\n");
        wanted.push_str("{\"seq\":10,\"order\":7}\n");
        for piece in [1, 3, 64, text.len()] {
            let (mut captured, kept) = Captured::new(None, 7);
            for chunk in text.as_bytes().chunks(piece) {
                captured.write_all(chunk).unwrap();
            }
            let kept = String::from_utf8(kept.lock().unwrap().clone()).unwrap();
            assert_eq!(kept, wanted, "written {piece} bytes at a time");
        }
    }

    #[test]
    fn each_pipeline_tells_the_order_s_own_steps_and_how_it_ended() {
        let lives = lives(TRACE, 7);
        assert_eq!(lives.len(), 2);
        assert_eq!(lives[0].run, "naive");
        assert_eq!(lives[0].steps.len(), 2);
        assert!(lives[0].ending.starts_with("Lost"));
        assert!(
            lives[0].steps[1]
                .says
                .contains("crashed at service-after-commit")
        );
        assert_eq!(lives[1].charged, 1);
        assert_eq!(lives[1].steps.len(), 5, "order 8's charge is not order 7's");
        assert!(lives[1].steps[4].says.contains("skipped it"));
        assert_eq!(lives[1].ending, "Charged exactly once.");
    }
}
