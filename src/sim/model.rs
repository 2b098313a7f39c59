//! The lab's domain: orders, the `OrderPlaced` envelope, and the deterministic values both runs share.

use serde::{Deserialize, Serialize};

/// The event type every order produces.
pub const ORDER_PLACED: &str = "OrderPlaced";
/// The schema version of the `OrderPlaced` payload.
pub const ORDER_PLACED_VERSION: u32 = 1;

/// One of the two pipelines the lab runs side by side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pipeline {
    /// Commit the order, then publish to the broker: the dual write.
    Naive,
    /// Order and outbox row in one transaction; relays publish; an inbox dedupes.
    Outbox,
}

impl Pipeline {
    pub fn name(self) -> &'static str {
        match self {
            Pipeline::Naive => "naive",
            Pipeline::Outbox => "outbox",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Pipeline::Naive => 0x6e61_6976_6500_0000,
            Pipeline::Outbox => 0x6f75_7462_6f78_0000,
        }
    }
}

/// An order request from the load generator. Both runs see the same orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The order number, 1..=N, in the order the client sends them.
    pub number: u32,
    pub customer_id: String,
    pub amount_cents: i64,
}

impl Order {
    /// The order with this number for this seed: same seed, same order.
    pub fn generate(seed: u64, number: u32) -> Order {
        let h = mix(seed ^ mix(u64::from(number)));
        Order {
            number,
            customer_id: format!("cus_{:04}", (h >> 32) % 5000),
            amount_cents: 500 + (h % 49_500) as i64,
        }
    }

    /// The order's public id, which is also the event's aggregate id.
    pub fn reference(&self) -> String {
        order_ref(self.number)
    }
}

/// The public id of order `number`: `ord_000017`.
pub fn order_ref(number: u32) -> String {
    format!("ord_{number:06}")
}

/// The order number inside an order reference, if it is one.
pub fn parse_order_ref(reference: &str) -> Option<u32> {
    reference.strip_prefix("ord_")?.parse().ok()
}

/// The event envelope on the wire: metadata for dedupe, tracing and schema evolution, plus the payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_id: String,
    pub occurred_at: String,
    pub version: u32,
    /// The payload as JSON text, exactly as stored in the outbox.
    pub payload: String,
}

/// What billing needs from an `OrderPlaced` payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct OrderPlacedPayload {
    pub order_id: String,
    pub customer_id: String,
    pub amount_cents: i64,
}

impl Envelope {
    /// The `OrderPlaced` event for `order`, as `pipeline` would emit it at simulated time `at_ms`.
    pub fn order_placed(seed: u64, pipeline: Pipeline, order: &Order, at_ms: u64) -> Envelope {
        let payload = OrderPlacedPayload {
            order_id: order.reference(),
            customer_id: order.customer_id.clone(),
            amount_cents: order.amount_cents,
        };
        Envelope {
            event_id: event_id(seed ^ pipeline.salt(), order.number, at_ms),
            event_type: ORDER_PLACED.to_string(),
            aggregate_id: order.reference(),
            occurred_at: timestamp(at_ms),
            version: ORDER_PLACED_VERSION,
            // A struct of strings and integers always serialises.
            payload: serde_json::to_string(&payload).unwrap_or_default(),
        }
    }

    /// The order number this event is about, when its aggregate is an order.
    pub fn order_number(&self) -> Option<u32> {
        parse_order_ref(&self.aggregate_id)
    }
}

/// A UUIDv7-layout event id: the event's millisecond timestamp first, then the order number as a
/// counter, then bits derived from the seed. Time-ordered ids append to the outbox's and the inbox's
/// unique indexes instead of landing on random pages, and a replay produces the same ids.
fn event_id(stream: u64, number: u32, at_ms: u64) -> String {
    let unix_ms = (EPOCH_DAYS as u64 * 86_400_000 + EPOCH_MS_OF_DAY + at_ms) & 0xffff_ffff_ffff;
    let n = u64::from(number);
    let hi = (unix_ms << 16) | 0x7000 | ((n >> 20) & 0x0fff);
    let noise = mix(stream ^ mix(n));
    let lo = 0x8000_0000_0000_0000 | ((n & 0xf_ffff) << 42) | (noise & 0x3ff_ffff_ffff);
    uuid_text(hi, lo)
}

