//! The `msgwork lab` subcommands and their arguments: fanout, ordering, retention, cleanup, cdc, dlq.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Queue versus topic: three services on one queue, then a subscription each
    #[command(
        after_help = "Examples:\n  msgwork lab fanout\n  msgwork lab fanout --orders 9000 --instances 3 --seed 7 --json\n  msgwork lab fanout --broker nats://127.0.0.1:4222"
    )]
    Fanout(FanoutArgs),
    /// Per-aggregate order across partitions: keyed by aggregate id, then scattered
    #[command(
        after_help = "Examples:\n  msgwork lab ordering\n  msgwork lab ordering --partitions 8 --orders 5000 --seed 3 --json\n  msgwork lab ordering --db postgres://msgwork@127.0.0.1:5432/msgwork"
    )]
    Ordering(OrderingArgs),
    /// How long the inbox must remember event ids: late duplicates against table size
    #[command(
        after_help = "Examples:\n  msgwork lab retention\n  msgwork lab retention --hours 1,6,24,72 --duplicate-rate 0.2 --json\n  msgwork lab retention --plot retention.svg"
    )]
    Retention(RetentionArgs),
    /// Change data capture against polling: commit-to-applied latency, under crashes
    #[command(
        after_help = "Examples:\n  msgwork lab cdc\n  msgwork lab cdc --rate 1000 --seconds 10 --interval 200ms\n  msgwork lab cdc --rate 10000 --json --check\n  msgwork lab cdc --plot latency.svg\n\nThe CDC relay is woken by a change feed built from SQLite's commit hooks and reads forward\nfrom a position it saves after each batch; the polling relay claims unsent rows every interval.\nBoth see the same seeded arrivals and the same crashes. With --check, exit 1 if either lost or\ndouble-applied an event."
    )]
    Cdc(CdcArgs),
    /// Retries with exponential backoff, then a dead-letter queue: nothing lost
    #[command(
        after_help = "Examples:\n  msgwork lab dlq\n  msgwork lab dlq --max-attempts 3 --backoff 1s,10s --poison-rate 0.05 --json\n  msgwork lab dlq --plot depth.svg"
    )]
    Dlq(DlqArgs),
    /// Outbox cleanup that spares the write path: partial index, batched deletes, partitions
    #[command(after_help = CLEANUP_EXAMPLES)]
    Cleanup(CleanupArgs),
}

