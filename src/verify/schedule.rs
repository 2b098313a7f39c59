//! Where a verify run's kills and broker faults fall: drawn from the seed for each process and
//! each of its occurrences of a point, so the schedule does not depend on how the processes
//! happened to interleave, or written out by hand (`--schedule`) to replay a shrunk failure.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A point on the wire where something can be made to go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Point {
    /// Kill at a random instant while the process handles its k-th request.
    During,
    /// Kill after reading the process's k-th `publish`, before the broker answers it.
    Publish,
    /// Kill just after answering the k-th `publish` with `publish_ok`.
    Published,
    /// Kill after reading the consumer's k-th `ack`, before the broker records it.
    Ack,
    /// Kill just after the broker recorded the consumer's k-th `ack`.
    Acked,
    /// The broker loses the k-th `publish` and answers `publish_failed`.
    Lose,
    /// The broker stores the k-th `publish` but answers `publish_failed`.
    Timeout,
    /// The broker delivers the event of the consumer's k-th `ack` once more, later.
    Redeliver,
}

impl Point {
    pub const ALL: [Point; 8] = [
        Point::During,
        Point::Publish,
        Point::Published,
        Point::Ack,
        Point::Acked,
        Point::Lose,
        Point::Timeout,
        Point::Redeliver,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Point::During => "during",
            Point::Publish => "publish",
            Point::Published => "published",
            Point::Ack => "ack",
            Point::Acked => "acked",
            Point::Lose => "lose",
            Point::Timeout => "timeout",
            Point::Redeliver => "redeliver",
        }
    }

    /// Whether this point kills the process, rather than making the broker misbehave.
    pub fn kills(self) -> bool {
        matches!(
            self,
            Point::During | Point::Publish | Point::Published | Point::Ack | Point::Acked
        )
    }

    /// In words, for the report: what happens at the k-th occurrence.
    pub fn describe(self) -> &'static str {
        match self {
            Point::During => "killed at a random instant while it handled a request",
            Point::Publish => "killed after it sent a publish, before the broker answered",
            Point::Published => "killed just after the broker confirmed its publish",
            Point::Ack => "killed after it acked, before the broker recorded the ack",
            Point::Acked => "killed just after the broker recorded its ack",
            Point::Lose => "the broker lost a publish and answered publish_failed",
            Point::Timeout => "the broker stored a publish but answered publish_failed",
            Point::Redeliver => "the broker delivered an acknowledged event again",
        }
    }
}

/// Which points apply to which kind of node.
fn points_of(node: &str) -> &'static [Point] {
    if node == "service" {
        &[
            Point::During,
            Point::Publish,
            Point::Published,
            Point::Lose,
            Point::Timeout,
        ]
    } else if node == "consumer" {
        &[Point::During, Point::Ack, Point::Acked, Point::Redeliver]
    } else {
        &[
            Point::Publish,
            Point::Published,
            Point::Lose,
            Point::Timeout,
        ]
    }
}

/// One entry of a schedule: at `node`'s `k`-th occurrence of `point`, that point's fault. A kill
/// during a request lands `percent` of the node's usual answer time after the request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Strike {
    pub node: String,
    pub point: Point,
    pub k: u32,
    pub percent: u32,
}

impl fmt::Display for Strike {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.node, self.point.name(), self.k)?;
        if self.point == Point::During {
            write!(f, "@{}", self.percent)?;
        }
        Ok(())
    }
}

impl Serialize for Strike {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Strike {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let form = "each entry is NODE:POINT:K, e.g. `service:publish:3` or `consumer:during:5@40`";
        let parts: Vec<&str> = text.trim().split(':').collect();
        let [node, point, k] = parts[..] else {
            return Err(format!("`{text}`: {form}"));
        };
        let node_ok = node == "service"
            || node == "consumer"
            || node
                .strip_prefix("relay-")
                .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 1));
        if !node_ok {
            return Err(format!(
                "`{text}`: the node `{node}` is not service, consumer or relay-N"
            ));
        }
        let point = Point::ALL
            .into_iter()
            .find(|p| p.name() == point)
            .ok_or_else(|| {
                let names: Vec<&str> = Point::ALL.iter().map(|p| p.name()).collect();
                format!("`{text}`: `{point}` is not one of {}", names.join(", "))
            })?;
        if !points_of(node).contains(&point) {
            return Err(format!(
                "`{text}`: `{}` does not apply to {node}",
                point.name()
            ));
        }
        let (k, percent) = match k.split_once('@') {
            Some((k, pct)) if point == Point::During => (k, pct),
            Some(_) => return Err(format!("`{text}`: only `during` takes @PERCENT")),
            None => (k, "50"),
        };
        let k = k
            .parse::<u32>()
            .ok()
            .filter(|k| *k >= 1)
            .ok_or_else(|| format!("`{text}`: K must be a whole number from 1"))?;
        let percent = percent
            .parse::<u32>()
            .ok()
            .filter(|p| *p <= 1000)
            .ok_or_else(|| format!("`{text}`: @PERCENT must be a whole number up to 1000"))?;
        Ok(Strike {
            node: node.to_string(),
            point,
            k,
            percent,
        })
    }
}

