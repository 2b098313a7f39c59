//! The starter kits for `msgwork verify`: each kit's files, compiled into the binary so an
//! installed msgwork works from any directory, and writing a kit into the learner's directory
//! without ever replacing a file that is there.

mod catalog;
mod error;
mod write;

pub use catalog::{Arg, KITS, Kit, KitFile, Variant, find};
pub use error::KitError;
pub use write::write_files;
