//! The sentences under the crash lab's table. Each one is chosen by, and states, this run's
//! figures: a sentence whose condition did not happen is not said, and no cause is named that
//! did not occur.

use crate::sim::crash::ClaimMode;
use crate::sim::crash::power::Host;
use crate::sim::crash::report::{PipelineReport, Report};
use crate::sim::crash::schedule::{CrashPoint, NaiveOrder};
use crate::ui::{and_list, plural};

/// The database, as the report's sentences name it.
pub(super) fn database(report: &Report) -> &'static str {
    match report.backend {
        "postgres" => "PostgreSQL",
        _ => "SQLite",
    }
}

fn orders_list(orders: &[u32]) -> String {
    let shown: Vec<String> = orders.iter().take(6).map(|n| format!("#{n}")).collect();
    let more = orders.len().saturating_sub(6);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `once`, `twice`, `3 times`.
fn times(n: u64) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

/// Crashes that struck `run` at `point`.
fn at(run: &PipelineReport, point: CrashPoint) -> u64 {
    run.crashes_by_point.get(&point).copied().unwrap_or(0)
}

fn service_crashes(run: &PipelineReport) -> u64 {
    at(run, CrashPoint::ServiceBeforeCommit) + at(run, CrashPoint::ServiceAfterCommit)
}

fn consumer_crashes(run: &PipelineReport) -> u64 {
    at(run, CrashPoint::ConsumerBeforeCommit) + at(run, CrashPoint::ConsumerAfterCommit)
}

/// Faults of kind `kind` that struck `component` (`service`, `relay`, `consumer`) of `run`.
fn fault(run: &PipelineReport, component: &str, kind: &str) -> u64 {
    run.faults_by_component
        .get(component)
        .and_then(|kinds| kinds.get(kind))
        .copied()
        .unwrap_or(0)
}

/// Crashes anywhere (not at a named point) that struck `component` of `run`.
fn crashes_anywhere(run: &PipelineReport, component: &str) -> u64 {
    run.faults_by_component.get(component).map_or(0, |kinds| {
        kinds
            .iter()
            .filter(|(kind, _)| kind.starts_with("crash-"))
            .map(|(_, n)| n)
            .sum()
    })
}

/// The causes that fired this run: each one whose count is above zero, in order.
fn fired(parts: Vec<(u64, String)>) -> Vec<String> {
    parts
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(_, text)| text)
        .collect()
}

/// What the numbers of this run prove, one sentence a finding.
pub(super) fn explain(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    crashes(report, &mut lines);
    naive(report, &mut lines);
    outbox(report, &mut lines);
    lines.extend(super::power::explain(report));
    duplicates(report, &mut lines);
    dedupe(report, &mut lines);
    claims(report, &mut lines);
    clocks(report, &mut lines);
    faults(report, &mut lines);
    lines
}

