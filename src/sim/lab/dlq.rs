//! `lab dlq`: retries with exponential backoff, a maximum number of attempts, and a dead-letter
//! queue, on a simulated clock. Every message ends applied or dead-lettered, and the counts prove it.

use std::collections::{BTreeMap, VecDeque};

use rand::{RngExt, SeedableRng};
use serde::Serialize;

/// Bumped when a key of the `--json` output changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// The lab's knobs.
#[derive(Clone, Debug, Serialize)]
pub struct DlqOptions {
    pub seed: u64,
    pub messages: u32,
    /// Delay before each retry, in simulated milliseconds: 1 s, 5 s, 30 s, 5 min by default.
    pub backoff_ms: Vec<u64>,
    /// Attempts in all, the first included, before a message is dead-lettered.
    pub max_attempts: u32,
    /// Share of messages that can never succeed (a payload the handler rejects).
    pub poison_rate: f64,
    /// Share of messages that fail a few times, then succeed (a dependency that was down).
    pub transient_rate: f64,
    /// Messages arriving per simulated second.
    pub rate_per_s: u32,
}

impl DlqOptions {
    pub fn new(seed: u64) -> Self {
        DlqOptions {
            seed,
            messages: 2000,
            backoff_ms: vec![1_000, 5_000, 30_000, 300_000],
            max_attempts: 5,
            poison_rate: 0.02,
            transient_rate: 0.10,
            rate_per_s: 50,
        }
    }
}

/// A message in the dead-letter queue, with why it is there.
#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    pub message: u32,
    pub attempts: u32,
    pub reason: String,
}

/// Queue depths at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct Depth {
    pub t_ms: u64,
    pub main: usize,
    pub retry: usize,
    pub dead: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct DlqReport {
    pub schema_version: u32,
    pub options: DlqOptions,
    pub applied: u64,
    pub applied_after_retry: u64,
    pub dead_lettered: u64,
    pub retries: u64,
    /// Applied plus dead-lettered equals messages: nothing vanished.
    pub lost: u64,
    /// Attempts per message that was retried and then applied, by attempt count.
    pub applied_at_attempt: BTreeMap<u32, u64>,
    pub dead_letters: Vec<DeadLetter>,
    pub max_retry_depth: usize,
    pub timeline: Vec<Depth>,
    pub finished_at_ms: u64,
}

/// How a message behaves when handled.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Ok,
    /// Fails this many times, then succeeds.
    Transient(u32),
    Poison,
}

