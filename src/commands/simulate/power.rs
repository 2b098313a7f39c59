//! The crash lab's sentences about power loss: what each run's power losses took, and what
//! `synchronous` bought, computed from the losses the report lists and the tables' counts.

use crate::sim::crash::power::{Host, PowerLoss};
use crate::sim::crash::report::{PipelineReport, Report};
use crate::sim::storage::sqlite::sql::Durability;
use crate::ui::{and_list, plural};

/// The pragma as the sentences name it.
fn pragma(durability: Durability) -> &'static str {
    match durability {
        Durability::Off => "synchronous=OFF",
        Durability::Normal => "synchronous=NORMAL",
        Durability::Full => "synchronous=FULL",
    }
}

/// Committed transactions the power losses of `run` took.
pub(super) fn commits_lost(run: &PipelineReport) -> u64 {
    run.power_losses.iter().map(|l| l.commits_lost).sum()
}

/// Committed transactions the power losses of `run` took on `host`.
pub(super) fn took_on(run: &PipelineReport, host: Host) -> u64 {
    run.power_losses
        .iter()
        .filter(|l| l.host == host)
        .map(|l| l.commits_lost)
        .sum()
}

fn host_name(host: Host) -> &'static str {
    match host {
        Host::Service => "the service's host",
        Host::Consumer => "the consumer's host",
    }
}

/// `2 power losses on the service's host took 5 committed transactions`, one part per host hit.
fn per_host(losses: &[PowerLoss]) -> Vec<String> {
    Host::ALL
        .into_iter()
        .filter_map(|host| {
            let on: Vec<&PowerLoss> = losses.iter().filter(|l| l.host == host).collect();
            if on.is_empty() {
                return None;
            }
            let took: u64 = on.iter().map(|l| l.commits_lost).sum();
            Some(format!(
                "{} on {} took {}",
                plural(on.len() as u64, "power loss", "power losses"),
                host_name(host),
                match took {
                    0 => "no committed transaction".to_string(),
                    n => plural(n, "committed transaction", "committed transactions"),
                }
            ))
        })
        .collect()
}

/// What synchronous bought, or failed to buy, in each run that lost power.
pub(super) fn explain(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(durability) = report.synchronous.filter(|_| report.power_loss) else {
        return lines;
    };
    let runs = [("naive", &report.naive), ("outbox", &report.outbox)];
    if runs.iter().all(|(_, run)| run.power_losses.is_empty()) {
        lines.push(format!(
            "No power loss struck this run ({} was not put to the test): each is drawn between \
             two steps, at most a few a run. Try another --seed or more --orders.",
            pragma(durability)
        ));
        return lines;
    }
    for (name, run) in runs {
        if run.power_losses.is_empty() {
            continue;
        }
        let took = commits_lost(run);
        let why = match (durability, took) {
            (Durability::Full, _) => format!(
                "{} syncs the log before a commit returns, so everything acknowledged was already \
                 on the disk",
                pragma(durability)
            ),
            (_, 0) => format!(
                "the disk happened to have every commit this time, which {} does not promise",
                pragma(durability)
            ),
            (Durability::Normal, _) => format!(
                "{} syncs the log only at checkpoints, and none ran, so those commits had been \
                 acknowledged before they reached the disk",
                pragma(durability)
            ),
            (Durability::Off, _) => format!(
                "{} acknowledged them before they reached the disk",
                pragma(durability)
            ),
        };
        lines.push(format!(
            "Power loss in the {name} run: {}: {why}.",
            and_list(&per_host(&run.power_losses))
        ));
    }
    consequences(report, &mut lines);
    lines
}

/// What the outbox run's lost commits did downstream, from the tables' counts.
fn consequences(report: &Report, lines: &mut Vec<String>) {
    let outbox = &report.outbox;
    let took = |host| took_on(outbox, host);
    let mut parts = Vec::new();
    let vanished = outbox.acknowledged_lost.unwrap_or(0);
    if vanished > 0 && took(Host::Service) > 0 {
        parts.push(format!(
            "the client holds acknowledgements for {} the orders table no longer has",
            plural(vanished, "order", "orders")
        ));
        if outbox.phantom_events > 0 {
            parts.push(format!(
                "billing charged {} that no longer exist: the relays had published their events \
                 before the power loss took them",
                plural(outbox.phantom_events, "order", "orders")
            ));
        }
    }
    if outbox.lost_events > 0 && took(Host::Consumer) > 0 {
        parts.push(format!(
            "{} went uncharged: billing's charge and inbox row vanished after it had acknowledged \
             the broker, which does not deliver an acknowledged message again",
            plural(outbox.lost_events, "committed order", "committed orders")
        ));
    }
    if !parts.is_empty() {
        lines.push(format!(
            "The outbox cannot keep a promise the disk broke: {}.",
            and_list(&parts)
        ));
    }
}
