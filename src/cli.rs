//! The command line, as clap derive types. Parsing only: checking happens in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

mod lab;

pub use lab::{
    CdcArgs, CleanupArgs, DlqArgs, FanoutArgs, HandlingArg, LabCommand, OrderingArgs, RetentionArgs,
};

use crate::content::Section;
use crate::sim::crash::schedule::{CrashAt, NaiveOrder};
use crate::sim::crash::{ClaimMode, CrashMode};
use crate::sim::storage::sqlite::sql::Durability;

const ABOUT: &str = "Learn messaging patterns by doing them: graded drills, an outbox crash lab, \
event rewrites and the evidence that you have mastered them.";

const EXAMPLES: &str = "\
Examples:
  msgwork drill                         play the workshop's drills and get graded
  msgwork simulate --crash              watch a naive dual write lose events and the outbox lose none
  msgwork simulate --list-crash-points  every place the lab can crash a component
  msgwork rewrite-event --example order-placed   notification vs ECST, secrets kept off
  msgwork completions bash > ~/.local/share/bash-completion/completions/msgwork

Exit status: 0 success, 1 a check you asked for failed, 2 bad input or usage.
Your progress is kept in --data-dir, $MSGWORK_HOME, or the platform's data directory.";

#[derive(Debug, Parser)]
#[command(name = "msgwork", version, about = ABOUT, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// Where msgwork keeps your progress [default: the platform's data directory]
    #[arg(long, global = true, value_name = "DIR", env = "MSGWORK_HOME")]
    pub data_dir: Option<PathBuf>,

    /// When to colour output; NO_COLOR in the environment also turns it off
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// With no command, in a terminal: what to do next (`msgwork next`)
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The one thing to do now, and why, from what you have done so far
    #[command(
        after_help = "Examples:\n  msgwork next\n  msgwork next --json\n  msgwork      (in a terminal, the same)"
    )]
    Next {
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Play the workshop: scenario drills, retrieval prompts, comparisons, common mistakes
    #[command(after_help = DRILL_EXAMPLES)]
    Drill(DrillArgs),
    /// Work with drill content packs
    #[command(subcommand)]
    Content(ContentCommand),
    /// The stretch labs: one pattern at a time, measured
    #[command(subcommand)]
    Lab(LabCommand),
    /// Check your outbox design (DDL, write transaction, relay, consumer dedupe)
    #[command(subcommand)]
    Sketch(SketchCommand),
    /// Rewrite a thin event as notification and ECST, and see what stays off the wire
    #[command(name = "rewrite-event", after_help = REWRITE_EXAMPLES)]
    RewriteEvent(RewriteArgs),
    /// What you have proven: the workshop's and the lab's evidence, checked against your runs
    #[command(
        after_help = "Examples:\n  msgwork evidence                          every item, done or with the command to run next\n  msgwork evidence --writeup lab-writeup.md grade your lab write-up\n  msgwork evidence --json\n\nExit status 1 while a required item is missing (or the write-up does not pass)."
    )]
    Evidence {
        /// Grade this Markdown write-up of the lab, and record it
        #[arg(long, value_name = "FILE.md")]
        writeup: Option<PathBuf>,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Write your evidence bundle for an instructor, as Markdown or JSON
    #[command(
        after_help = "Examples:\n  msgwork report > my-evidence.md\n  msgwork report --format json --output evidence.json"
    )]
    Report {
        /// md or json
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
        /// Write to this file instead of standard output (a new file, unless --force)
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Replace the --output file if it exists (never your progress store)
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Your mastery per section, when each item returns, and mastery over time
    #[command(
        after_help = "Examples:\n  msgwork progress\n  msgwork progress --json\n  msgwork progress --plot mastery.svg"
    )]
    Progress {
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
        /// Also draw mastery over time to an SVG file
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Replace the --plot file if it exists (never your progress store)
        #[arg(long, requires = "plot")]
        force: bool,
    },
    /// Run the outbox crash lab: a naive dual write and a transactional outbox, same crashes
    #[command(after_help = SIMULATE_EXAMPLES)]
    Simulate(SimulateArgs),
    /// Measure the crash lab against its speed targets
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// Run your own service, relays and consumer under kills, and judge what they committed
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Check this machine, and a PostgreSQL server or NATS broker if you name one, for running the labs
    #[command(
        after_help = "Examples:\n  msgwork doctor\n  msgwork doctor --db postgres://msgwork@127.0.0.1:5432/msgwork\n  msgwork doctor --broker nats://127.0.0.1:4222\n  MSGWORK_DB=postgres://… msgwork doctor --json\n\nExit status 1 when a check fails; each failed check says what to change."
    )]
    Doctor {
        /// The PostgreSQL server to check [env: MSGWORK_DB]
        #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
        db: Option<String>,
        /// The NATS JetStream server to check [env: MSGWORK_BROKER]
        #[arg(long, env = "MSGWORK_BROKER", hide_env = true, value_name = "URL")]
        broker: Option<String>,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script
    #[command(after_help = "Example:\n  msgwork completions zsh > ~/.zfunc/_msgwork")]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write a starter kit: your own order service, relays and consumer, for `msgwork verify`
    #[command(after_help = STARTER_EXAMPLES)]
    Starter(StarterArgs),
    /// One actor of `simulate --crash-mode process`, started by the lab with its orders on stdin
    #[command(name = "__actor", hide = true)]
    Actor {
        /// The actor's name, for `ps` to show
        name: String,
    },
    /// One actor of `simulate --broker --crash-mode process`, started by the run
    #[command(name = "__broker-actor", hide = true)]
    BrokerActor {
        /// The actor's name, for `ps` to show
        name: String,
    },
}

