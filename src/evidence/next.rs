//! `msgwork next`: the one thing to do now, and why, read from the same evidence items the
//! report proves, in the order the workshop and the lab build on each other.

use serde::Serialize;

use super::item::Evidence;

/// The order a learner meets the items: the workshop (drills, the sketch, the rewrite), then the
/// crash lab that shows the gap, then their own implementation, then the write-up, then the
/// stretch labs.
const PATH: [&str; 15] = [
    "scenario-drills",
    "dual-write-in-own-words",
    "outbox-sketch",
    "rewrite",
    "naive-loses-outbox-holds",
    "duplicates-absorbed",
    "disjoint-claims",
    "own-pipeline-holds",
    "own-consumer-dedupes",
    "own-gap-closed",
    "writeup",
    "stretch-cdc",
    "stretch-ordering",
    "stretch-cleanup",
    "stretch-retention",
];

/// Why an item comes now, in a sentence.
fn why(id: &str) -> &'static str {
    match id {
        "scenario-drills" => {
            "The five scenarios give you the words the rest uses: queue or topic, notification or \
             state, and where an outbox is needed."
        }
        "dual-write-in-own-words" => {
            "Saying the dual-write bug and its fix in your own words is the idea everything after \
             this puts to work."
        }
        "naive-loses-outbox-holds" => {
            "Watch a naive dual write lose events under crashes while an outbox, on the same \
             crashes, loses none."
        }
        "duplicates-absorbed" => {
            "At-least-once delivery means duplicates; see the inbox absorb them with nothing \
             charged twice."
        }
        "disjoint-claims" => {
            "With several relays, each row must be claimed by one at a time; see leases keep \
             them apart."
        }
        "outbox-sketch" => {
            "Design the outbox yourself in SQL: the table, the write transaction, the relay's \
             query and the consumer's dedupe. Fill in the skeleton, then check it with \
             `msgwork sketch check my-outbox.sql`."
        }
        "rewrite" => {
            "Rewrite a thin event as a notification and as event-carried state, and see which \
             fields must stay off the wire."
        }
        "own-pipeline-holds" => {
            "Build the pipeline yourself: msgwork kills your service, relays and consumer and \
             judges what they committed."
        }
        "own-consumer-dedupes" => {
            "Make your consumer remember each event in the same transaction as the charge, so \
             redeliveries change nothing."
        }
        "own-gap-closed" => "See your own code lose an event, fix it, and watch it hold.",
        "writeup" => {
            "Write up the gap, why one transaction closes it, and how the consumer dedupes: the \
             last required piece."
        }
        _ => "An optional lab that goes further than the workshop.",
    }
}

/// One step on the path.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub id: &'static str,
    pub title: &'static str,
    pub required: bool,
    pub command: Option<String>,
    pub why: &'static str,
}

/// What to do now, what follows, and what spaced review brings back.
#[derive(Clone, Debug, Serialize)]
pub struct Next {
    /// The step to take now; `None` once every item, required or not, is shown.
    pub now: Option<Step>,
    /// The two steps after it.
    pub then: Vec<Step>,
    pub done: usize,
    pub required: usize,
    /// Drill items due for review.
    pub due_reviews: usize,
}

/// Picks the next steps from the evidence items and the number of reviews due. Reviews that are
/// due come first once the required items are all shown; before that, they wait.
pub fn next(items: &[Evidence], due_reviews: usize) -> Next {
    let rank = |id: &str| PATH.iter().position(|p| *p == id).unwrap_or(PATH.len());
    let mut open: Vec<&Evidence> = items.iter().filter(|i| !i.done).collect();
    // Required items first, each in the path's order.
    open.sort_by_key(|i| (!i.required, rank(i.id)));
    let step = |i: &Evidence| Step {
        id: i.id,
        title: i.title,
        required: i.required,
        command: i.next.clone(),
        why: why(i.id),
    };
    let mut steps: Vec<Step> = open.into_iter().map(step).collect();
    let required = items.iter().filter(|i| i.required).count();
    let done = items.iter().filter(|i| i.required && i.done).count();
    if due_reviews > 0 && done == required {
        steps.insert(
            0,
            Step {
                id: "review",
                title: "Drill items due for review",
                required: false,
                command: Some("msgwork drill --due".to_string()),
                why: "Spaced review brings back what you answered before, just as you would start to forget it.",
            },
        );
    }
    let mut steps = steps.into_iter();
    Next {
        now: steps.next(),
        then: steps.take(2).collect(),
        done,
        required,
        due_reviews,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &'static str, required: bool, done: bool) -> Evidence {
        let mut e = Evidence::new(id, "lab", required, "title");
        e.done = done;
        e.next = Some(format!("msgwork {id}"));
        e
    }

    #[test]
    fn the_path_goes_workshop_lab_own_code_writeup_then_stretch() {
        let items = vec![
            item("stretch-cdc", false, false),
            item("writeup", true, false),
            item("own-pipeline-holds", true, false),
            item("naive-loses-outbox-holds", true, false),
            item("scenario-drills", true, true),
        ];
        let n = next(&items, 3);
        assert_eq!(n.now.unwrap().id, "naive-loses-outbox-holds");
        let then: Vec<&str> = n.then.iter().map(|s| s.id).collect();
        assert_eq!(then, ["own-pipeline-holds", "writeup"]);
        assert_eq!((n.done, n.required), (1, 4));
    }

    #[test]
    fn reviews_come_first_once_the_required_items_are_shown() {
        let items = vec![
            item("writeup", true, true),
            item("stretch-cdc", false, false),
        ];
        assert_eq!(next(&items, 2).now.unwrap().id, "review");
        assert_eq!(next(&items, 0).now.unwrap().id, "stretch-cdc");
        let all = vec![item("writeup", true, true)];
        assert!(next(&all, 0).now.is_none());
    }
}
