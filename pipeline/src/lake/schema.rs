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
        ArrowField::new(LINE, DataType::Int64, false),
    ]
}

/// The columns of a source table's files written without a dictionary: `_line` and the
/// timestamps, whose values are (nearly) all different. A dictionary page then holds every value
/// and the column's indices besides; a staged IoT part (some 40 K rows, one row group) never
/// reaches the page's size, where the writer would give up on the dictionary. Without it, the
/// writer does not look every value up, and the part is a quarter smaller (decision 142). Empty
/// for other schemas (published tables, the quarantine), whose bytes stay as they are.
pub fn plain_columns(schema: &Schema) -> Vec<&str> {
    if schema.column_with_name(LINE).is_none() {
        return Vec::new();
    }
    schema
        .fields()
        .iter()
        .filter(|f| f.name() == LINE || matches!(f.data_type(), DataType::Timestamp(..)))
        .map(|f| f.name().as_str())
        .collect()
}

/// The lineage column of a row's line in its inbox file.
const LINE: &str = "_line";

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

    #[test]
    fn only_a_source_table_has_plain_columns() {
        let iot = Source::IotEvents.lake_schema();
        assert_eq!(plain_columns(&iot), ["ts", "_line"]);
        for s in Source::ALL {
            let schema = s.lake_schema();
            let plain = plain_columns(&schema);
            assert_eq!(plain.last(), Some(&"_line"), "{s:?}");
            for f in s.fields() {
                let timestamp = matches!(f.kind, Kind::Timestamp);
                assert_eq!(plain.contains(&f.name), timestamp, "{s:?} {}", f.name);
            }
        }
        assert!(plain_columns(&crate::lake::tables::quarantine_schema()).is_empty());
        let published = Schema::new(vec![ArrowField::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        )]);
        assert!(plain_columns(&published).is_empty());
    }

    #[tokio::test]
    async fn a_source_table_file_has_no_dictionary_for_its_plain_columns() {
        use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().unwrap();
        let lake = crate::lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
        use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
        use datafusion::arrow::array::{RecordBatch, TimestampMicrosecondArray};
        let text = |f: &dyn Fn(i64) -> String| -> ArrayRef {
            Arc::new((0..100).map(|i| Some(f(i))).collect::<StringArray>())
        };
        let schema = Source::IotEvents.lake_schema();
        let rows = RecordBatch::try_new(
            schema.clone(),
            vec![
                text(&|i| format!("D{}", i % 3)),
                text(&|_| "U1".into()),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values((0..100).map(|i| i * 1_000_000))
                        .with_timezone("UTC"),
                ),
                text(&|_| "auto_alarm".into()),
                text(&|_| "offline".into()),
                Arc::new(Float64Array::new_null(100)),
                Arc::new(Int64Array::from_value(1, 100)),
                text(&|_| "f.csv".into()),
                Arc::new(Int64Array::from_iter_values(2..102)),
            ],
        )
        .unwrap();
        let file = lake
            .write_parquet("t.parquet", schema, &[rows])
            .await
            .unwrap()
            .unwrap();
        let bytes = std::fs::read(dir.path().join(&file.path)).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let group = reader.metadata().row_group(0);
        let dictionary: Vec<(&str, bool)> = group
            .columns()
            .iter()
            .map(|c| {
                (
                    c.column_path().parts()[0].as_str(),
                    c.dictionary_page_offset().is_some(),
                )
            })
            .collect();
        assert_eq!(
            dictionary,
            [
                ("device_id", true),
                ("unit_id", true),
                ("ts", false),
                ("system", true),
                ("event", true),
                ("value", true),
                ("_ingest", true),
                ("_file", true),
                ("_line", false),
            ]
        );
    }
}
