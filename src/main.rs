//! The `msgwork` binary: runs the library's command line and turns its outcome into an exit status.

use std::io::ErrorKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    match msgwork::run(std::env::args_os()) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            // `msgwork … | head` closing the pipe early is not a failure.
            let broken_pipe = err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == ErrorKind::BrokenPipe);
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