pub fn run(o: &DlqOptions) -> DlqReport {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(o.seed ^ 0xd1_ea7e);
    let fates: Vec<Fate> = (0..o.messages)
        .map(|_| {
            let r: f64 = rng.random();
            if r < o.poison_rate {
                Fate::Poison
            } else if r < o.poison_rate + o.transient_rate {
                Fate::Transient(rng.random_range(1..=o.max_attempts + 1))
            } else {
                Fate::Ok
            }
        })
        .collect();
    let interval = 1000 / u64::from(o.rate_per_s.max(1));
    let handle_ms = (interval / 2).max(1);
    // (due time, message, attempts so far)
    let mut arrivals: VecDeque<(u64, u32)> = (0..o.messages)
        .map(|i| (u64::from(i) * interval, i))
        .collect();
    let mut main: VecDeque<(u32, u32)> = VecDeque::new();
    let mut retry: Vec<(u64, u32, u32)> = Vec::new();
    let mut report = DlqReport {
        schema_version: SCHEMA_VERSION,
        options: o.clone(),
        applied: 0,
        applied_after_retry: 0,
        dead_lettered: 0,
        retries: 0,
        lost: 0,
        applied_at_attempt: BTreeMap::new(),
        dead_letters: Vec::new(),
        max_retry_depth: 0,
        timeline: Vec::new(),
        finished_at_ms: 0,
    };
    let mut now = 0u64;
    let mut next_sample = 0u64;
    let sample_every = (u64::from(o.messages) * interval / 40).max(1000);
    loop {
        while arrivals.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, m)) = arrivals.pop_front() {
                main.push_back((m, 0));
            }
        }
        retry.sort_unstable_by_key(|(due, m, _)| (*due, *m));
        while retry.first().is_some_and(|(due, _, _)| *due <= now) {
            let (_, m, attempts) = retry.remove(0);
            main.push_back((m, attempts));
        }
        if now >= next_sample {
            report.timeline.push(Depth {
                t_ms: now,
                main: main.len(),
                retry: retry.len(),
                dead: report.dead_letters.len(),
            });
            next_sample = now + sample_every;
        }
        report.max_retry_depth = report.max_retry_depth.max(retry.len());
        let Some((m, attempts)) = main.pop_front() else {
            let next = [
                arrivals.front().map(|(t, _)| *t),
                retry.iter().map(|(due, _, _)| *due).min(),
            ];
            match next.into_iter().flatten().min() {
                Some(t) => {
                    now = t.max(now + 1);
                    continue;
                }
                None => break,
            }
        };
        let attempt = attempts + 1;
        let succeeds = match fates[m as usize] {
            Fate::Ok => true,
            Fate::Transient(failures) => attempt > failures,
            Fate::Poison => false,
        };
        now += handle_ms;
        if succeeds {
            report.applied += 1;
            if attempt > 1 {
                report.applied_after_retry += 1;
                *report.applied_at_attempt.entry(attempt).or_insert(0) += 1;
            }
        } else if attempt >= o.max_attempts {
            report.dead_lettered += 1;
            report.dead_letters.push(DeadLetter {
                message: m + 1,
                attempts: attempt,
                reason: match fates[m as usize] {
                    Fate::Poison => {
                        "rejected on every attempt: the payload itself is the problem".to_string()
                    }
                    _ => format!(
                        "still failing after {attempt} attempts: the dependency stayed down"
                    ),
                },
            });
        } else {
            report.retries += 1;
            let delay = o
                .backoff_ms
                .get((attempt - 1) as usize)
                .or(o.backoff_ms.last())
                .copied()
                .unwrap_or(1000);
            retry.push((now.saturating_add(delay), m, attempt));
        }
    }
    report.timeline.push(Depth {
        t_ms: now,
        main: main.len(),
        retry: retry.len(),
        dead: report.dead_letters.len(),
    });
    report.finished_at_ms = now;
    report.lost = u64::from(o.messages) - report.applied - report.dead_lettered;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_ends_applied_or_dead_lettered() {
        for seed in 0..30 {
            let r = run(&DlqOptions::new(seed));
            assert_eq!(r.lost, 0, "seed {seed}");
            assert_eq!(r.applied + r.dead_lettered, 2000);
            assert!(
                r.dead_lettered >= 1 && r.applied_after_retry >= 1,
                "seed {seed}"
            );
            for d in &r.dead_letters {
                assert_eq!(d.attempts, 5, "dead-lettered only after the last attempt");
            }
        }
    }

    #[test]
    fn poison_always_ends_in_the_dlq_and_more_attempts_rescue_more_transients() {
        let mut o = DlqOptions::new(4);
        o.poison_rate = 1.0;
        o.transient_rate = 0.0;
        o.messages = 50;
        let r = run(&o);
        assert_eq!((r.dead_lettered, r.applied), (50, 0));
        assert!(r.dead_letters.iter().all(|d| d.reason.contains("payload")));
        let mut few = DlqOptions::new(9);
        few.max_attempts = 2;
        let mut many = DlqOptions::new(9);
        many.max_attempts = 8;
        assert!(run(&many).dead_lettered < run(&few).dead_lettered);
    }

    #[test]
    fn backoff_spaces_the_retries_out() {
        let mut o = DlqOptions::new(1);
        o.messages = 1;
        o.poison_rate = 1.0;
        // One poison message: retried after 1 s, 5 s, 30 s and 5 min, then dead-lettered.
        let r = run(&o);
        assert!(
            r.finished_at_ms >= 1_000 + 5_000 + 30_000 + 300_000,
            "{}",
            r.finished_at_ms
        );
        assert_eq!(r.retries, 4);
    }
}
