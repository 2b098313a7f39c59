//! Ctrl-C, handled in one place for the whole program: whatever a run registered on a server is
//! dropped, the terminal's cursor comes back, the command's own last word is said, and the
//! process exits with status 130.

use std::sync::{Mutex, OnceLock, PoisonError};

use crate::sim::storage::postgres::leftovers::{self, Dropped};

static NOTE: Mutex<Option<String>> = Mutex::new(None);
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the handler; later calls do nothing.
pub fn install() {
    INSTALLED.get_or_init(|| {
        // Nothing else in msgwork sets a handler, so this cannot fail for that reason; should the
        // platform refuse, Ctrl-C keeps its default and the run dies without cleaning up.
        let _ = ctrlc::set_handler(on_interrupt);
    });
}

/// What to tell the learner if they press Ctrl-C from now on, after the cursor is restored.
pub fn say_on_interrupt(note: String) {
    *NOTE.lock().unwrap_or_else(PoisonError::into_inner) = Some(note);
}

fn on_interrupt() {
    let Dropped {
        dropped,
        registered,
    } = leftovers::drop_all();
    if registered > 0 {
        eprintln!(
            "msgwork: interrupted; dropped {dropped} of the {registered} schemas and slots this run made on the server"
        );
    }
    let note = NOTE.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(note) = note {
        let _ = console::Term::stderr().show_cursor();
        eprintln!("{note}");
    }
    std::process::exit(130);
}