const DRILL_EXAMPLES: &str = "\
Examples:
  msgwork drill                                 play every item, in a terminal
  msgwork drill --section scenarios --only R3   just the scenarios and R3
  msgwork drill --resume                        carry on after stopping (Esc or Ctrl-C)
  msgwork drill --due                           the items spaced repetition says are due
  msgwork drill --list                          every item, by section
  msgwork drill --answers mine.json             grade a file of answers, no prompts
  msgwork drill --answers mine.json --json --pass-mark 80
  msgwork drill --answers mine.json --content ./my-pack

The answers file is JSON; include only the items you want graded:
  {\"scenarios\": {\"A\": {\"channel\": \"queue\", \"payload\": \"notification\",
                     \"outbox\": false, \"reason\": \"...\"}},
   \"retrieval\": {\"R3\": \"...\"}, \"compare\": {}, \"mistakes\": {}, \"concepts\": {}}
Choices accept common names: work queue, point-to-point, pub/sub, fan-out, RPC,
event-carried state transfer, yes/no or true/false.";

/// The SQL dialect a sketch is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SketchDialect {
    Postgres,
    Mysql,
    Sqlite,
}

/// A part of a sketch that can be reviewed on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SketchPart {
    /// The tables and indexes alone
    Ddl,
}

#[derive(Debug, Subcommand)]
pub enum SketchCommand {
    /// Check an outbox sketch written in PostgreSQL or SQLite, item by item
    #[command(
        after_help = "Examples:\n  msgwork sketch check my-outbox.sql\n  msgwork sketch check fixtures/sketches/good.sql --json\n  msgwork sketch check schema.sql --only ddl --dialect mysql\n\nExit status 1 when a required item is missing or wrong. The DDL and write transaction\nare run in a sealed in-memory SQLite sandbox: no ATTACH, no extensions, no files."
    )]
    Check {
        /// The sketch: SQL, with pseudocode for the relay if you like
        #[arg(value_name = "FILE.sql")]
        file: PathBuf,
        /// Read it as this dialect [default: MySQL when the text writes what only MySQL does,
        /// else whichever of PostgreSQL and SQLite reads more of it]
        #[arg(long, value_enum)]
        dialect: Option<SketchDialect>,
        /// Review only this part: `ddl` judges the schema alone, passing or failing on it
        #[arg(long, value_enum, value_name = "PART")]
        only: Option<SketchPart>,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Print a BookingService skeleton to fill in, with a TODO where each part of the sketch goes
    #[command(
        after_help = "Examples:\n  msgwork sketch template > my-outbox.sql\n  msgwork sketch template --output my-outbox.sql\n  msgwork sketch check my-outbox.sql"
    )]
    Template {
        /// Write it to FILE instead of standard output (never over an existing file)
        #[arg(long, value_name = "FILE.sql")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Check a content pack and report every problem with file, line and fix
    #[command(
        after_help = "Examples:\n  msgwork content check              the built-in pack\n  msgwork content check ./my-pack     an instructor's pack (exit 1 if it has problems)"
    )]
    Check {
        /// The pack's directory [default: the built-in pack]
        dir: Option<PathBuf>,
        /// Let the pack redefine built-in ids on purpose; each one is still listed
        #[arg(long = "override", requires = "dir")]
        allow_override: bool,
        /// Print the result as one JSON object
        #[arg(long)]
        json: bool,
    },
}

