//! The checker as a whole: any input gets a report, quickly and without panicking, and the report
//! serializes as the JSON the CLI prints.

use std::time::{Duration, Instant};

use super::check::check;
use super::testkit::{GOOD, NO_INBOX};

#[test]
fn report_serializes_with_lowercase_statuses() {
    let r = check(NO_INBOX);
    let json = match serde_json::to_value(&r) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let statuses: Vec<&str> = json["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["status"].as_str()).collect())
        .unwrap_or_default();
    assert!(statuses.contains(&"missing") && statuses.contains(&"ok"));
}

/// A small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pieces = [
        "CREATE",
        "TABLE",
        "outbox",
        "(",
        ")",
        ",",
        ";",
        "'",
        "\"",
        "$$",
        "$q$",
        "--",
        "/*",
        "*/",
        "\n",
        " ",
        "BEGIN",
        "COMMIT",
        "END",
        "INSERT INTO",
        "UPDATE",
        "SET",
        "=",
        "SELECT",
        "FROM",
        "WHERE",
        "FOR UPDATE SKIP LOCKED",
        "$1",
        "?",
        ":x",
        "::jsonb",
        "TRIGGER",
        "ATOMIC",
        "CASE",
        "é",
        "🙂",
        "\0",
        "\\",
        "e'",
        "ATTACH",
        "VACUUM",
        "generated always as identity",
        "interval",
        "now()",
        "x.y.",
        "[",
        "]",
        "#",
        "//",
    ];
    for round in 0..400 {
        let mut s = String::new();
        if round % 4 == 0 {
            let bytes: Vec<u8> = (0..rng.below(400))
                .map(|_| (rng.next() & 0xff) as u8)
                .collect();
            s = String::from_utf8_lossy(&bytes).into_owned();
        } else {
            for _ in 0..rng.below(120) {
                s.push_str(pieces[rng.below(pieces.len())]);
                if rng.below(3) == 0 {
                    s.push(' ');
                }
            }
        }
        let r = check(&s);
        assert_eq!(r.items.len(), 14);
        // Mutations of a real sketch.
        let cut = rng.below(GOOD.len());
        let mut mutated = String::new();
        mutated.push_str(GOOD.get(..cut).unwrap_or(""));
        mutated.push_str(pieces[rng.below(pieces.len())]);
        mutated.push_str(GOOD.get(cut..).unwrap_or(""));
        let _ = check(&mutated);
    }
}

#[test]
fn huge_inputs_never_panic_and_stay_bounded() {
    let started = Instant::now();
    let nested = format!("SELECT {}1{};", "(".repeat(50_000), ")".repeat(50_000));
    let r = check(&nested);
    assert!(!r.parse_problems.is_empty());
    let many = "INSERT INTO outbox (event_id) VALUES (1);\n".repeat(30_000);
    let _ = check(&many);
    let unterminated = format!("SELECT '{}", "x".repeat(2_000_000));
    let r = check(&unterminated);
    assert!(r.parse_problems.iter().any(|p| p.message.contains("KiB")));
    let pseudo = "for each row publish it\n".repeat(40_000);
    let _ = check(&pseudo);
    let _ = check(&";".repeat(1_000_000));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn checking_good_sql_is_fast() {
    let _ = check(GOOD);
    let started = Instant::now();
    let r = check(GOOD);
    let took = started.elapsed();
    assert!(r.passed);
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn long_relays_consumers_and_prose_stay_bounded() {
    // Each shape once cost time quadratic in the number of statements or comments.
    let started = Instant::now();
    for block in [
        "BEGIN;\nSELECT * FROM outbox ORDER BY created_at LIMIT 5 FOR UPDATE SKIP LOCKED;\n\
         DELETE FROM outbox WHERE id = 1;\n-- then publish it\nCOMMIT;\n",
        "UPDATE outbox SET published_at = now() WHERE id = 1;\n-- publish(row)\n",
        "BEGIN;\nINSERT INTO bookings (id) VALUES (1);\nINSERT INTO outbox (event_id) VALUES (1);\n\
         COMMIT;\nSELECT * FROM outbox FOR UPDATE SKIP LOCKED;\n-- publish\n\
         UPDATE outbox SET published_at = now() WHERE id = 1;\nCREATE TABLE t (x int);\n\
         INSERT INTO processed_events (event_id) VALUES (1);\n-- ack\n",
        "-- delete the row, then publish it; after the ack mark it sent\n",
    ] {
        let sql = format!("{GOOD}\n{}", block.repeat(900_000 / block.len()));
        let r = check(&sql);
        assert_eq!(r.items.len(), 14);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
