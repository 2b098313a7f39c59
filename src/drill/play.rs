//! Playing a session through a [`Prompter`]: asking, grading each answer and recording it the
//! moment it is given, so a crash or Ctrl-C keeps everything answered so far.

use std::io;

use anyhow::Result;

use super::entry::Entry;
use super::prompter::{Prompter, Reply};
use super::record::record;
use crate::content::{Item, Pack, Question, Scenario};
use crate::grade::Verdict;
use crate::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario};
use crate::store::Store;

/// How a session went.
#[derive(Debug, Default)]
pub struct Played {
    /// Each graded item with the learner's own verdict, when they overruled.
    pub graded: Vec<(Graded, Option<Verdict>)>,
    pub skipped: Vec<String>,
    /// Stopped early: by Esc, or interrupted (Ctrl-C).
    pub stopped: Option<Stop>,
}

/// Why a session stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Asked,
    Interrupted,
}

/// A prompt's outcome: an I/O interruption (Ctrl-C in raw mode) is a stop, not a failure.
fn reply<T>(result: io::Result<Reply<T>>) -> Result<Result<Reply<T>, Stop>> {
    match result {
        Ok(Reply::Stop) => Ok(Err(Stop::Asked)),
        Ok(reply) => Ok(Ok(reply)),
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(Err(Stop::Interrupted)),
        Err(err) => Err(err.into()),
    }
}

/// Plays `entries` in order, recording each graded answer (and each scenario choice, as a draft)
/// as soon as it is given.
pub fn play(
    entries: &[Entry<'_>],
    pack: &Pack,
    store: &Store,
    session: i64,
    prompter: &mut dyn Prompter,
) -> Result<Played> {
    let mut played = Played::default();
    for (i, entry) in entries.iter().enumerate() {
        prompter.begin(*entry, i + 1, entries.len());
        let mut hints = Hints {
            all: entry.hints(),
            shown: 0,
        };
        let outcome = match entry {
            Entry::Scenario(scenario) => {
                play_scenario(scenario, pack, store, session, prompter, &mut hints)?
            }
            Entry::Item(item) => play_item(item, pack, store, session, prompter, &mut hints)?,
        };
        match outcome {
            Step::Graded(graded, own) => played.graded.push((*graded, own)),
            Step::Skipped => played.skipped.push(entry.id().to_string()),
            Step::Stopped(why) => {
                played.stopped = Some(why);
                return Ok(played);
            }
        }
    }
    store.finish_session(session)?;
    Ok(played)
}

enum Step {
    Graded(Box<Graded>, Option<Verdict>),
    Skipped,
    Stopped(Stop),
}

struct Hints<'a> {
    all: &'a [String],
    shown: usize,
}

impl Hints<'_> {
    fn left(&self) -> bool {
        self.shown < self.all.len()
    }

    fn next(&mut self, prompter: &mut dyn Prompter) {
        if let Some(hint) = self.all.get(self.shown) {
            self.shown += 1;
            prompter.hint(hint, self.shown, self.all.len());
        }
    }
}

/// Asks for free text until it is an answer, a skip or a stop, showing hints on request.
fn ask_text(
    prompter: &mut dyn Prompter,
    hints: &mut Hints<'_>,
    question: &str,
) -> Result<Result<Option<String>, Stop>> {
    loop {
        match reply(prompter.write(question, hints.left()))? {
            Ok(Reply::Answer(text)) => return Ok(Ok(Some(text))),
            Ok(Reply::Hint) => hints.next(prompter),
            Ok(Reply::Skip) => return Ok(Ok(None)),
            Ok(Reply::Stop) => return Ok(Err(Stop::Asked)),
            Err(stop) => return Ok(Err(stop)),
        }
    }
}

