//! Small column tables written as Arrow IPC files (Feather v2), which pandas
//! (`pd.read_feather`), polars (`pl.read_ipc`) and pyarrow read directly.

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<(String, Column)>,
}

impl Table {
    pub fn new() -> Self {
        Table::default()
    }

    pub fn with(mut self, name: &str, column: Column) -> Self {
        self.columns.push((name.to_string(), column));
        self
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    pub fn write_ipc(&self, path: &Path) -> Result<(), ArrowError> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(n, c)| {
                let t = match c {
                    Column::Int(_) => DataType::Int64,
                    Column::Float(_) => DataType::Float64,
                    Column::Text(_) => DataType::Utf8,
                };
                Field::new(n, t, false)
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|(_, c)| -> ArrayRef {
                match c {
                    Column::Int(v) => Arc::new(Int64Array::from(v.clone())),
                    Column::Float(v) => Arc::new(Float64Array::from(v.clone())),
                    Column::Text(v) => Arc::new(StringArray::from(v.clone())),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        let file = File::create(path)?;
        let mut writer = FileWriter::try_new(file, &schema)?;
        writer.write(&batch)?;
        writer.finish()?;
        writer.into_inner()?.sync_all()?;
        Ok(())
    }

    pub fn read_ipc(path: &Path) -> Result<Table, ArrowError> {
        let reader = FileReader::try_new(File::open(path)?, None)?;
        let schema = reader.schema();
        let mut columns: Vec<(String, Column)> = schema
            .fields()
            .iter()
            .map(|f| {
                let c = match f.data_type() {
                    DataType::Int64 => Ok(Column::Int(Vec::new())),
                    DataType::Float64 => Ok(Column::Float(Vec::new())),
                    DataType::Utf8 => Ok(Column::Text(Vec::new())),
                    other => Err(ArrowError::SchemaError(format!(
                        "column `{}` has unsupported type {other}",
                        f.name()
                    ))),
                }?;
                Ok((f.name().clone(), c))
            })
            .collect::<Result<_, ArrowError>>()?;
        for batch in reader {
            let batch = batch?;
            for (i, (_, col)) in columns.iter_mut().enumerate() {
                let array = batch.column(i);
                let cast_err =
                    || ArrowError::CastError("column type changed between batches".into());
                match col {
                    Column::Int(v) => v.extend(
                        array
                            .as_any()
                            .downcast_ref::<Int64Array>()
                            .ok_or_else(cast_err)?
                            .values(),
                    ),
                    Column::Float(v) => v.extend(
                        array
                            .as_any()
                            .downcast_ref::<Float64Array>()
                            .ok_or_else(cast_err)?
                            .values(),
                    ),
                    Column::Text(v) => {
                        let a = array
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .ok_or_else(cast_err)?;
                        v.extend((0..a.len()).map(|i| a.value(i).to_string()))
                    }
                }
            }
        }
        Ok(Table { columns })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_arrow_ipc() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.arrow");
        let t = Table::new()
            .with("epoch", Column::Int(vec![0, 1]))
            .with("acc", Column::Float(vec![0.1, 0.9]))
            .with("split", Column::Text(vec!["train".into(), "test".into()]));
        t.write_ipc(&p).unwrap();
        assert_eq!(Table::read_ipc(&p).unwrap(), t);
        assert_eq!(t.rows(), 2);
    }
}