/// `drill --section`: the command line's copy of [`Section`], so content needs no clap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SectionArg {
    Scenarios,
    Retrieval,
    Compare,
    Mistakes,
    Concepts,
}

impl From<SectionArg> for Section {
    fn from(arg: SectionArg) -> Section {
        match arg {
            SectionArg::Scenarios => Section::Scenarios,
            SectionArg::Retrieval => Section::Retrieval,
            SectionArg::Compare => Section::Compare,
            SectionArg::Mistakes => Section::Mistakes,
            SectionArg::Concepts => Section::Concepts,
        }
    }
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Only these sections (repeatable)
    #[arg(long, value_enum)]
    pub section: Vec<SectionArg>,

    /// Only these items, by id (repeatable)
    #[arg(long, value_name = "ID")]
    pub only: Vec<String>,

    /// List the items instead of playing them
    #[arg(long)]
    pub list: bool,

    /// Continue the last drill session you stopped
    #[arg(long, conflicts_with_all = ["answers", "list"])]
    pub resume: bool,

    /// Only the items due for review now (spaced repetition)
    #[arg(long, conflicts_with = "resume")]
    pub due: bool,

    /// Grade the answers in this JSON file (- for standard input) instead of asking (never prompts)
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    /// With --answers: exit 1 when the score is below this percentage
    #[arg(long, value_name = "PERCENT")]
    pub pass_mark: Option<f64>,

    /// Add an instructor's pack on top of the built-in one (repeatable)
    #[arg(long, value_name = "DIR")]
    pub content: Vec<PathBuf>,

    /// Play only the packs given with --content (they may still name built-in misconceptions)
    #[arg(long, requires = "content")]
    pub no_builtin: bool,

    /// Show the full reasoning, the model answer and the hints with every item's feedback
    #[arg(long)]
    pub details: bool,

    /// Go straight on to the next item after each feedback, without waiting for a key
    #[arg(long)]
    pub no_pause: bool,

    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

const REWRITE_EXAMPLES: &str = "\
Examples:
  msgwork rewrite-event --example order-placed   the workshop's thin event, from anywhere
  msgwork rewrite-event event.json --source order-record.json --json
  echo '{\"event_type\": \"OrderPlaced\", \"order_id\": \"ord_9f2a\"}' | msgwork rewrite-event -
  msgwork rewrite-event event.json --check my-ecst.json     grade your own rewrite (exit 1 if it fails)
  msgwork rewrite-event --example order-placed --practice   the workshop exercise, step by step

Without --source, the entity is looked up in msgwork's sample records, and the output says so.
A --source record whose id names another entity than the event's is refused; pass the right
record, or add --force-source to use it anyway.";

#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// The thin event: a JSON file, or - for standard input
    #[arg(value_name = "EVENT.json", required_unless_present = "example")]
    pub event: Option<PathBuf>,