/// How far the actors' clocks disagreed, and why that did not decide whose lease had run out.
fn clocks(report: &Report, lines: &mut Vec<String>) {
    let (Some(offset), Some(drift)) = (
        report
            .clocks
            .iter()
            .max_by_key(|c| c.offset_ms.unsigned_abs()),
        report
            .clocks
            .iter()
            .max_by_key(|c| c.drift_ppm.unsigned_abs()),
    ) else {
        return;
    };
    let relays: Vec<i64> = (report.clocks.iter())
        .filter(|c| c.actor.starts_with("relay"))
        .map(|c| c.offset_ms)
        .collect();
    let spread = relays
        .iter()
        .max()
        .zip(relays.iter().min())
        .map_or(0, |(hi, lo)| hi - lo);
    let fast = format!(
        "{:.1} % {}",
        drift.drift_ppm.unsigned_abs() as f64 / 10_000.0,
        if drift.drift_ppm < 0 { "slow" } else { "fast" },
    );
    let mut sentence = format!(
        "Each actor kept its own clock: {}'s ran {:.1} s {} the run's and {}",
        offset.actor,
        offset.offset_ms.unsigned_abs() as f64 / 1000.0,
        if offset.offset_ms < 0 {
            "behind"
        } else {
            "ahead of"
        },
        if drift.actor == offset.actor {
            fast
        } else {
            format!("{}'s ran {fast}", drift.actor)
        },
    );
    let lease = report.lease_ms;
    let apart = relays.len() > 1 && spread.unsigned_abs() > lease;
    if relays.len() > 1 {
        sentence.push_str(&format!(
            ", and the relays' clocks were up to {:.1} s apart, {} the {} lease",
            spread as f64 / 1000.0,
            if apart { "more than" } else { "within" },
            plural(lease, "ms", "ms"),
        ));
    }
    let verdict = "the database timed every lease by its own clock, so no relay took a row whose \
                   lease was still running.";
    match (report.claim, report.backend) {
        (ClaimMode::None, _) => {
            sentence.push_str(". Without claims there was no lease for a clock to misjudge.")
        }
        (_, "postgres") => sentence.push_str(
            ". It did not matter: PostgreSQL's claims are row locks, which no clock times.",
        ),
        _ if report.outbox.unexpired_overlaps.unwrap_or(0) > 0 => sentence.push('.'),
        _ if apart => sentence.push_str(&format!(". It did not matter: {verdict}")),
        _ => sentence.push_str(&format!(". Whatever they read, {verdict}")),
    }
    lines.push(sentence);
}

/// What struck beyond the named crash points, in both runs together.
fn faults(report: &Report, lines: &mut Vec<String>) {
    let runs = [&report.naive, &report.outbox];
    let total = |kind: &str| -> u64 {
        runs.iter()
            .map(|r| r.faults.get(kind).copied().unwrap_or(0))
            .sum()
    };
    let anywhere: u64 = runs
        .iter()
        .flat_map(|r| r.faults.iter())
        .filter(|(kind, _)| kind.starts_with("crash-"))
        .map(|(_, n)| n)
        .sum();
    let mut parts = Vec::new();
    if anywhere > 0 {
        parts.push(format!(
            "{} struck away from the named points, just before or after a statement, a publish \
             or an acknowledgement",
            plural(anywhere, "crash", "crashes")
        ));
    }
    let broker = [
        (
            "broker-publish-lost",
            "publish lost before the broker made it durable",
            "publishes lost before the broker made them durable",
        ),
        (
            "broker-publish-timeout",
            "publish stored but never acknowledged",
            "publishes stored but never acknowledged",
        ),
        (
            "broker-redeliver-acked",
            "acknowledged message delivered again",
            "acknowledged messages delivered again",
        ),
        (
            "broker-reorder",
            "batch handed out of order",
            "batches handed out of order",
        ),
        (
            "consumer-race",
            "fetch by a second consumer instance racing the first",
            "fetches by a second consumer instance racing the first",
        ),
    ];
    for (kind, one, many) in broker {
        let n = total(kind);
        if n > 0 {
            parts.push(plural(n, one, many));
        }
    }
    if !parts.is_empty() {
        lines.push(format!(
            "Faults anywhere: {}. `msgwork simulate --list-crash-points` describes each kind.",
            and_list(&parts)
        ));
    }
}

