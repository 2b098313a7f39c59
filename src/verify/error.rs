//! What stops a verify run before it can judge anything: a program that cannot start, breaks the
//! protocol, goes silent or exits on its own, databases the checker cannot read, or a real broker
//! that cannot be reached. Each names the process (or server), the line and what to do.

use std::fmt;

#[derive(Debug)]
pub enum VerifyError {
    /// The command could not be started at all.
    Start { command: String, cause: String },
    /// A process did something the protocol does not allow.
    Program {
        node: String,
        incarnation: u32,
        line: Option<u64>,
        problem: String,
        stderr: Vec<String>,
    },
    /// The checker could not read what it needs from a database.
    Data { what: String, hint: String },
    /// The run's own files could not be made.
    Setup(String),
    /// The real broker (`--broker`) could not be reached, or failed during the run.
    Broker(crate::broker::BrokerError),
}

impl From<crate::broker::BrokerError> for VerifyError {
    fn from(err: crate::broker::BrokerError) -> Self {
        VerifyError::Broker(err)
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Start { command, cause } => write!(
                f,
                "could not start `{command}`: {cause}. Give the command after `--`, as you would \
                 run it yourself, e.g. `msgwork verify -- python3 shop.py`"
            ),
            VerifyError::Program {
                node,
                incarnation,
                line,
                problem,
                stderr,
            } => {
                write!(f, "{node}")?;
                if *incarnation > 0 {
                    write!(f, " (restart {incarnation})")?;
                }
                if let Some(line) = line {
                    write!(f, ", line {line} of its output,")?;
                }
                write!(f, " {problem}. See docs/verify-protocol.md")?;
                if !stderr.is_empty() {
                    write!(f, "\nIts last lines on stderr:")?;
                    for l in stderr {
                        write!(f, "\n  | {l}")?;
                    }
                }
                Ok(())
            }
            VerifyError::Data { what, hint } => write!(f, "{what}. {hint}"),
            VerifyError::Setup(text) => write!(f, "{text}"),
            VerifyError::Broker(err @ crate::broker::BrokerError::Call { .. }) => write!(
                f,
                "{err}. The run stopped there: check the server with `msgwork doctor --broker \
                 URL`, and run again"
            ),
            VerifyError::Broker(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for VerifyError {}