    /// One of the events msgwork ships instead of a file, such as order-placed (the workshop's
    /// thin OrderPlaced event); it works from any directory
    #[arg(long, value_name = "NAME", conflicts_with = "event")]
    pub example: Option<String>,

    /// The full record of the entity the event names [default: msgwork's sample records]
    #[arg(long, value_name = "RECORD.json")]
    pub source: Option<PathBuf>,

    /// Use the --source record even when its id names a different entity than the event's; both
    /// forms still carry the event's id
    #[arg(long, requires = "source")]
    pub force_source: bool,

    /// Grade your own notification or ECST payload for this event instead
    #[arg(long, value_name = "MINE.json", conflicts_with = "practice")]
    pub check: Option<PathBuf>,

    /// Do the exercise yourself first, step by step in a terminal, then see the model rewrite
    #[arg(long)]
    pub practice: bool,

    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}

const SIMULATE_EXAMPLES: &str = "\
Examples:
  msgwork simulate --crash                         the lab with every crash point, random seed
  msgwork simulate --crash --seed 42 --json        replay seed 42, machine-readable
  msgwork simulate --crash --claim none            relays without claims: watch them overlap
  msgwork simulate --crash-at service-after-commit:17 --trace steps.jsonl
                                                   one precise crash, every step written down
  msgwork simulate --crash --threads               replicas on real OS threads
  msgwork simulate --crash --crash-mode process    service and relays as processes, killed by SIGKILL
  msgwork simulate --crash --power-loss --synchronous full
                                                   machines lose power: what synchronous buys

The same seed replays the same crashes, interleaving and report (except in real time: --threads,
--crash-mode process).";

const BENCH_EXAMPLES: &str = "\
Examples:
  msgwork bench              every measurement, about half a minute
  msgwork bench --quick      smaller sizes, a few seconds
  msgwork bench --json       figures for scripts
  msgwork bench --db postgres://msgwork@127.0.0.1:5432/msgwork
                             SQLite against PostgreSQL, same sizes, same run";

const VERIFY_EXAMPLES: &str = "\
Examples:
  msgwork verify -- python3 my-outbox/shop.py       one run, seed 1
  msgwork verify --seeds 50 -- python3 shop.py      fifty seeds; all must hold
  msgwork verify --seed 7 --orders 20 -- ./shop     replay a seed, fewer orders
  msgwork verify --schedule service:publish:3 --orders 5 -- python3 shop.py
                                                    exactly these kills, nothing else
  msgwork verify --keep-db ./runs -- python3 shop.py    keep the databases to look inside
  msgwork verify --watch -- python3 shop.py         run again on every save
  msgwork verify --broker nats://127.0.0.1:4222 -- python3 shop.py
                                                    the same program on a real JetStream server