fn play_scenario(
    scenario: &Scenario,
    pack: &Pack,
    store: &Store,
    session: i64,
    prompter: &mut dyn Prompter,
    hints: &mut Hints<'_>,
) -> Result<Step> {
    let mut drafts = store.drafts(session, &scenario.id)?;
    for question in Question::ALL {
        if drafts.contains_key(question.name()) {
            continue;
        }
        let options = question.options();
        let picked = loop {
            match reply(prompter.choose(question.ask(), options, hints.left()))? {
                Ok(Reply::Answer(i)) if i < options.len() => break options[i],
                Ok(Reply::Answer(_)) | Ok(Reply::Hint) => hints.next(prompter),
                Ok(Reply::Skip) => return Ok(Step::Skipped),
                Ok(Reply::Stop) => return Ok(Step::Stopped(Stop::Asked)),
                Err(stop) => return Ok(Step::Stopped(stop)),
            }
        };
        store.save_draft(session, &scenario.id, question.name(), picked)?;
        drafts.insert(question.name().to_string(), picked.to_string());
    }
    let reason = match ask_text(
        prompter,
        hints,
        "Defend your three choices in a sentence or two",
    )? {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(Step::Skipped),
        Err(stop) => return Ok(Step::Stopped(stop)),
    };
    let answer = ScenarioAnswer {
        channel: drafts.get("channel").cloned(),
        payload: drafts.get("payload").cloned(),
        outbox: drafts.get("outbox").cloned(),
        reason: Some(reason),
    };
    let graded = grade_scenario(scenario, &pack.misconceptions, &answer);
    record(store, session, &graded, &serde_json::to_value(&answer)?)?;
    prompter.graded(&graded);
    Ok(Step::Graded(Box::new(graded), None))
}