/// Whether anything crashed, and with process mode, what was killed.
fn crashes(report: &Report, lines: &mut Vec<String>) {
    let (naive, outbox) = (&report.naive, &report.outbox);
    let struck = naive.crashes + outbox.crashes;
    let lost_any =
        naive.lost_events + naive.phantom_events + outbox.lost_events + outbox.phantom_events > 0;
    if struck == 0 {
        let why = if !report.crash {
            "No crash was asked for".to_string()
        } else if !report.unplaced_crash_points.is_empty() {
            format!(
                "Crashes were asked for, but none struck: {} did not fit in {}",
                plural(
                    report.unplaced_crash_points.len() as u64,
                    "crash",
                    "crashes"
                ),
                plural(u64::from(report.orders), "order", "orders")
            )
        } else {
            "Crashes were asked for, but none struck".to_string()
        };
        let outcome = if lost_any {
            "and still an event went missing or appeared from nowhere (see below)"
        } else {
            "so both pipelines delivered every event this time. The dual write is still \
             broken: it loses an event whenever the service dies between its two writes, and \
             also, with nothing dying, whenever the publish after the commit fails or times out"
        };
        let advice = if report.crash {
            "Use more --orders or another --crash-at to make one strike."
        } else {
            "Run with --crash to make it die."
        };
        lines.push(format!("{why}, {outcome}. {advice}"));
    }
    let processes = [&naive.processes, &outbox.processes];
    if processes.iter().any(|p| p.is_some()) {
        let (spawned, killed) = processes
            .iter()
            .filter_map(|p| p.as_ref())
            .fold((0, 0), |(s, k), p| (s + p.spawned, k + p.killed));
        lines.push(if killed > 0 {
            format!(
                "The crashes were real: the order service and the relays ran as child processes of \
                 msgwork, and {killed} of the {spawned} started were killed with SIGKILL at a crash \
                 point; each new process found only what {} had committed. The billing consumer \
                 ran inside msgwork and crashed in-process.",
                database(report)
            )
        } else {
            format!(
                "The order service and the relays ran as {} of msgwork, but none was killed: no \
                 crash point of theirs struck this run.",
                plural(spawned, "child process", "child processes")
            )
        });
    }
}

/// The naive pipeline: the gap, or why it did not show this time.
fn naive(report: &Report, lines: &mut Vec<String>) {
    let naive = &report.naive;
    if naive.lost_events > 0 {
        let between = at(naive, CrashPoint::ServiceAfterCommit)
            + fault(naive, "service", "crash-after-commit")
            + fault(naive, "service", "crash-before-publish");
        let causes = fired(vec![
            (
                between,
                format!(
                    "the service died between COMMIT and publish {}",
                    times(between)
                ),
            ),
            (
                fault(naive, "service", "broker-publish-lost"),
                "the broker lost a publish the naive handler never retried".to_string(),
            ),
            (
                super::power::took_on(naive, Host::Consumer),
                "a power loss on the consumer's host took charges billing had already \
                 acknowledged"
                    .to_string(),
            ),
        ]);
        let cause = if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", and_list(&causes))
        };
        lines.push(format!(
            "The dual-write gap: the naive service committed {}, and billing never charged {} of \
             them{cause}: nothing remembered their events ({}).",
            plural(naive.committed_orders, "order", "orders"),
            naive.lost_events,
            orders_list(&naive.lost_orders)
        ));
    }
    let powered_off = super::power::took_on(naive, Host::Service);
    if naive.phantom_events > 0 && powered_off > 0 {
        let died = at(naive, CrashPoint::ServiceBeforeCommit)
            + fault(naive, "service", "crash-after-publish")
            + fault(naive, "service", "crash-before-commit");
        let causes = fired(vec![
            (
                died,
                "the handler that publishes first died before COMMIT".to_string(),
            ),
            (
                powered_off,
                "a power loss on the service's host took committed orders whose events were \
                 already out"
                    .to_string(),
            ),
        ]);
        lines.push(format!(
            "Phantoms: billing charged {} the naive service no longer has ({}): {}.",
            plural(naive.phantom_events, "order", "orders"),
            orders_list(&naive.phantom_orders),
            and_list(&causes)
        ));
    } else if naive.phantom_events > 0 {
        let died = at(naive, CrashPoint::ServiceBeforeCommit)
            + fault(naive, "service", "crash-after-publish")
            + fault(naive, "service", "crash-before-commit");
        let cause = if died > 0 {
            " then rolled back when it died before COMMIT"
        } else if fault(naive, "service", "broker-publish-timeout") > 0 {
            " rolled back when the broker's acknowledgement never came"
        } else {
            " never committed"
        };
        let (sent, whose) = if naive.phantom_events == 1 {
            ("1 event for an order", "a phantom")
        } else {
            ("", "phantoms")
        };
        let sent = if sent.is_empty() {
            format!("{} events for orders", naive.phantom_events)
        } else {
            sent.to_string()
        };
        lines.push(format!(
            "The other half of the gap: the handler that publishes first sent {sent} whose \
             transaction{cause}: {whose} billing charged for ({}).",
            orders_list(&naive.phantom_orders)
        ));
    }
    let nothing_struck = naive.crashes + report.outbox.crashes == 0;
    if naive.lost_events > 0 || naive.phantom_events > 0 || nothing_struck {
        return;
    }
    let (point, order) = match report.naive_order {
        NaiveOrder::PublishFirst => ("service-before-commit", "publishes first"),
        NaiveOrder::CommitFirst | NaiveOrder::Alternate => {
            ("service-after-commit", "commits first")
        }
    };
    let try_this = format!(
        "The gap is only there when a process dies between the two writes: try --crash-at \
         {point}:1 (order 1 {order})."
    );
    let service = service_crashes(naive);
    lines.push(if naive.crashes == 0 {
        format!("No crash struck the naive pipeline, so it lost and invented nothing. {try_this}")
    } else if service == 0 {
        let struck = if naive.crashes == 1 {
            "its one crash did not strike the order service".to_string()
        } else {
            format!(
                "none of its {} crashes struck the order service",
                naive.crashes
            )
        };
        format!("The naive dual write lost and invented nothing this run: {struck}. {try_this}")
    } else {
        format!(
            "The naive dual write lost and invented nothing this run: its order service crashed \
             {} but never between the two writes of an order. {try_this}",
            times(service)
        )
    });
}

