//! Reading a file the user names, bounded: a size cap, regular files only (or `-` for standard
//! input), never blocking on a pipe or a device, and every refusal naming the file and what to do.

mod json;
mod read;

pub use json::{Duplicate, Shape, check_shape, first_duplicate_key};
pub use read::{Limit, ReadError, Text, Why, display_name, read, read_named};
