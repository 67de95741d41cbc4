//! The lake's Arrow schema of each source, derived from the contract's fields (described once,
//! in the `firecredit-contract` crate), plus the lineage columns every accepted row carries.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef, TimeUnit};

use crate::contract::{Kind, Source};

/// The lake's Arrow schema of a source.
pub trait LakeSchema {
    /// Arrow schema of the accepted rows in the lake: the contract fields, then lineage.
    fn lake_schema(self) -> SchemaRef;
}

impl LakeSchema for Source {
    fn lake_schema(self) -> SchemaRef {
        let mut fields: Vec<ArrowField> = self
            .fields()
            .iter()
            .map(|f| ArrowField::new(f.name, arrow_type(f.kind), !f.required))
            .collect();
        fields.extend(lineage_fields());
        Arc::new(Schema::new(fields))
    }
}

/// Lineage columns on every accepted row: which ingest, file and line it came from. They order
/// versions of one id and let an analyst trace any published number back to its input line.
pub fn lineage_fields() -> Vec<ArrowField> {
    vec![
        ArrowField::new("_ingest", DataType::Int64, false),
        ArrowField::new("_file", DataType::Utf8, false),
        ArrowField::new("_line", DataType::Int64, false),
    ]
}

pub fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str | Kind::Enum(_) | Kind::Uscc => DataType::Utf8,
        Kind::Float => DataType::Float64,
        Kind::Int => DataType::Int64,
        Kind::Bool => DataType::Boolean,
        Kind::Date => DataType::Date32,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::List => DataType::List(Arc::new(ArrowField::new("item", DataType::Utf8, true))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lake_schema_is_the_contract_fields_then_lineage() {
        for s in Source::ALL {
            let schema = s.lake_schema();
            assert_eq!(schema.fields().len(), s.fields().len() + 3);
            assert_eq!(schema.field(0).name(), s.fields()[0].name);
            assert_eq!(schema.field(s.fields().len()).name(), "_ingest");
        }
        let units = Source::Units.lake_schema();
        assert_eq!(
            units.field_with_name("opened_on").unwrap().data_type(),
            &DataType::Date32
        );
        assert!(!units.field_with_name("unit_id").unwrap().is_nullable());
    }
}