/// The outbox's write: one transaction, tested or not.
fn outbox(report: &Report, lines: &mut Vec<String>) {
    let outbox = &report.outbox;
    if outbox.lost_events > 0 || outbox.phantom_events > 0 {
        let mut broken = Vec::new();
        if outbox.lost_events > 0 {
            broken.push(format!(
                "{} lost ({})",
                plural(outbox.lost_events, "event", "events"),
                orders_list(&outbox.lost_orders)
            ));
        }
        if outbox.phantom_events > 0 {
            broken.push(format!(
                "{} phantom ({})",
                plural(outbox.phantom_events, "event", "events"),
                orders_list(&outbox.phantom_orders)
            ));
        }
        let tail = if super::power::commits_lost(outbox) > 0 {
            "The power losses below took commits the pipeline had already acted on."
        } else {
            "msgwork's own outbox should never do this: please report it with the replay command \
             below."
        };
        lines.push(format!(
            "The outbox broke its promise: {}, judged from the orders the service committed \
             against the charges billing committed. {tail}",
            and_list(&broken)
        ));
        return;
    }
    let service = service_crashes(outbox) + crashes_anywhere(outbox, "service");
    if service > 0 {
        lines.push(format!(
            "One local transaction closes it: the outbox service wrote each order and its \
             OrderPlaced row in the same {} transaction, so {} kept both or neither, and every \
             committed order was charged: 0 lost, 0 phantom.",
            database(report),
            if service == 1 {
                "its one crash".to_string()
            } else {
                format!("each of its {service} crashes")
            }
        ));
    } else if outbox.crashes > 0 {
        lines.push(
            "No crash struck the outbox's order service, so its one-transaction write was not put \
             to the test this run; nothing was lost or invented."
                .to_string(),
        );
    }
}

