//! Every unknown key in a content file, not only the first: the fields each table may hold are
//! read from the serde types themselves, and unknown keys are listed with their place and then
//! removed, so the rest of the file is still checked.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Visitor};
use toml::de::{DeTable, DeValue};

use super::file::{
    CatalogueFile, ChoiceFile, ConceptFile, ItemFile, MisconceptionFile, OtherFile, ReasonFile,
    ScenarioFile,
};

/// The keys a table may hold, and the shape of those whose values are tables or arrays of them.
pub struct Shape {
    pub fields: &'static [&'static str],
    nested: Vec<(&'static str, Shape)>,
}

/// A key no field is named for.
#[derive(Debug, PartialEq, Eq)]
pub struct Unknown {
    pub key: String,
    pub span: Range<usize>,
    pub expected: &'static [&'static str],
}

impl Shape {
    /// The fields of `T` as its derived `Deserialize` names them (renames included).
    fn of<'de, T: Deserialize<'de>>() -> Shape {
        let mut fields: &'static [&'static str] = &[];
        let _ = T::deserialize(FieldNames(&mut fields));
        Shape {
            fields,
            nested: Vec::new(),
        }
    }

    fn with(mut self, key: &'static str, shape: Shape) -> Shape {
        self.nested.push((key, shape));
        self
    }

    pub fn item() -> Shape {
        Shape::of::<ItemFile>().with("concepts", Shape::of::<ConceptFile>())
    }

    pub fn scenario() -> Shape {
        let choice = || Shape::of::<ChoiceFile>().with("other", Shape::of::<OtherFile>());
        Shape::of::<ScenarioFile>()
            .with("channel", choice())
            .with("payload", choice())
            .with("outbox", choice())
            .with(
                "reason",
                Shape::of::<ReasonFile>().with("concepts", Shape::of::<ConceptFile>()),
            )
    }

    pub fn catalogue() -> Shape {
        Shape::of::<CatalogueFile>().with("misconception", Shape::of::<MisconceptionFile>())
    }
}

/// Lists every key in `table` (and the tables within it) that `shape` does not name, in the
/// order they appear, and removes them.
pub fn strip_unknown(table: &mut DeTable<'_>, shape: &Shape) -> Vec<Unknown> {
    let mut out = Vec::new();
    strip(table, shape, &mut out);
    out.sort_by_key(|u| u.span.start);
    out
}

fn strip(table: &mut DeTable<'_>, shape: &Shape, out: &mut Vec<Unknown>) {
    let unknown: Vec<Unknown> = table
        .keys()
        .filter(|key| !shape.fields.contains(&key.get_ref().as_ref()))
        .map(|key| Unknown {
            key: key.get_ref().to_string(),
            span: key.span(),
            expected: shape.fields,
        })
        .collect();
    for u in unknown {
        table.remove(u.key.as_str());
        out.push(u);
    }
    for (key, inner) in &shape.nested {
        let Some(value) = table.get_mut(*key) else {
            continue;
        };
        match value.get_mut() {
            DeValue::Table(t) => strip(t, inner, out),
            DeValue::Array(items) => {
                for item in items.iter_mut() {
                    if let DeValue::Table(t) = item.get_mut() {
                        strip(t, inner, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A deserializer that only notes the field names a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only field names are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("only field names are read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str, shape: Shape) -> Vec<String> {
        let mut table = DeTable::parse(text).unwrap().into_inner();
        strip_unknown(&mut table, &shape)
            .into_iter()
            .map(|u| format!("{}@{}", u.key, &text[u.span]))
            .collect()
    }

    #[test]
    fn field_names_come_from_the_types_renames_included() {
        let item = Shape::item();
        assert!(item.fields.contains(&"format_version"));
        assert!(item.fields.contains(&"prompt"));
        assert!(Shape::of::<ConceptFile>().fields.contains(&"match"));
    }

    #[test]
    fn every_unknown_key_is_listed_at_any_depth() {
        let text = "format_version = 1\npromt = \"x\"\ntitel = \"y\"\n\n[[concepts]]\nid = \"c\"\nsays = \"s\"\nmatches = [\"m\"]\n";
        assert_eq!(
            unknown(text, Shape::item()),
            ["promt@promt", "titel@titel", "matches@matches"]
        );
        let scenario = "[channel]\nexpected = \"queue\"\nexplain = \"x\"\n[[channel.other]]\nanswr = \"topic\"\n[reason]\nconcept = []\n";
        assert_eq!(
            unknown(scenario, Shape::scenario()),
            ["explain@explain", "answr@answr", "concept@concept"]
        );
    }
}
