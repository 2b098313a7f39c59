//! The crash lab's claims, proven over many seeds and configurations through the library.

use msgwork::sim::clock::{MAX_DRIFT_PPM, MAX_OFFSET_MS, Skew};
use msgwork::sim::crash::report::Report;
use msgwork::sim::crash::schedule::{CrashAt, CrashPlan, CrashPoint, NaiveOrder};
use msgwork::sim::crash::{self as sim, ClaimMode, SimOptions};
use msgwork::sim::progress::NoProgress;

fn run(options: &SimOptions) -> Report {
    sim::run(options, None, &NoProgress).unwrap_or_else(|e| panic!("seed {}: {e}", options.seed))
}

/// Runs `check` for every seed, spread over the machine's cores.
fn for_seeds(seeds: std::ops::Range<u64>, check: impl Fn(u64) + Sync) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let check = &check;
            let seeds = seeds.clone();
            scope.spawn(move || {
                for seed in seeds.filter(|s| s % workers == worker) {
                    check(seed);
                }
            });
        }
    });
}

#[test]
fn under_the_default_schedule_naive_loses_and_the_outbox_holds_for_200_seeds() {
    for_seeds(0..200, |seed| {
        let r = run(&SimOptions::new(seed));
        let (naive, outbox) = (&r.naive, &r.outbox);
        assert!(naive.lost_events >= 1, "seed {seed}: naive lost nothing");
        assert_eq!(
            outbox.lost_events, 0,
            "seed {seed}: outbox lost {:?}",
            outbox.lost_orders
        );
        assert_eq!(
            outbox.phantom_events, 0,
            "seed {seed}: phantoms {:?}",
            outbox.phantom_orders
        );
        assert_eq!(
            outbox.double_applied, 0,
            "seed {seed}: double {:?}",
            outbox.double_applied_orders
        );
        assert!(
            outbox.duplicate_deliveries >= 1,
            "seed {seed}: no redelivery happened"
        );
        assert_eq!(outbox.unexpired_overlaps, Some(0), "seed {seed}");
        assert_eq!(outbox.mischarged, 0, "seed {seed}");
        assert!(
            outbox.crashes > outbox.crashes_by_point.values().sum::<u64>(),
            "seed {seed}: no crash struck away from the named points"
        );
        // Every crash point struck: the verdict never rests on a lucky draw.
        for point in CrashPoint::ALL {
            assert!(
                outbox.crashes_by_point.get(&point) >= Some(&1),
                "seed {seed}: {point} never struck"
            );
            if point.applies_to(msgwork::sim::model::Pipeline::Naive) {
                assert!(
                    naive.crashes_by_point.get(&point) >= Some(&1),
                    "seed {seed}: naive {point}"
                );
            }
        }
        assert!(
            r.verdict.outbox_holds && r.verdict.naive_broken,
            "seed {seed}"
        );
    });
}

#[test]
fn without_claims_relays_overlap_and_the_inbox_still_prevents_double_charges() {
    for_seeds(0..24, |seed| {
        let mut options = SimOptions::new(seed);
        options.claim = ClaimMode::None;
        let r = run(&options);
        let overlaps = r.outbox.overlapping_claims.unwrap_or(0);
        assert!(overlaps > 0, "seed {seed}: no overlap without claims");
        assert!(r.outbox.events_republished > 0, "seed {seed}");
        assert_eq!(r.outbox.double_applied, 0, "seed {seed}");
        assert_eq!(r.outbox.lost_events, 0, "seed {seed}");
        // Overlap alone is not a broken outbox when the user asked for no claims.
        assert!(
            r.verdict.outbox_holds,
            "seed {seed}: {:?}",
            r.verdict.outbox_problems
        );
    });
}

#[test]
fn a_seed_replays_the_same_report_but_for_timings() {
    let strip = |r: &Report| {
        let mut v = serde_json::to_value(r).unwrap();
        v.as_object_mut().unwrap().remove("timings");
        v
    };
    let mut options = SimOptions::new(4242);
    options.orders = 400;
    assert_eq!(strip(&run(&options)), strip(&run(&options)));
    options.seed = 4243;
    assert_ne!(
        strip(&run(&options)),
        strip(&run(&SimOptions {
            seed: 4242,
            ..options.clone()
        }))
    );
}

#[test]
fn on_real_threads_the_invariants_hold() {
    for seed in 0..3 {
        let mut options = SimOptions::new(seed);
        options.orders = 300;
        options.threads = true;
        let r = run(&options);
        assert!(r.naive.lost_events >= 1, "seed {seed}");
        assert_eq!(
            r.outbox.lost_events, 0,
            "seed {seed}: lost {:?}",
            r.outbox.lost_orders
        );
        assert_eq!(r.outbox.phantom_events, 0, "seed {seed}");
        assert_eq!(r.outbox.double_applied, 0, "seed {seed}");
        assert_eq!(r.outbox.unexpired_overlaps, Some(0), "seed {seed}");
        assert!(
            r.outbox.committed_orders < 300,
            "seed {seed}: no order died"
        );
        // The actors' clocks are skewed on threads too; the wall clock times the leases.
        assert_eq!(r.clocks.len(), 6, "seed {seed}");
    }
}

