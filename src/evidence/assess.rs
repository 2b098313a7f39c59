//! Every evidence item, checked against the progress store, in the order they are shown.

use super::item::Evidence;
use super::{build, lab, workshop};
use crate::store::{Store, StoreError};

/// Every item, checked against the store. Nothing is ticked by hand.
pub fn assess(store: &Store) -> Result<Vec<Evidence>, StoreError> {
    let mut items = vec![
        workshop::scenarios(store)?,
        workshop::sketch(store)?,
        workshop::rewrite(store)?,
        workshop::own_words(store)?,
    ];
    items.extend(lab::crash(store)?);
    items.extend(build::own(store)?);
    items.push(lab::writeup(store)?);
    items.extend(lab::stretch(store)?);
    Ok(items)
}
