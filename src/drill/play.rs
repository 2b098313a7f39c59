//! Playing a session through a [`Prompter`]: asking, grading each answer and recording it the
//! moment it is given, so a crash or Ctrl-C keeps everything answered so far.

use std::io;

use anyhow::Result;

use super::entry::Entry;
use super::prompter::{Prompter, Reply, Then};
use super::record::record;
use crate::content::{Item, Pack, Question, Scenario};
use crate::grade::Verdict;
use crate::grade::item::{Graded, ScenarioAnswer, grade_item, grade_scenario};
use crate::store::Store;

/// How a session went.
#[derive(Debug, Default)]
pub struct Played {
    /// Each attempt at an item, in order, with the learner's own verdict when they overruled.
    /// An item tried again appears once per attempt.
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
/// as soon as it is given. With `pause`, each item's feedback waits for the learner, who may
/// read the details, overrule the grader, try the item again or stop; without it, the items
/// stream one after another.
pub fn play(
    entries: &[Entry<'_>],
    pack: &Pack,
    store: &Store,
    session: i64,
    prompter: &mut dyn Prompter,
    pause: bool,
) -> Result<Played> {
    let mut played = Played::default();
    let mut i = 0;
    while let Some(entry) = entries.get(i) {
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
        let (graded, answer) = match outcome {
            Step::Graded(graded, answer) => (graded, answer),
            Step::Skipped => {
                played.skipped.push(entry.id().to_string());
                i += 1;
                continue;
            }
            Step::Stopped(why) => {
                played.stopped = Some(why);
                return Ok(played);
            }
        };
        prompter.graded(&graded);
        let last = i + 1 == entries.len();
        let after = if pause {
            pause_after(&graded, answer, store, prompter, last)?
        } else {
            After::default()
        };
        played.graded.push((*graded, after.own));
        if let Some(why) = after.stop {
            played.stopped = Some(why);
            return Ok(played);
        }
        if !after.retry {
            i += 1;
        }
    }
    store.finish_session(session)?;
    Ok(played)
}

/// What the learner chose at the pause after an item.
#[derive(Default)]
struct After {
    own: Option<Verdict>,
    retry: bool,
    stop: Option<Stop>,
}

/// The pause after an item's feedback: waits until the learner goes on, tries again or stops,
/// showing the details and recording their own verdict as they ask.
fn pause_after(
    graded: &Graded,
    answer: i64,
    store: &Store,
    prompter: &mut dyn Prompter,
    last: bool,
) -> Result<After> {
    let mut offers = vec![Then::Next, Then::Details, Then::Retry];
    offers.extend(
        [Verdict::Correct, Verdict::Partial, Verdict::Incorrect]
            .into_iter()
            .filter(|v| *v != graded.verdict)
            .map(Then::Overrule),
    );
    let mut after = After::default();
    loop {
        let then = match prompter.then(graded, &offers, last) {
            Ok(then) => then,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {
                after.stop = Some(Stop::Interrupted);
                return Ok(after);
            }
            Err(err) => return Err(err.into()),
        };
        match then {
            Then::Next => return Ok(after),
            Then::Details => {
                prompter.details(graded);
                offers.retain(|o| *o != Then::Details);
            }
            Then::Retry => {
                after.retry = true;
                return Ok(after);
            }
            Then::Overrule(own) => {
                store.set_self_verdict(answer, own.name())?;
                after.own = Some(own);
                offers.retain(|o| !matches!(o, Then::Overrule(_)));
            }
            Then::Stop => {
                after.stop = Some(Stop::Asked);
                return Ok(after);
            }
        }
    }
}

enum Step {
    /// The graded answer and its id in the store.
    Graded(Box<Graded>, i64),
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
    let id = record(store, session, &graded, &serde_json::to_value(&answer)?)?;
    Ok(Step::Graded(Box::new(graded), id))
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
    Ok(Step::Graded(Box::new(graded), id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::entry::find;
    use crate::drill::summary::{counted, retried};
    use std::collections::VecDeque;

    /// A learner reading from a script; `None` is a Ctrl-C. At the pause, `next`, `details`,
    /// `retry`, `stop` or a verdict to overrule with.
    struct Script {
        replies: VecDeque<Option<Reply<String>>>,
        hints_seen: usize,
        graded: Vec<String>,
        details_seen: usize,
        pauses: usize,
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
                details_seen: 0,
                pauses: 0,
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
        fn details(&mut self, _: &Graded) {
            self.details_seen += 1;
        }
        fn then(&mut self, graded: &Graded, offers: &[Then], _: bool) -> io::Result<Then> {
            self.pauses += 1;
            for (i, offer) in offers.iter().enumerate() {
                assert!(!offers[..i].contains(offer), "{offer:?} offered twice");
            }
            assert!(
                !offers.contains(&Then::Overrule(graded.verdict)),
                "the grader's own verdict offered as an overrule"
            );
            let then = match self.next()? {
                Reply::Answer(a) => match a.as_str() {
                    "next" => Then::Next,
                    "details" => Then::Details,
                    "retry" => Then::Retry,
                    "correct" => Then::Overrule(Verdict::Correct),
                    "partial" => Then::Overrule(Verdict::Partial),
                    "incorrect" => Then::Overrule(Verdict::Incorrect),
                    other => panic!("no pause choice {other}"),
                },
                Reply::Stop => Then::Stop,
                other => panic!("no pause choice {other:?}"),
            };
            assert!(
                offers.contains(&then) || then == Then::Stop,
                "{then:?} not offered"
            );
            Ok(then)
        }
    }

    fn setup() -> (Pack, Store) {
        (
            crate::content::builtin().unwrap(),
            Store::in_memory().unwrap(),
        )
    }

    fn start(store: &Store, ids: &[&str]) -> i64 {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        store.start_session("interactive", &ids).unwrap()
    }

    const R3_RIGHT: &str = "a db commit and a broker publish are two separate writes with no shared transaction, so a crash between them loses the event";

    #[test]
    fn a_session_grades_records_and_takes_hints_details_and_overrules() {
        let (pack, store) = setup();
        let plan = [find(&pack, "A").unwrap(), find(&pack, "R3").unwrap()];
        let session = start(&store, &["A", "R3"]);
        let mut script = Script::new(vec![
            Some(Reply::Hint),
            Some(Reply::Answer("queue")),
            Some(Reply::Answer("notification")),
            Some(Reply::Answer("no")),
            Some(Reply::Answer(
                "one worker per job, the message holds the S3 key, workers are idempotent by URL",
            )),
            Some(Reply::Answer("details")),
            Some(Reply::Answer("next")),
            Some(Reply::Answer("no idea")),
            Some(Reply::Answer("correct")),
            Some(Reply::Answer("next")),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
        assert_eq!(played.stopped, None);
        assert_eq!((script.hints_seen, script.details_seen), (1, 1));
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
    fn after_i_was_right_the_summary_and_the_review_records_agree() {
        let (pack, store) = setup();
        let plan = [find(&pack, "B").unwrap(), find(&pack, "R3").unwrap()];
        let session = start(&store, &["B", "R3"]);
        let mut script = Script::new(vec![
            Some(Reply::Answer("queue")),
            Some(Reply::Answer("notification")),
            Some(Reply::Answer("no")),
            Some(Reply::Answer("every service reads the one queue")),
            Some(Reply::Answer("correct")),
            Some(Reply::Answer("next")),
            Some(Reply::Answer("no idea")),
            Some(Reply::Answer("partial")),
            Some(Reply::Answer("next")),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
        let summary = counted(&played.graded);
        let cards = crate::drill::cards(&store.history().unwrap());
        for graded in &summary {
            assert_eq!(
                graded.verdict, cards[&graded.id].last_verdict,
                "{}",
                graded.id
            );
        }
        assert_eq!(summary[0].verdict, Verdict::Correct);
        assert_eq!(summary[0].score, summary[0].max);
        assert_eq!(
            (summary[1].verdict, summary[1].score),
            (Verdict::Partial, 0.5)
        );
    }

    #[test]
    fn trying_again_records_both_attempts_and_the_last_one_counts() {
        let (pack, store) = setup();
        let plan = [find(&pack, "R3").unwrap()];
        let session = start(&store, &["R3"]);
        let mut script = Script::new(vec![
            Some(Reply::Answer("no idea")),
            Some(Reply::Answer("retry")),
            Some(Reply::Answer(R3_RIGHT)),
            Some(Reply::Answer("next")),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
        assert_eq!(script.graded, ["R3 incorrect", "R3 correct"]);
        let kept: Vec<String> = store
            .answers_to("R3")
            .unwrap()
            .into_iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.contains(&"incorrect".to_string()) && kept.contains(&"correct".to_string()));
        assert_eq!(retried(&played.graded), [("R3", 2)]);
        let summary = counted(&played.graded);
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].verdict, Verdict::Correct);
        assert!(store.unfinished_session().unwrap().is_none());
    }

    #[test]
    fn esc_at_the_pause_stops_and_keeps_the_answer() {
        let (pack, store) = setup();
        let plan = [find(&pack, "R3").unwrap(), find(&pack, "R4").unwrap()];
        let session = start(&store, &["R3", "R4"]);
        let mut script = Script::new(vec![Some(Reply::Answer(R3_RIGHT)), Some(Reply::Stop)]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
        assert_eq!(played.stopped, Some(Stop::Asked));
        assert_eq!(played.graded.len(), 1);
        assert_eq!(store.answers_to("R3").unwrap().len(), 1);
        assert!(store.unfinished_session().unwrap().is_some());
    }

    #[test]
    fn without_the_pause_the_items_stream() {
        let (pack, store) = setup();
        let plan = [find(&pack, "R3").unwrap(), find(&pack, "R4").unwrap()];
        let session = start(&store, &["R3", "R4"]);
        let mut script = Script::new(vec![
            Some(Reply::Answer(R3_RIGHT)),
            Some(Reply::Answer("no idea")),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, false).unwrap();
        assert_eq!((played.graded.len(), script.pauses), (2, 0));
    }

    #[test]
    fn ctrl_c_mid_scenario_keeps_the_choices_and_resume_carries_on() {
        let (pack, store) = setup();
        let plan = [find(&pack, "B").unwrap(), find(&pack, "R3").unwrap()];
        let session = start(&store, &["B", "R3"]);
        let mut script = Script::new(vec![
            Some(Reply::Answer("topic")),
            Some(Reply::Answer("ecst")),
            None,
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
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
            Some(Reply::Answer("next")),
            Some(Reply::Skip),
        ]);
        let played = play(&plan, &pack, &store, session, &mut script, true).unwrap();
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