#[test]
fn on_real_threads_a_restarted_relay_gives_back_what_its_dead_self_held() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SimOptions::new(5);
    options.orders = 200;
    options.threads = true;
    options.crash = CrashPlan::Exact {
        at: vec!["relay-after-claim:50".parse().unwrap()],
        rate: 0.0,
    };
    options.fault_rate = Some(0.0);
    // A lease no run of 200 orders outlasts: a row taken again before it ends was given back.
    options.lease_ms = Some(10_000);
    options.keep_dir = Some(dir.path().to_path_buf());
    let r = run(&options);
    assert_eq!(r.outbox.lost_events, 0);
    assert_eq!(r.outbox.double_applied, 0);
    assert_eq!(r.outbox.unexpired_overlaps, Some(0));
    let conn = rusqlite::Connection::open(dir.path().join("outbox-orders.db")).unwrap();
    let given_back: i64 = conn
        .query_row(
            "SELECT count(*) FROM claim_log a JOIN claim_log b
                ON b.row_id = a.row_id AND b.rowid > a.rowid
             WHERE b.prev_owner IS NULL AND b.claimed_at < a.lease_until",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        given_back > 0,
        "no row was claimed afresh inside a dead relay's lease"
    );
}

#[test]
fn on_real_threads_without_claims_the_inbox_absorbs_the_overlap() {
    let mut options = SimOptions::new(11);
    options.orders = 300;
    options.threads = true;
    options.claim = ClaimMode::None;
    let r = run(&options);
    assert_eq!(r.outbox.double_applied, 0);
    assert_eq!(r.outbox.lost_events, 0);
}

#[test]
fn one_precise_crash_loses_exactly_that_order_in_the_naive_run() {
    let mut options = SimOptions::new(1);
    options.orders = 50;
    options.naive_order = NaiveOrder::CommitFirst;
    options.crash = CrashPlan::Exact {
        at: vec!["service-after-commit:17".parse::<CrashAt>().unwrap()],
        rate: 0.0,
    };
    let r = run(&options);
    assert_eq!(r.naive.lost_orders, vec![17]);
    assert_eq!(r.naive.crashes, 1);
    assert_eq!(r.outbox.lost_events, 0);
    assert_eq!(r.outbox.committed_orders, 50);
}

#[test]
fn a_publish_first_crash_before_commit_is_a_phantom_the_naive_consumer_charges() {
    let mut options = SimOptions::new(2);
    options.orders = 20;
    options.naive_order = NaiveOrder::PublishFirst;
    options.crash = CrashPlan::Exact {
        at: vec!["service-before-commit:5".parse::<CrashAt>().unwrap()],
        rate: 0.0,
    };
    let r = run(&options);
    assert_eq!(r.naive.phantom_orders, vec![5]);
    assert_eq!(r.naive.committed_orders, 19);
    assert_eq!(r.naive.side_effects_applied, 20);
    assert_eq!(r.outbox.phantom_events, 0);
    assert_eq!(r.outbox.side_effects_applied, 19);
}

#[test]
fn a_relay_crash_after_publish_is_republished_and_deduped() {
    let mut options = SimOptions::new(3);
    options.orders = 40;
    options.crash = CrashPlan::Exact {
        at: vec!["relay-after-publish:12".parse::<CrashAt>().unwrap()],
        rate: 0.0,
    };
    let r = run(&options);
    assert!(r.outbox.events_republished >= 1);
    assert!(r.outbox.dedupe_skips >= 1);
    assert_eq!(r.outbox.double_applied, 0);
    assert_eq!(r.outbox.side_effects_applied, 40);
    // The naive run has no relay: the point never strikes there.
    assert_eq!(r.naive.crashes, 0);
}

#[test]
fn without_crashes_nothing_is_lost_anywhere() {
    let mut options = SimOptions::new(5);
    options.orders = 200;
    options.crash = CrashPlan::None;
    let r = run(&options);
    for p in [&r.naive, &r.outbox] {
        assert_eq!(
            (p.lost_events, p.phantom_events, p.double_applied, p.crashes),
            (0, 0, 0, 0)
        );
        assert_eq!(p.side_effects_applied, 200);
    }
    assert!(!r.verdict.naive_broken);
}

#[test]
fn a_lease_shorter_than_a_pass_lets_relays_overlap_at_a_cost_the_fence_and_inbox_contain() {
    let mut options = SimOptions::new(8);
    options.orders = 300;
    options.lease_ms = Some(1);
    let r = run(&options);
    assert!(r.outbox.overlapping_claims.unwrap_or(0) > 0);
    assert!(r.outbox.relay.as_ref().unwrap().fenced_marks > 0);
    assert_eq!(r.outbox.double_applied, 0);
    assert_eq!(r.outbox.lost_events, 0);
    // Every overlap took over an expired lease: a cost the inbox paid, not a broken claim.
    assert_eq!(r.outbox.unexpired_overlaps, Some(0));
    assert!(r.verdict.outbox_holds, "{:?}", r.verdict.outbox_problems);
}