Your program speaks JSON lines on stdin and stdout: see docs/verify-protocol.md.
Exit status 0 when every invariant held on every seed, 1 when one broke, 2 when the
program could not be run or broke the protocol.";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The first seed: it decides where the kills and the broker's faults fall
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// How many seeds to run, from --seed on (1 to 1000)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub seeds: u32,
    /// Orders the client places (1 to 10000)
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub orders: u32,
    /// Seeds to run at once, each with its own processes (1 to 64; default: the cores, up to 4)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,
    /// Relay processes to run (0 to 16)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=16))]
    pub relays: u32,
    /// Seconds a process may take to answer one request (1 to 300)
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    /// Exactly these kills and faults instead of the seed's: NODE:POINT:K, comma-separated, as a
    /// failing run's replay line prints them
    #[arg(long, value_name = "LIST")]
    pub schedule: Option<String>,
    /// Keep each run's databases in DIR/seed-N instead of a temporary directory
    #[arg(long, value_name = "DIR")]
    pub keep_db: Option<PathBuf>,
    /// Do not look for a smaller replay of a failing run
    #[arg(long)]
    pub no_shrink: bool,
    /// Draw the first broken order's life as a sequence diagram in FILE.svg
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Replace the --plot file if it exists
    #[arg(long)]
    pub force: bool,
    /// Run the events through this NATS JetStream server instead of msgwork's own broker: a stream
    /// per run, publishes with an ack, a durable consumer, redelivery after a 1 s AckWait
    /// (check the server with msgwork doctor) [env: MSGWORK_BROKER]
    #[arg(long, env = "MSGWORK_BROKER", hide_env = true, value_name = "URL")]
    pub broker: Option<String>,
    /// Run again each time the program's files change, until Ctrl-C
    #[arg(long)]
    pub watch: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Your program and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Inject crashes: every crash point several times, plus random extras
    #[arg(long)]
    pub crash: bool,

    /// Orders the service places, 1 to 1000000
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub orders: u32,

    /// Relay replicas publishing from the outbox, 1 to 32
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub relays: u32,

    /// Seed for the crash schedule and the interleaving [default: random, printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Chance per order of an extra random crash, on top of the guaranteed ones, 0 to 1
    /// [default: 0.005]
    #[arg(long, value_name = "RATE")]
    pub crash_rate: Option<f64>,

    /// Chance of a fault at every call to a database or the broker: a crash just before or after
    /// it, or a broker failure; 0 turns faults anywhere off [default with crashes: 0.002; range
    /// 0 to 0.1]
    #[arg(long, value_name = "RATE")]
    pub fault_rate: Option<f64>,

    /// Crash exactly here instead (repeatable); ORDER is 1 to --orders, drawn from the seed if
    /// left out
    #[arg(long = "crash-at", value_name = "POINT[:ORDER]", value_parser = CrashAtParser, hide_possible_values = true)]
    pub crash_at: Vec<CrashAt>,

    /// List the crash points with a sentence each, and exit
    #[arg(long)]
    pub list_crash_points: bool,

    /// How relay replicas keep out of each other's way
    #[arg(long, value_enum, default_value_t = ClaimArg::Lease)]
    pub claim: ClaimArg,

    /// Run the service, relays and consumer on real OS threads (counts vary; invariants hold)
    #[arg(long)]
    pub threads: bool,

    /// Where crashes happen: in-process, or real SIGKILLs of the service and relays run as child
    /// processes (in real time; counts vary, invariants hold)
    #[arg(long, value_enum, value_name = "MODE", default_value_t = CrashModeArg::InProcess)]
    pub crash_mode: CrashModeArg,

    /// Which way round the naive handler does its dual write
    #[arg(long, value_enum, value_name = "ORDER", default_value_t = NaiveOrderArg::Alternate)]
    pub naive_order: NaiveOrderArg,

    /// Machines lose power now and then: the service's host or the consumer's, whose database
    /// keeps only what was synced (SQLite, seeded scheduler only)
    #[arg(long)]
    pub power_loss: bool,

    /// SQLite's synchronous pragma for the lab's databases: what a commit waits for before it
    /// returns [default: off]
    #[arg(long, value_enum, value_name = "MODE")]
    pub synchronous: Option<SynchronousArg>,

    /// Rows a relay claims per pass, 1 to 10000
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub batch: u32,

    /// Relay lease in milliseconds of the lab's clock, 1 to 60000; at most 10000 with --threads
    /// or --crash-mode process, which wait it out in real time [default: 1000]
    #[arg(long, value_name = "MS")]
    pub lease: Option<u64>,

    /// Write every step (commit, publish, crash, restart, redelivery, dedupe skip) as JSON lines
    /// to FILE, a new file unless --force
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Tell one order's life in the run instead of the report: its commit, publish, crashes,
    /// redeliveries, dedupe skips and charges, in each pipeline, from the run's trace
    #[arg(long, value_name = "ORDER")]
    pub explain: Option<u32>,

    /// Keep the lab's SQLite databases in DIR, a new or empty directory unless --force, to
    /// inspect them afterwards (on PostgreSQL: keep the run's schemas)
    #[arg(long, value_name = "DIR")]
    pub keep_db: Option<PathBuf>,

    /// Replace the --trace file if it exists, and let the lab replace its own files in a
    /// --keep-db directory that is not empty (never your progress store)
    #[arg(long)]
    pub force: bool,

    /// Run on this PostgreSQL server instead of SQLite files: claims become FOR UPDATE SKIP
    /// LOCKED row locks (check the server with msgwork doctor) [env: MSGWORK_DB]
    #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
    pub db: Option<String>,

    /// Exit 1 unless the outbox held: no lost, phantom or double-applied event, and no overlapping
    /// claim (under --claim none too, where replicas overlap by design)
    #[arg(long)]
    pub check: bool,

    /// Run both pipelines on this NATS JetStream server, in real time: publishes with an ack,
    /// a durable consumer, redelivery after AckWait (check the server with msgwork doctor)
    /// [env: MSGWORK_BROKER]
    #[arg(long, env = "MSGWORK_BROKER", hide_env = true, value_name = "URL")]
    pub broker: Option<String>,

    /// With --broker: whether the relay sends a Nats-Msg-Id for the stream's dedupe window
    #[arg(long, value_enum, value_name = "MODE", default_value_t = DedupeArg::On)]
    pub broker_dedupe: DedupeArg,

    /// Print the report as one JSON object
    #[arg(long)]
    pub json: bool,
}