/// Why billing saw some events more than once: republishing, and its own crashes.
fn duplicates(report: &Report, lines: &mut Vec<String>) {
    let outbox = &report.outbox;
    if outbox.duplicate_deliveries == 0 {
        return;
    }
    let mut causes = Vec::new();
    let after_publish = at(outbox, CrashPoint::RelayAfterPublish);
    if after_publish > 0 {
        causes.push(format!(
            "{} between publishing and marking the row sent",
            plural(after_publish, "relay crash", "relay crashes")
        ));
    }
    let mid_pass = crashes_anywhere(outbox, "relay");
    if mid_pass > 0 {
        causes.push(format!(
            "{} in the middle of a pass",
            plural(mid_pass, "relay crash", "relay crashes")
        ));
    }
    let unacknowledged = fault(outbox, "relay", "broker-publish-timeout");
    if unacknowledged > 0 {
        causes.push(format!(
            "{} the broker stored but never acknowledged, so the relay sent again",
            plural(unacknowledged, "publish", "publishes")
        ));
    }
    let overlaps = outbox.overlapping_claims.unwrap_or(0);
    if overlaps > 0 {
        causes.push(match report.claim {
            ClaimMode::None => format!(
                "{} of rows another relay still held",
                plural(overlaps, "claim", "claims")
            ),
            ClaimMode::Lease => format!(
                "{} of rows whose lease had run out while their holder was still at work",
                plural(overlaps, "claim", "claims")
            ),
        });
    }
    let republished = outbox.events_republished;
    let mut sentence = String::from("Delivery is at-least-once: ");
    if republished > 0 {
        sentence.push_str(&plural(
            republished,
            "event went out more than once",
            "events went out more than once",
        ));
        if !causes.is_empty() {
            sentence.push_str(&format!(" (because of {})", and_list(&causes)));
        }
        sentence.push_str(", and ");
    }
    sentence.push_str(&format!(
        "billing saw {}",
        plural(
            outbox.duplicate_deliveries,
            "duplicate delivery",
            "duplicate deliveries"
        )
    ));
    let consumer = consumer_crashes(outbox) + crashes_anywhere(outbox, "consumer");
    let again = fault(outbox, "consumer", "broker-redeliver-acked");
    let raced = fault(outbox, "consumer", "consumer-race");
    let why = fired(vec![
        (
            consumer,
            format!(
                "redeliveries after billing itself crashed before acknowledging ({})",
                times(consumer)
            ),
        ),
        (
            again,
            format!(
                "acknowledged messages the broker delivered again ({})",
                times(again)
            ),
        ),
        (
            raced,
            "fetches by a second consumer instance racing the first".to_string(),
        ),
    ]);
    if !why.is_empty() {
        sentence.push_str(&format!(
            ": {}{}",
            if republished > 0 {
                "besides those, "
            } else {
                ""
            },
            and_list(&why)
        ));
    }
    sentence.push('.');
    lines.push(sentence);
}

/// What the inbox did, against the naive consumer without one.
fn dedupe(report: &Report, lines: &mut Vec<String>) {
    let (naive, outbox) = (&report.naive, &report.outbox);
    if outbox.double_applied > 0 {
        lines.push(format!(
            "Billing's inbox failed: the charges table holds {} beyond the first ({}). msgwork's \
             own consumer should never do this: please report it with the replay command below.",
            plural(outbox.double_applied, "charge", "charges"),
            orders_list(&outbox.double_applied_orders)
        ));
    } else if outbox.dedupe_skips > 0 {
        lines.push(format!(
            "The consumer dedupes: billing recognised {} by event_id in its inbox, and the \
             charges table holds exactly one charge for every order it charged.",
            plural(outbox.dedupe_skips, "duplicate", "duplicates"),
        ));
    }
    if naive.double_applied > 0 {
        let after_commit =
            at(naive, CrashPoint::ConsumerAfterCommit) + crashes_anywhere(naive, "consumer");
        let why = fired(vec![
            (
                after_commit,
                "it crashed before acknowledging what it had charged, and the broker redelivered"
                    .to_string(),
            ),
            (
                fault(naive, "consumer", "broker-redeliver-acked"),
                "the broker delivered acknowledged messages again".to_string(),
            ),
            (
                fault(naive, "consumer", "consumer-race"),
                "a second consumer instance charged what the first had in hand".to_string(),
            ),
        ]);
        let cause = if why.is_empty() {
            String::new()
        } else {
            format!(": {}", why.join("; "))
        };
        lines.push(format!(
            "The naive consumer has no inbox and charged {} more than once ({}){cause}.",
            plural(naive.double_applied_orders.len() as u64, "order", "orders"),
            orders_list(&naive.double_applied_orders)
        ));
    } else if naive.duplicate_deliveries > 0 {
        let cause = if at(naive, CrashPoint::ConsumerBeforeCommit) > 0 {
            ": each followed a crash that had rolled the first charge back"
        } else {
            ""
        };
        lines.push(format!(
            "The naive consumer has no inbox, yet its {} charged nothing twice{cause}.",
            plural(
                naive.duplicate_deliveries,
                "duplicate delivery",
                "duplicate deliveries"
            ),
        ));
    }
}

