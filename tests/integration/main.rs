//! msgwork's integration tests: one binary, a small command builder, specifications by topic.

mod harness;
mod lab;
mod simulate_cli;