/// The order number and simulated time of an event id that is exactly what `pipeline` makes for
/// that order at that time under `seed`; none for any other id. Lets a checker remember an id in
/// a few bytes and know it stands for no other string.
pub fn order_event_parts(seed: u64, pipeline: Pipeline, id: &str) -> Option<(u32, u64)> {
    let hex: String = id.split('-').collect();
    if id.len() != 36 || hex.len() != 32 {
        return None;
    }
    let bits = u128::from_str_radix(&hex, 16).ok()?;
    let (hi, lo) = ((bits >> 64) as u64, bits as u64);
    let number = (((hi & 0x0fff) << 20) | ((lo >> 42) & 0xf_ffff)) as u32;
    let epoch = EPOCH_DAYS as u64 * 86_400_000 + EPOCH_MS_OF_DAY;
    let at_ms = (hi >> 16).checked_sub(epoch)?;
    (event_id(seed ^ pipeline.salt(), number, at_ms) == id).then_some((number, at_ms))
}

/// 128 bits written the way UUIDs are: 8-4-4-4-12 hex digits.
pub fn uuid_text(hi: u64, lo: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// SplitMix64: a tiny, well-mixed hash used to derive per-order values from the seed.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The simulated epoch: the lab's clock starts at 2026-01-05T09:00:00Z.
const EPOCH_DAYS: i64 = 20_458;
const EPOCH_MS_OF_DAY: u64 = 9 * 3_600_000;

/// RFC 3339 UTC timestamp, millisecond precision, for simulated time `ms` after the lab's epoch.
pub fn timestamp(ms: u64) -> String {
    let total = EPOCH_MS_OF_DAY + ms;
    let days = EPOCH_DAYS + (total / 86_400_000) as i64;
    let in_day = total % 86_400_000;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// RFC 3339 UTC timestamp, second precision, for a unix time.
pub fn rfc3339_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A seed for a run the user did not seed: small enough to retype when replaying it.
pub fn random_seed() -> u64 {
    u64::from(rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_start_at_the_lab_epoch_and_roll_over_days() {
        assert_eq!(timestamp(0), "2026-01-05T09:00:00.000Z");
        assert_eq!(timestamp(1_234), "2026-01-05T09:00:01.234Z");
        assert_eq!(timestamp(15 * 3_600_000), "2026-01-06T00:00:00.000Z");
    }

    #[test]
    fn unix_times_format_as_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_773_480_413), "2026-03-14T09:26:53Z");
    }

    #[test]
    fn orders_and_event_ids_are_a_function_of_the_seed() {
        assert_eq!(Order::generate(7, 3), Order::generate(7, 3));
        assert_ne!(Order::generate(7, 3), Order::generate(8, 3));
        let order = Order::generate(7, 3);
        let a = Envelope::order_placed(7, Pipeline::Outbox, &order, 0);
        let b = Envelope::order_placed(7, Pipeline::Outbox, &order, 0);
        let naive = Envelope::order_placed(7, Pipeline::Naive, &order, 0);
        assert_eq!(a.event_id, b.event_id);
        assert_ne!(a.event_id, naive.event_id);
        assert_eq!(a.event_id.len(), 36);
        assert_eq!(&a.event_id[14..15], "7");
        assert!(matches!(&a.event_id[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(a.order_number(), Some(3));
    }

    #[test]
    fn an_event_id_gives_back_its_order_and_time_only_when_it_is_the_lab_s_own() {
        let id = event_id(7 ^ Pipeline::Outbox.salt(), 1_000_000, 86_400_123);
        assert_eq!(
            order_event_parts(7, Pipeline::Outbox, &id),
            Some((1_000_000, 86_400_123))
        );
        assert_eq!(order_event_parts(8, Pipeline::Outbox, &id), None);
        assert_eq!(order_event_parts(7, Pipeline::Naive, &id), None);
        assert_eq!(
            order_event_parts(7, Pipeline::Outbox, &id.to_uppercase()),
            None
        );
        for odd in ["", "e", "not-a-uuid-at-all-not-a-uuid-at-all", &id[1..]] {
            assert_eq!(order_event_parts(7, Pipeline::Outbox, odd), None);
        }
    }

    #[test]
    fn event_ids_are_unique_and_sort_in_time_then_order() {
        let ids: Vec<String> = (1..=50_000).map(|n| event_id(42, n, 0)).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "same millisecond: order number decides"
        );
        assert!(
            event_id(42, 9, 5) > event_id(42, 10, 4),
            "a later millisecond sorts later"
        );
    }
}