/// `simulate --broker-dedupe`: the broker's dedupe window on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DedupeArg {
    /// The relay sends the event id as Nats-Msg-Id; the stream drops a resend inside its window
    On,
    /// No Nats-Msg-Id: every resend is stored, and only the inbox stops it
    Off,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Smaller sizes: a quick look rather than the real figures
    #[arg(long)]
    pub quick: bool,
    /// Also measure outbox writes and the relay's drain on this PostgreSQL server, beside SQLite
    /// at the same sizes [env: MSGWORK_DB]
    #[arg(long, env = "MSGWORK_DB", hide_env = true, value_name = "URL")]
    pub db: Option<String>,
    /// Also measure publish-with-ack throughput and the end-to-end drain on this NATS
    /// JetStream server, beside the in-process broker in the same run [env: MSGWORK_BROKER]
    #[arg(long, env = "MSGWORK_BROKER", hide_env = true, value_name = "URL")]
    pub broker: Option<String>,
    /// Also run the write path and the drain's statements in a minimal loop beside msgwork's,
    /// and print how close msgwork comes to it
    #[arg(long)]
    pub baseline: bool,

    /// Print the figures as one JSON object
    #[arg(long)]
    pub json: bool,
}

/// `--claim`: the command line's words for [`ClaimMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClaimArg {
    /// Claim a batch with a lease under BEGIN IMMEDIATE, SQLite's stand-in for SKIP LOCKED: a
    /// lease runs out on a timer, so a relay slower than its lease loses its rows to another
    /// and both publish them, where SKIP LOCKED holds rows until the transaction ends.
    #[value(alias = "skip-locked")]
    Lease,
    /// Just select unsent rows: replicas overlap and publish the same rows.
    None,
}

impl From<ClaimMode> for ClaimArg {
    fn from(mode: ClaimMode) -> Self {
        match mode {
            ClaimMode::Lease => ClaimArg::Lease,
            ClaimMode::None => ClaimArg::None,
        }
    }
}

impl From<ClaimArg> for ClaimMode {
    fn from(arg: ClaimArg) -> Self {
        match arg {
            ClaimArg::Lease => ClaimMode::Lease,
            ClaimArg::None => ClaimMode::None,
        }
    }
}

/// `--crash-mode`: the command line's words for [`CrashMode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CrashModeArg {
    /// In this process: the crashing actor drops its SQLite connection mid-transaction.
    InProcess,
    /// As child processes of msgwork, killed with SIGKILL at their crash points (Unix only).
    Process,
}

impl From<CrashMode> for CrashModeArg {
    fn from(mode: CrashMode) -> Self {
        match mode {
            CrashMode::InProcess => CrashModeArg::InProcess,
            CrashMode::Process => CrashModeArg::Process,
        }
    }
}

