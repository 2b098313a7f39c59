//! Ctrl-C (and SIGTERM or SIGHUP), handled in one place for the whole program: whatever a run
//! registered on a server or a broker is dropped, the labs' scratch directories are removed, the terminal's
//! cursor comes back, the command's own last word is said, and the process exits with status 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use crate::sim::storage::postgres::leftovers::{self, Dropped};

static NOTE: Mutex<Option<String>> = Mutex::new(None);
static INSTALLED: OnceLock<()> = OnceLock::new();
/// Set the moment the handler starts: from then on the handler owns the process's exit.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How long a command waits for the handler before it ends the process itself.
const CLEAN_UP_LIMIT: Duration = Duration::from_secs(60);

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

/// Once Ctrl-C was pressed, the handler is dropping what the run left and will exit with 130.
/// A command whose work failed because of that (its connection was ended under it) must not
/// race the handler to an exit status of its own: it waits here for the handler to finish.
pub fn wait_if_interrupted() {
    if !INTERRUPTED.load(Ordering::SeqCst) {
        return;
    }
    std::thread::sleep(CLEAN_UP_LIMIT);
    std::process::exit(130);
}

fn on_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    crate::sim::storage::sqlite::files::remove_live();
    let Dropped {
        dropped,
        registered,
    } = leftovers::drop_all();
    if registered > 0 {
        eprintln!(
            "msgwork: interrupted; dropped {dropped} of the {registered} schemas and slots this run made on the server"
        );
    }
    let streams = crate::broker::leftovers::delete_all();
    if streams.registered > 0 {
        eprintln!(
            "msgwork: interrupted; deleted {} of the {} streams this run made on the broker",
            streams.deleted, streams.registered
        );
    }
    let note = NOTE.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(note) = note {
        let _ = console::Term::stderr().show_cursor();
        eprintln!("{note}");
    }
    std::process::exit(130);
}