/// Parses a comma-separated schedule.
pub fn parse_schedule(text: &str) -> Result<BTreeSet<Strike>, String> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// How often each kind of point strikes when the seed decides, in parts per ten thousand of
/// its occurrences; each (node, point) also strikes once early, so every seed exercises them all.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub kill: u32,
    pub broker: u32,
    pub redeliver: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            kill: 100,
            broker: 100,
            redeliver: 300,
        }
    }
}

/// Decides, for each occurrence, whether it strikes.
#[derive(Clone, Debug)]
pub enum Schedule {
    Seeded {
        seed: u64,
        rates: Rates,
        early: u32,
    },
    /// Exactly these strikes; the seed still decides everything else (holds, amounts, order).
    Given {
        seed: u64,
        strikes: BTreeSet<Strike>,
    },
}

impl Schedule {
    /// A schedule drawn from `seed`; the early strike of each point falls within the first
    /// `early` occurrences.
    pub fn seeded(seed: u64, rates: Rates, early: u32) -> Schedule {
        Schedule::Seeded {
            seed,
            rates,
            early: early.max(1),
        }
    }

    /// What strikes at `node`'s `k`-th occurrence of `point`, if anything.
    pub fn strike(&self, node: &str, point: Point, k: u32) -> Option<Strike> {
        match self {
            Schedule::Given { strikes, .. } => strikes
                .iter()
                .find(|s| s.node == node && s.point == point && s.k == k)
                .cloned(),
            Schedule::Seeded { seed, rates, early } => {
                if !points_of(node).contains(&point) {
                    return None;
                }
                let rate = match point {
                    Point::Lose | Point::Timeout => rates.broker,
                    Point::Redeliver => rates.redeliver,
                    _ => rates.kill,
                };
                if rate == 0 {
                    return None;
                }
                let first = 1 + (mix(*seed, node, point, 0) % u64::from(*early)) as u32;
                let draw = mix(*seed, node, point, k);
                if k == first || draw % 10_000 < u64::from(rate) {
                    Some(Strike {
                        node: node.to_string(),
                        point,
                        k,
                        percent: ((draw >> 20) % 150) as u32,
                    })
                } else {
                    None
                }
            }
        }
    }

    /// A draw in `0..n` for a decision keyed by `node`, `what` and `k`, fixed by the seed.
    pub fn draw(&self, node: &str, what: u64, k: u32, n: u64) -> u64 {
        let (Schedule::Seeded { seed, .. } | Schedule::Given { seed, .. }) = self;
        mix(
            seed ^ what.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            node,
            Point::During,
            k,
        ) % n.max(1)
    }
}

/// A well-mixed 64-bit value from the seed and the key (SplitMix64 over an FNV hash of the node).
fn mix(seed: u64, node: &str, point: Point, k: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in node.bytes().chain([point as u8]) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h ^ (u64::from(k) << 32).wrapping_add(u64::from(k));
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strikes_round_trip_through_text() {
        for text in [
            "service:publish:3",
            "consumer:during:5@40",
            "relay-12:timeout:1",
        ] {
            let strike: Strike = text.parse().unwrap();
            assert_eq!(strike.to_string(), text);
        }
        let set = parse_schedule("service:lose:2, consumer:acked:9,").unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn bad_strikes_say_what_is_wrong() {
        for (text, says) in [
            ("service:publish", "NODE:POINT:K"),
            ("broker:lose:1", "not service, consumer or relay-N"),
            ("relay-0:lose:1", "not service"),
            ("service:explode:1", "not one of"),
            ("consumer:publish:1", "does not apply to consumer"),
            ("service:publish:0", "from 1"),
            ("service:publish:2@5", "only `during`"),
        ] {
            let err = text.parse::<Strike>().unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn a_seed_strikes_every_point_early_and_the_same_way_twice() {
        let a = Schedule::seeded(7, Rates::default(), 10);
        let b = Schedule::seeded(7, Rates::default(), 10);
        for node in ["service", "relay-1", "consumer"] {
            for &point in points_of(node) {
                let early: Vec<u32> = (1..=10)
                    .filter(|&k| a.strike(node, point, k).is_some())
                    .collect();
                assert!(!early.is_empty(), "{node} {point:?}");
                let again: Vec<u32> = (1..=10)
                    .filter(|&k| b.strike(node, point, k).is_some())
                    .collect();
                assert_eq!(early, again);
            }
        }
        assert!(a.strike("consumer", Point::Publish, 1).is_none());
        let other = Schedule::seeded(8, Rates::default(), 10);
        let differs = (1..=200).any(|k| {
            a.strike("service", Point::Publish, k).is_some()
                != other.strike("service", Point::Publish, k).is_some()
        });
        assert!(differs);
    }

    #[test]
    fn the_rate_is_about_what_it_says() {
        let s = Schedule::seeded(3, Rates::default(), 1);
        let hits = (2..=20_001)
            .filter(|&k| s.strike("relay-2", Point::Published, k).is_some())
            .count();
        assert!((150..=250).contains(&hits), "{hits}");
    }
}