#[test]
fn every_actor_reads_its_own_clock_and_the_database_times_the_leases() {
    let mut widest = 0;
    for seed in 0..8 {
        let mut options = SimOptions::new(seed);
        options.orders = 300;
        let r = run(&options);
        let names: Vec<&str> = r.clocks.iter().map(|c| c.actor.as_str()).collect();
        assert_eq!(
            names,
            [
                "service",
                "relay-1",
                "relay-2",
                "relay-3",
                "billing",
                "billing-2"
            ],
            "seed {seed}"
        );
        for clock in &r.clocks {
            assert!(
                clock.offset_ms.abs() <= MAX_OFFSET_MS,
                "seed {seed}: {clock:?}"
            );
            assert!(
                clock.drift_ppm.abs() <= MAX_DRIFT_PPM,
                "seed {seed}: {clock:?}"
            );
            let drawn = Skew::of(seed, &clock.actor);
            assert_eq!(
                (clock.offset_ms, clock.drift_ppm),
                (drawn.offset_ms, drawn.drift_ppm)
            );
        }
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["clocks"][1]["actor"], "relay-1", "seed {seed}");
        assert!(json["clocks"][1]["offset_ms"].is_i64() && json["clocks"][1]["drift_ppm"].is_i64());
        let relays: Vec<i64> = (r.clocks.iter())
            .filter(|c| c.actor.starts_with("relay"))
            .map(|c| c.offset_ms)
            .collect();
        widest = widest.max(relays.iter().max().unwrap() - relays.iter().min().unwrap());
        // However far apart the relays' clocks, no claim took a row whose lease still ran.
        assert_eq!(r.outbox.unexpired_overlaps, Some(0), "seed {seed}");
        assert!(
            r.verdict.outbox_holds,
            "seed {seed}: {:?}",
            r.verdict.outbox_problems
        );
    }
    assert!(
        widest > 1_000,
        "the relays' clocks were never further apart than a lease ({widest} ms)"
    );
}

#[test]
fn rows_carry_their_writers_clock_and_claims_the_databases() {
    // A seed whose service's clock runs more than a second ahead of the run's.
    let seed = (0..)
        .find(|s| Skew::of(*s, "service").offset_ms > 1_000)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = SimOptions::new(seed);
    options.orders = 100;
    options.crash = CrashPlan::None;
    options.keep_dir = Some(dir.path().to_path_buf());
    let r = run(&options);
    let service = r.clocks.iter().find(|c| c.actor == "service").unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("outbox-orders.db")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    // The run's clock starts at 0; the service's read its offset then, and it stamped by that.
    assert!(count("SELECT min(placed_at) FROM orders") >= service.offset_ms);
    // Every lease ends one lease after the database's clock says it was taken.
    assert!(count("SELECT count(*) FROM claim_log") >= 100);
    let mistimed = format!(
        "SELECT count(*) FROM claim_log WHERE lease_until != claimed_at + {}",
        r.lease_ms
    );
    assert_eq!(count(&mistimed), 0);
    // So by their stamps, rows seem claimed before they were written: two clocks, one ahead.
    assert!(
        count(
            "SELECT count(*) FROM outbox JOIN claim_log ON claim_log.row_id = outbox.id
              WHERE outbox.created_at > claim_log.claimed_at"
        ) > 0
    );
}

mod configurations {
    use super::*;
    use proptest::prelude::*;

    fn naive_order() -> impl Strategy<Value = NaiveOrder> {
        prop_oneof![
            Just(NaiveOrder::CommitFirst),
            Just(NaiveOrder::PublishFirst),
            Just(NaiveOrder::Alternate)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the shape of the run, the outbox loses nothing and applies nothing twice.
        #[test]
        fn the_outbox_holds_for_any_configuration(
            seed in any::<u64>(),
            orders in 1u32..250,
            relays in 1u32..6,
            batch in 1u32..25,
            consumer_batch in 1u32..8,
            rate in 0.0f64..0.3,
            faults in 0.0f64..0.02,
            naive in naive_order(),
        ) {
            let mut options = SimOptions::new(seed);
            options.orders = orders;
            options.relays = relays;
            options.batch = batch;
            options.consumer_batch = consumer_batch;
            options.naive_order = naive;
            options.crash = CrashPlan::Default { rate };
            options.fault_rate = Some(faults);
            let r = run(&options);
            prop_assert_eq!(r.outbox.lost_events, 0);
            prop_assert_eq!(r.outbox.phantom_events, 0);
            prop_assert_eq!(r.outbox.double_applied, 0);
            prop_assert_eq!(r.outbox.mischarged, 0);
            prop_assert_eq!(r.outbox.unexpired_overlaps, Some(0));
            prop_assert_eq!(r.outbox.side_effects_applied, r.outbox.committed_orders);
        }
    }
}
