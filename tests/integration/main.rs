//! msgwork's integration tests: one binary, a small command builder, specifications by topic.

mod bench_cli;
mod cleanup_cli;
mod doctor_cli;
mod drill_cli;
mod evidence_cli;
mod grading;
mod harness;
mod inputs;
mod inputs_props;
mod lab;
mod lab_cli;
mod lab_guarantees;
mod layout;
mod mutants;
mod postgres;
mod powerloss;
mod records;
mod replay;
mod rewrite_cli;
mod secrets;
mod simulate_cli;
mod simulate_process;
mod sketch_cli;
mod starter;
mod terminal;
mod verify_cli;