impl From<CrashModeArg> for CrashMode {
    fn from(arg: CrashModeArg) -> Self {
        match arg {
            CrashModeArg::InProcess => CrashMode::InProcess,
            CrashModeArg::Process => CrashMode::Process,
        }
    }
}

/// `--synchronous`: the command line's words for [`Durability`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SynchronousArg {
    /// No sync at all: a commit returns once the operating system has the log.
    Off,
    /// The log is synced only at checkpoints.
    Normal,
    /// The log is synced before every commit returns.
    Full,
}

impl From<Durability> for SynchronousArg {
    fn from(durability: Durability) -> Self {
        match durability {
            Durability::Off => SynchronousArg::Off,
            Durability::Normal => SynchronousArg::Normal,
            Durability::Full => SynchronousArg::Full,
        }
    }
}

impl From<SynchronousArg> for Durability {
    fn from(arg: SynchronousArg) -> Self {
        match arg {
            SynchronousArg::Off => Durability::Off,
            SynchronousArg::Normal => Durability::Normal,
            SynchronousArg::Full => Durability::Full,
        }
    }
}

/// `--naive-order`: the command line's words for [`NaiveOrder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NaiveOrderArg {
    /// Commit the order, then publish: a crash in between loses the event.
    CommitFirst,
    /// Publish, then commit: a crash in between leaves a phantom event.
    PublishFirst,
    /// Odd orders commit first, even orders publish first: both halves of the bug in one run.
    Alternate,
}

impl From<NaiveOrder> for NaiveOrderArg {
    fn from(order: NaiveOrder) -> Self {
        match order {
            NaiveOrder::CommitFirst => NaiveOrderArg::CommitFirst,
            NaiveOrder::PublishFirst => NaiveOrderArg::PublishFirst,
            NaiveOrder::Alternate => NaiveOrderArg::Alternate,
        }
    }
}

impl From<NaiveOrderArg> for NaiveOrder {
    fn from(arg: NaiveOrderArg) -> Self {
        match arg {
            NaiveOrderArg::CommitFirst => NaiveOrder::CommitFirst,
            NaiveOrderArg::PublishFirst => NaiveOrder::PublishFirst,
            NaiveOrderArg::Alternate => NaiveOrder::Alternate,
        }
    }
}

/// The word the command line takes for `value`, as clap spells it: what a replay line writes.
pub fn value_word<T: ValueEnum>(value: &T) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// `--crash-at`'s parser: `POINT[:ORDER]` read as before, with the crash points' names offered
/// to shell completion.
#[derive(Clone, Debug)]
struct CrashAtParser;

impl clap::builder::TypedValueParser for CrashAtParser {
    type Value = CrashAt;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<CrashAt, clap::Error> {
        clap::builder::StringValueParser::new()
            .try_map(|text| text.parse::<CrashAt>())
            .parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            crate::sim::crash::schedule::CrashPoint::ALL
                .into_iter()
                .map(|point| clap::builder::PossibleValue::new(point.name())),
        ))
    }
}

const STARTER_EXAMPLES: &str = "\
Examples:
  msgwork starter python my-outbox              the naive program and the steps to fix it
  msgwork starter python answer --solution      the reference solution (spoils the exercise)
  msgwork starter --list                        every kit

An existing file is never replaced: name a new or empty directory.";

#[derive(Debug, Args)]
pub struct StarterArgs {
    /// The kit's language (see --list)
    #[arg(required_unless_present = "list")]
    pub language: Option<String>,
    /// The directory to write the kit into, created if missing
    #[arg(required_unless_present = "list")]
    pub dir: Option<PathBuf>,
    /// Write the reference solution instead of the starter
    #[arg(long)]
    pub solution: bool,
    /// List the kits and write nothing
    #[arg(long, conflicts_with_all = ["language", "dir", "solution"])]
    pub list: bool,
    /// Print the result as one JSON object
    #[arg(long)]
    pub json: bool,
}
