//! Every bound the checker puts on its input and on the sandbox, in one place: a sketch is a few
//! KiB, so anything near these limits is hostile or a mistake.

use std::time::Duration;

/// Sketches are a few KiB; anything past this is not read.
pub(super) const MAX_SOURCE_BYTES: usize = 1 << 20;
/// A file past this is refused unread; up to it, it is read and clipped to `MAX_SOURCE_BYTES`.
pub(super) const MAX_FILE_BYTES: u64 = 8 << 20;
/// A statement that fails to parse is searched for SQL inside it only up to this size.
pub(super) const MAX_RECOVERY_BYTES: usize = 64 * 1024;
/// Statements given to the parser; a sketch has a few dozen, the rest are read from tokens.
pub(super) const MAX_PARSED_STATEMENTS: usize = 2_000;
/// Parse problems listed one by one; past this they are summed up.
pub(super) const MAX_PARSE_PROBLEMS: usize = 100;
/// Write transactions searched for a publish call.
pub(super) const MAX_WRITE_GROUPS_SCANNED: usize = 50;
/// How many re-parses one failed statement may cost.
pub(super) const MAX_RECOVERY_PARSES: usize = 24;
/// The sandbox's progress handler runs every this many VM steps...
pub(super) const SANDBOX_STEPS_PER_TICK: i32 = 1_000;
/// ...and stops the sandbox after this many ticks (2 million steps) or the deadline.
pub(super) const SANDBOX_MAX_TICKS: u64 = 2_000;
pub(super) const SANDBOX_DEADLINE: Duration = Duration::from_millis(500);
pub(super) const SANDBOX_MAX_STATEMENTS: usize = 500;
pub(super) const SANDBOX_MAX_ROWS: usize = 10_000;