#[derive(Debug, Args)]
pub struct FanoutArgs {
    /// Orders published, 1 to 100000
    #[arg(long, value_name = "N", default_value_t = 3000)]
    pub orders: u32,
    /// Instances of each service behind its topic subscription, 1 to 64
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub instances: u32,
    /// Seed for which worker fetches next [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run on this NATS JetStream server instead of in process: a work-queue stream, then an
    /// interest stream with a durable consumer per service; instances 1 to 16 there (check the
    /// server with msgwork doctor) [env: MSGWORK_BROKER]
    #[arg(long, env = "MSGWORK_BROKER", hide_env = true, value_name = "URL")]
    pub broker: Option<String>,
    /// Keep the run's streams and consumers on the broker, to look at them afterwards
    #[arg(long, requires = "broker")]
    pub keep_streams: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OrderingArgs {
    /// Orders, each emitting Placed, Paid, Shipped, Delivered; 1 to 1000000
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub orders: u32,
    /// Partitions, each with one relay and one consumer worker; 1 to 256
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub partitions: u32,
    /// What the events carry and what the worker does with one that arrives before an earlier
    /// event of its order
    #[arg(long, value_enum, default_value_t = HandlingArg::Skip)]
    pub handling: HandlingArg,
    /// Seed for the interleaving and the crashes [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Run on this PostgreSQL server instead of SQLite files: each relay claims its
    /// partition with FOR UPDATE SKIP LOCKED (check the server with msgwork doctor) [env: MSGWORK_DB]
    #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
    pub db: Option<String>,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Events consumed over 72 simulated hours, 1 to 1000000
    #[arg(long, value_name = "N", default_value_t = 20000)]
    pub events: u32,
    /// Share of events that arrive a second time, late: 0 to 1
    #[arg(long, value_name = "RATE", default_value_t = 0.1)]
    pub duplicate_rate: f64,
    /// Retention windows to compare, in hours from 0.01 to 10000 each (decimals allowed)
    #[arg(long, value_name = "LIST", default_value = "1,2,4,8,12,24,48,96")]
    pub hours: String,
    /// Seed for which events come back, and when [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Also draw the trade-off (duplicates re-applied, inbox size) to an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace the --plot file if it exists (never your progress store)
    #[arg(long)]
    pub force: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

const CLEANUP_EXAMPLES: &str = "\
Examples:
  msgwork lab cleanup                          a million rows, about 15 s in a release build
  msgwork lab cleanup --rows 200k --batch 10k  a smaller table, bigger delete batches
  msgwork lab cleanup --sizes 10k,50k,250k --rows 1m --json
  msgwork lab cleanup --page-size 4096         bigger pages: faster deletes, more bytes a commit
  msgwork lab cleanup --keep-db ./cleanup-dbs  keep the SQLite files to look inside
  msgwork lab cleanup --db postgres://msgwork@localhost:5432/msgwork
                                               the same lab on PostgreSQL, a day a real partition,
                                               about 25 s in a release build

Counts take a k or m suffix, and _ or , between digits. The timings are this machine's: run a
release build (cargo run --release -- lab cleanup) on a quiet machine for figures to compare.";

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Rows the outbox grows to, 20k to 5m; the deletes and the partition drop run at this size
    #[arg(long, value_name = "N", default_value = "1000000")]
    pub rows: String,
    /// Smaller sizes to measure on the way to --rows [default: 10k,100k, those below --rows]
    #[arg(long, value_name = "LIST")]
    pub sizes: Option<String>,
    /// Rows each delete transaction removes, 100 to 100k
    #[arg(long, value_name = "N", default_value = "2000")]
    pub batch: String,
    /// Page size of the lab's SQLite databases: the crash lab's 1 KiB, or larger to see what it
    /// costs; a power of two from 512 to 65536 [default: 1024]
    #[arg(long, value_name = "BYTES")]
    pub page_size: Option<String>,
    /// Keep the lab's SQLite files in DIR instead of a temporary directory (on PostgreSQL: keep
    /// the run's schemas)
    #[arg(long, value_name = "DIR")]
    pub keep_db: Option<PathBuf>,
    /// Run on this PostgreSQL server instead of SQLite files: a day is a partition of a
    /// partitioned outbox (check the server with msgwork doctor) [env: MSGWORK_DB]
    #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
    pub db: Option<String>,
    /// Draw poll time against table size, partial index against plain, to an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace the --plot file if it exists, and let the lab replace its own files in a
    /// --keep-db directory that is not empty (never your progress store)
    #[arg(long)]
    pub force: bool,
    /// Seed for the rows' contents and which ones are stuck unsent [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CdcArgs {
    /// Open-loop arrival rates to measure at, in orders per second, 1 to 50000 each; with
    /// --seconds, at most 2000000 orders in all
    #[arg(long, value_name = "LIST", default_value = "1000,10000")]
    pub rate: String,
    /// Seconds of orders at each rate, 0.05 to 600
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub seconds: f64,
    /// How often the polling relay polls, 1ms to 60s
    #[arg(long, value_name = "DURATION", default_value = "500ms")]
    pub interval: String,
    /// Relay crashes, and as many service crashes, injected into each run; 0 to 100
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub crashes: u32,
    /// Rows a relay reads or claims at a time, 1 to 100000
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch: u32,
    /// Run on this PostgreSQL server instead of SQLite files (check it with msgwork doctor) [env: MSGWORK_DB]
    #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
    pub db: Option<String>,
    /// Seed for the arrivals and the crashes [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Keep the lab's SQLite databases in DIR to inspect them afterwards
    #[arg(long, value_name = "DIR")]
    pub keep_db: Option<PathBuf>,
    /// Draw the latency distributions, CDC against polling, to an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace the --plot file if it exists, and let the lab replace its own files in a
    /// --keep-db directory that is not empty (never your progress store)
    #[arg(long)]
    pub force: bool,
    /// Exit 1 if either relay lost or double-applied an event
    #[arg(long)]
    pub check: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// Messages consumed, 1 to 1000000
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub messages: u32,
    /// Attempts in all, the first included, before a message is dead-lettered; 1 to 20
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_attempts: u32,
    /// Delays before each retry, on the simulated clock; 0ms to 24h each
    #[arg(long, value_name = "LIST", default_value = "1s,5s,30s,5m")]
    pub backoff: String,
    /// Share of messages no retry can save (poison), 0 to 1
    #[arg(long, value_name = "RATE", default_value_t = 0.02)]
    pub poison_rate: f64,
    /// Share of messages that fail a few times, then succeed; 0 to 1, and with --poison-rate at
    /// most 1
    #[arg(long, value_name = "RATE", default_value_t = 0.10)]
    pub transient_rate: f64,
    /// Seed for which messages fail and how often [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Also draw the retry-queue and dead-letter depth over time to an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace the --plot file if it exists (never your progress store)
    #[arg(long)]
    pub force: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

/// `lab ordering --handling`: the command line's words for the lab's `Handling`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HandlingArg {
    /// Change events, applied if newer than the last one applied and skipped otherwise
    Skip,
    /// Change events, an early one parked and retried until its predecessor is applied
    Park,
    /// Full-state events: the newest version wins, an older one is dropped
    Newest,
}