fn play_item(
    item: &Item,
    pack: &Pack,
    store: &Store,
    session: i64,
    prompter: &mut dyn Prompter,
    hints: &mut Hints<'_>,
) -> Result<Step> {
    let text = match ask_text(prompter, hints, &item.prompt)? {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(Step::Skipped),
        Err(stop) => return Ok(Step::Stopped(stop)),
    };
    let graded = grade_item(item, &pack.misconceptions, &text);
    let id = record(store, session, &graded, &serde_json::Value::String(text))?;
    prompter.graded(&graded);
    let own = match prompter.overrule(&graded) {
        Ok(own) => own,
        Err(err) if err.kind() == io::ErrorKind::Interrupted => {
            return Ok(Step::Stopped(Stop::Interrupted));
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(own) = own.filter(|v| *v != graded.verdict) {
        store.set_self_verdict(id, own.name())?;
        return Ok(Step::Graded(Box::new(graded), Some(own)));
    }
    Ok(Step::Graded(Box::new(graded), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::entry::find;
    use std::collections::VecDeque;

    /// A learner reading from a script; `None` is a Ctrl-C.
    struct Script {
        replies: VecDeque<Option<Reply<String>>>,
        hints_seen: usize,
        graded: Vec<String>,
    }

    impl Script {
        fn new(replies: Vec<Option<Reply<&str>>>) -> Self {
            let replies = replies
                .into_iter()
                .map(|r| {
                    r.map(|r| match r {
                        Reply::Answer(a) => Reply::Answer(a.to_string()),
                        Reply::Hint => Reply::Hint,
                        Reply::Skip => Reply::Skip,
                        Reply::Stop => Reply::Stop,
                    })
                })
                .collect();
            Script {
                replies,
                hints_seen: 0,
                graded: Vec::new(),
            }
        }

        fn next(&mut self) -> io::Result<Reply<String>> {
            match self.replies.pop_front().expect("the script ran out") {
                Some(reply) => Ok(reply),
                None => Err(io::Error::new(io::ErrorKind::Interrupted, "^C")),
            }
        }
    }

    impl Prompter for Script {
        fn begin(&mut self, _: Entry<'_>, _: usize, _: usize) {}
        fn choose(&mut self, _: &str, options: &[&str], _: bool) -> io::Result<Reply<usize>> {
            Ok(match self.next()? {
                Reply::Answer(a) => {
                    Reply::Answer(options.iter().position(|o| *o == a).expect("an option"))
                }
                Reply::Hint => Reply::Hint,
                Reply::Skip => Reply::Skip,
                Reply::Stop => Reply::Stop,
            })
        }
        fn write(&mut self, _: &str, _: bool) -> io::Result<Reply<String>> {
            self.next()
        }
        fn hint(&mut self, _: &str, _: usize, _: usize) {
            self.hints_seen += 1;
        }
        fn graded(&mut self, graded: &Graded) {
            self.graded
                .push(format!("{} {}", graded.id, graded.verdict.name()));
        }
        fn overrule(&mut self, _: &Graded) -> io::Result<Option<Verdict>> {
            Ok(match self.next()? {
                Reply::Answer(v) if v == "correct" => Some(Verdict::Correct),
                _ => None,
            })
        }
    }

    fn setup() -> (Pack, Store) {
        (
            crate::content::builtin().unwrap(),
            Store::in_memory().unwrap(),
        )
    }

    #[test]
    fn a_session_grades_records_and_takes_hints_and_overrules() {
        let (pack, store) = setup();
        let plan = [find(&pack, "A").unwrap(), find(&pack, "R3").unwrap()];
        let session = store
            .start_session("interactive", &["A".into(), "R3".into()])
            .unwrap();
        let mut script = Script::new(vec![
            Some(Reply::Hint),
            Some(Reply::Answer("queue")),
            Some(Reply::Answer("notification")),
            Some(Reply::Answer("no")),
            Some(Reply::Answer(
                "one worker per job, the message holds the S3 key, workers are idempotent by URL",
            )),
            Some(Reply::Answer("no idea")),
            Some(Reply::Answer("correct")),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script).unwrap();
        assert_eq!(played.stopped, None);
        assert_eq!(script.hints_seen, 1);
        assert_eq!(played.graded.len(), 2);
        assert_eq!(
            played.graded[1].1,
            Some(Verdict::Correct),
            "the learner overruled R3"
        );
        let r3 = store.answers_to("R3").unwrap();
        assert_eq!(
            (r3[0].0.as_str(), r3[0].1.as_deref()),
            ("incorrect", Some("correct"))
        );
        assert!(store.unfinished_session().unwrap().is_none());
    }

    #[test]
    fn ctrl_c_mid_scenario_keeps_the_choices_and_resume_carries_on() {
        let (pack, store) = setup();
        let plan = [find(&pack, "B").unwrap(), find(&pack, "R3").unwrap()];
        let session = store
            .start_session("interactive", &["B".into(), "R3".into()])
            .unwrap();
        let mut script = Script::new(vec![
            Some(Reply::Answer("topic")),
            Some(Reply::Answer("ecst")),
            None,
        ]);
        let played = play(&plan, &pack, &store, session, &mut script).unwrap();
        assert_eq!(played.stopped, Some(Stop::Interrupted));
        assert_eq!(store.drafts(session, "B").unwrap().len(), 2);
        let (resumed, planned) = store.unfinished_session().unwrap().unwrap();
        assert_eq!((resumed, planned.len()), (session, 2));
        // Resume: only the outbox question and the reason are left for B.
        let mut script = Script::new(vec![
            Some(Reply::Answer("yes")),
            Some(Reply::Answer(
                "four services each need every order, the event carries the order, and the order and its event commit in one transaction with an outbox",
            )),
            Some(Reply::Skip),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script).unwrap();
        assert_eq!(
            played.graded[0]
                .0
                .choices
                .iter()
                .map(|c| c.credit)
                .sum::<f64>(),
            3.0
        );
        assert_eq!(played.skipped, vec!["R3".to_string()]);
        assert!(store.drafts(session, "B").unwrap().is_empty());
    }
}