/// Whether the relays kept out of each other's way, and why.
fn claims(report: &Report, lines: &mut Vec<String>) {
    let outbox = &report.outbox;
    let overlaps = outbox.overlapping_claims.unwrap_or(0);
    let relay = outbox.relay.as_ref();
    let passes = plural(relay.map_or(0, |r| r.passes), "pass", "passes");
    let relays = plural(u64::from(report.relays), "relay", "relays");
    let sentence = match (report.claim, overlaps) {
        (_, 0) if relay.is_none_or(|r| r.rows_claimed == 0) => format!(
            "The {relays} claimed no row this run{}",
            if outbox.committed_orders == 0 {
                ": no order was committed for them to publish."
            } else {
                "."
            }
        ),
        (_, 0) if report.relays == 1 => format!(
            "With one relay there was no other replica to overlap with ({passes}); run --relays 3 \
             to see {}.",
            match report.claim {
                ClaimMode::Lease => "the claim keep replicas apart",
                ClaimMode::None => "replicas without claims overlap",
            }
        ),
        (ClaimMode::Lease, 0) => format!(
            "Replicas claim disjoint batches: {relays} made {passes} with 0 overlapping claims, \
             because {}. Try --claim none to see what the claim prevents.",
            if report.backend == "postgres" {
                "each claim is a SELECT … FOR UPDATE SKIP LOCKED in the relay's own transaction: \
                 a row another relay has locked is skipped, not waited for, and a relay that dies \
                 releases its locks with its transaction"
            } else {
                "each claim is one UPDATE … RETURNING under BEGIN IMMEDIATE that leases the rows"
            }
        ),
        (ClaimMode::Lease, _) if report.backend == "postgres" => format!(
            "The claims did not keep the replicas apart: {relays} made {passes} with {}, although \
             SKIP LOCKED should have skipped every locked row.",
            plural(overlaps, "overlapping claim", "overlapping claims")
        ),
        (ClaimMode::Lease, _) if outbox.unexpired_overlaps.unwrap_or(0) > 0 => format!(
            "The claims did not keep the replicas apart: of {} across {passes} of {relays}, {} \
             took rows whose holder's lease was still running. No correct claim does that: two \
             relays owned one row at once.",
            plural(overlaps, "overlapping claim", "overlapping claims"),
            outbox.unexpired_overlaps.unwrap_or(0),
        ),
        (ClaimMode::Lease, _) => {
            let fenced = relay.map_or(0, |r| r.fenced_marks);
            let fence = if fenced > 0 {
                format!(
                    " The fence refused the late holders' marks on {}, but what they had \
                     published was already out.",
                    plural(fenced, "row", "rows")
                )
            } else {
                String::new()
            };
            format!(
                "Leases ran out under slow holders: {relays} made {passes} with {}, each taking \
                 over rows whose lease of {} had expired before their holder published and \
                 marked them. That is the lease's price, not a broken claim: the rows went out \
                 twice and billing's inbox absorbed the duplicates.{fence}",
                plural(overlaps, "claim of expired rows", "claims of expired rows"),
                plural(report.lease_ms, "ms", "ms"),
            )
        }
        (ClaimMode::None, 0) => format!(
            "Without claims, replicas may read the same unsent rows, but none did this run: \
             {relays} made {passes} with 0 overlapping claims. Try more --orders or --relays."
        ),
        (ClaimMode::None, _) => format!(
            "Without claims, replicas read the same unsent rows: {} across {passes} of {relays}, \
             rows another relay still held and had not marked sent.{}",
            plural(overlaps, "overlapping claim", "overlapping claims"),
            if outbox.double_applied == 0 {
                " Billing's inbox still charged each order once."
            } else {
                ""
            }
        ),
    };
    lines.push(sentence);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::crash::report::ActorClock;
    use crate::sim::crash::{self as sim, SimOptions};
    use crate::sim::progress::NoProgress;

    /// The clock sentence of a small run whose relays read `relays` offsets, as changed by `change`.
    fn said(relays: &[i64], change: impl FnOnce(&mut Report)) -> Option<String> {
        let mut options = SimOptions::new(3);
        options.orders = 20;
        let mut report = sim::run(&options, None, &NoProgress).unwrap();
        report.clocks = (relays.iter().enumerate())
            .map(|(i, &offset_ms)| ActorClock {
                actor: format!("relay-{}", i + 1),
                offset_ms,
                drift_ppm: 2_500,
            })
            .collect();
        change(&mut report);
        let mut lines = Vec::new();
        clocks(&report, &mut lines);
        lines.pop()
    }

    #[test]
    fn a_run_without_crashes_does_not_say_only_a_dying_process_breaks_the_dual_write() {
        let mut options = SimOptions::new(3);
        options.orders = 20;
        options.crash = crate::sim::crash::schedule::CrashPlan::None;
        let report = sim::run(&options, None, &NoProgress).unwrap();
        assert_eq!(report.naive.crashes + report.outbox.crashes, 0);
        let mut lines = Vec::new();
        crashes(&report, &mut lines);
        let said = lines.join(" ");
        assert!(said.starts_with("No crash was asked for"), "{said}");
        assert!(!said.contains("only fails"), "{said}");
        assert!(
            said.contains("whenever the publish after the commit fails or times out"),
            "{said}"
        );
    }

    #[test]
    fn the_clock_sentence_says_what_the_skew_was_and_why_it_did_or_did_not_matter() {
        let apart = said(&[-900, 1_100], |r| r.clocks[0].drift_ppm = -9_000).unwrap();
        assert!(
            apart.contains("relay-2's ran 1.1 s ahead of the run's and relay-1's ran 0.9 % slow"),
            "{apart}"
        );
        assert!(
            apart.contains("up to 2.0 s apart, more than the 1000 ms lease. It did not matter: the database timed"),
            "{apart}"
        );
        // One actor with the widest offset and the widest drift is named once.
        let within = said(&[-300, 200], |r| r.clocks[0].drift_ppm = 5_000).unwrap();
        assert!(
            within.contains("relay-1's ran 0.3 s behind the run's and 0.5 % fast, and"),
            "{within}"
        );
        assert!(
            within.contains(
                "0.5 s apart, within the 1000 ms lease. Whatever they read, the database"
            ),
            "{within}"
        );
        let none = said(&[0, 1_500], |r| r.claim = ClaimMode::None).unwrap();
        assert!(
            none.ends_with("Without claims there was no lease for a clock to misjudge."),
            "{none}"
        );
        let locks = said(&[0, 1_500], |r| r.backend = "postgres").unwrap();
        assert!(
            locks.ends_with("row locks, which no clock times."),
            "{locks}"
        );
        let broken = said(&[0, 1_500], |r| r.outbox.unexpired_overlaps = Some(3)).unwrap();
        assert!(
            broken.ends_with("the 1000 ms lease.") && !broken.contains("matter"),
            "{broken}"
        );
        assert_eq!(said(&[], |_| {}), None, "no clocks, no sentence");
    }
}
